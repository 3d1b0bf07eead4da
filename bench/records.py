"""Build and XSD-validate the học bạ XML of a 2,000-student THCS school.

Each record (12 subjects, school history, summary) is built from its dataclasses to bytes, then
parsed with the hardened parser and validated against the record schema — the work done for
every record a school drafts. Prints records per second and the ratio to parsing the same bytes
back with plain lxml in the same run. One process, one core. `--quick` for 500 records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lxml import etree

from _common import report
from hocba.formats import build, parse_untrusted, validate
from hocba.formats import model as m
from hocba.rules.catalogue import Level, Mode, subjects_for

FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN = ["Minh Anh", "Thu Hà", "Đức Huy", "Ngọc Lan", "Quốc Bảo", "Khánh Linh", "Gia Hân"]


def records(n: int, seed: int = 1) -> list[m.Record]:
    rng = random.Random(seed)
    teacher = m.Person("025085001234", "Nguyễn Thị Hoa")
    base_school = m.School("25", "Sở Giáo dục và Đào tạo Phú Thọ", "25000201",
                           "Trường THCS Chu Văn An", "THCS", "Phường Tiên Cát", "Tỉnh Phú Thọ",
                           "25", "08011", "", "2600100202")  # fmt: skip
    out = []
    for i in range(n):
        grade = 6 + i % 4
        subjects = []
        for s in subjects_for(Level.THCS, grade):
            if s.kind != "compulsory":
                continue
            if s.mode is Mode.SCORE:
                hk1, hk2 = rng.randint(40, 100), rng.randint(40, 100)
                values = [f"{hk1 / 10:.1f}", f"{hk2 / 10:.1f}", f"{(hk1 + 2 * hk2) / 30:.1f}"]
            else:
                values = ["Đ", "Đ", "Đ"]
            subjects.append(m.SubjectResult(s.code, s.name, teacher, *values, comment="Tiến bộ"))
        name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
        out.append(
            m.Record(
                envelope=m.Envelope(str(uuid.UUID(int=rng.getrandbits(128))), 1, "NEW", 1,
                                    "22/2021/TT-BGDĐT", "2024-2025"),
                school=base_school,
                student=m.Student(f"0252{12 - grade % 4:02d}{i:06d}", f"2502{i:06d}", name,
                                  dt.date(2018 - grade, 1 + i % 12, 1 + i % 28), "1", "01", "VN",
                                  m.Place("Phú Thọ"), m.Place("Phú Thọ"), m.Place("Việt Trì")),
                grade=grade, class_name=f"{grade}A",
                history=(m.HistoryRow("2024-2025", f"{grade}A", base_school.name, "Tỉnh Phú Thọ"),),
                subjects=tuple(subjects),
                summary=m.Summary(True, "PROMOTED", "Được lên lớp", False, "2.0",
                                  "Chăm ngoan, học tốt.", "K", "K", "K", conduct_year="T"),
                confirmation=m.Confirmation(m.Person("025085004321", "Lê Văn Chủ"),
                                            m.Person("025070001111", "Đỗ Gia Tuấn", "Hiệu trưởng"),
                                            "Phú Thọ", dt.date(2025, 5, 30)),
            )
        )  # fmt: skip
    return out


def build_and_validate(batch: list[m.Record]) -> list[bytes]:
    built = []
    for record in batch:
        content = build(record)
        validate(parse_untrusted(content))
        built.append(content)
    return built


def parse_only(contents: list[bytes]) -> None:
    for content in contents:
        etree.fromstring(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 500 if args.quick else 2000
    batch = records(n)
    build_and_validate(batch[:20])  # warm the schema cache
    best = best_parse = float("inf")
    contents: list[bytes] = []
    for _ in range(3):
        start = time.perf_counter()
        contents = build_and_validate(batch)
        best = min(best, time.perf_counter() - start)
        start = time.perf_counter()
        parse_only(contents)
        best_parse = min(best_parse, time.perf_counter() - start)
    size = sum(map(len, contents)) / len(contents)
    report("records", n, best, "lxml parsing the same XML bytes (records/s), same run",
           n / best_parse, average_bytes=round(size), subjects_per_record=12)  # fmt: skip


if __name__ == "__main__":
    main()
