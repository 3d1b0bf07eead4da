"""The grade-book layouts of other systems (vnEdu, SMAS), as data: one `Layout` per file
layout, each naming the headings of its columns and what each column holds.

These layouts are not published by their vendors. Each definition here is what is assumed of
the files those systems let a teacher download and fill in, as written down in
`docs/domain/gradebook-layouts.md`; when an official sample is at hand, correct the headings
of its definition (and nothing else): `foreign.py` reads every layout the same way.

A file is recognised by its header rows (`foreign.recognise`), never by its name: the layout
whose required headings are all found, with the most headings matched, is the file's layout.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

# What a column holds. Cell keys are the grade book's own "TERM:KIND:SEQ", with TERM left as
# "*" for the semester the file is about.
STUDENT_CODE = "student_code"
PERSONAL_ID = "personal_id"
REMARK = "REMARK"
IGNORED = "ignored"
"""A column read by nobody: the row number, the name, the date of birth, averages the system
computed (the grade book computes its own)."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a layout."""

    header: str
    """The heading as the system writes it; `{n}` stands for a number (ĐĐGtx1, ĐĐGtx2 …).
    For a two-row header, the heading of the upper row and the lower row joined by " / "."""
    holds: str
    """`STUDENT_CODE`, `PERSONAL_ID`, `REMARK`, `IGNORED`, or a cell key ("*:TX:{n}")."""

    def pattern(self) -> re.Pattern[str]:
        return _pattern(self.header)


@functools.cache
def _pattern(header: str) -> re.Pattern[str]:
    """A heading's pattern (compiled once): `{n}` matches a digit, named "n"."""
    escaped = re.escape(normalise(header)).replace(r"\{n\}", "{n}")
    return re.compile("^" + escaped.replace("{n}", r"(?P<n>[1-9])") + "$")


@dataclass(frozen=True, slots=True)
class Layout:
    key: str
    """Stable name ("vnedu-thcs"), used on the command line and in messages."""
    vendor: str
    label: str
    """How the layout is named to a person, in Vietnamese."""
    primary: bool
    """TT27 (levels T/H/C, end-of-term test) rather than TT22 (TX/GK/CK, Đ/CĐ)."""
    columns: tuple[Column, ...]
    required: tuple[str, ...]
    """Headings (as in `columns`) without which a file is not of this layout."""
    header_rows: int = 1
    """1, or 2 when headings are grouped above their columns (merged cells)."""


def normalise(text: object) -> str:
    """A heading or a label as compared: NFC, case folded, blanks collapsed, no trailing
    colon; "Đ" and "đ" kept (they are letters, not accents)."""
    value = unicodedata.normalize("NFC", str(text or "")).casefold()
    value = re.sub(r"\s+", " ", value).strip().rstrip(":").strip()
    return value


_COMMON = (
    Column("STT", IGNORED),
    Column("Họ và tên", IGNORED),
    Column("Họ tên", IGNORED),
    Column("Ngày sinh", IGNORED),
    Column("Giới tính", IGNORED),
)

VNEDU_THCS = Layout(
    key="vnedu-thcs",
    vendor="vnEdu",
    label="Sổ điểm vnEdu (THCS, THPT — Thông tư 22)",
    primary=False,
    columns=(
        *_COMMON,
        Column("Mã học sinh", STUDENT_CODE),
        Column("Mã định danh", PERSONAL_ID),
        Column("ĐĐGtx{n}", "*:TX:{n}"),
        Column("ĐĐGgk", "*:GK:1"),
        Column("ĐĐGck", "*:CK:1"),
        Column("ĐTBmhk", IGNORED),
        Column("ĐTBmcn", IGNORED),
        Column("Nhận xét", REMARK),
    ),
    required=("Mã học sinh", "ĐĐGtx{n}", "ĐĐGgk", "ĐĐGck"),
)

SMAS_THCS = Layout(
    key="smas-thcs",
    vendor="SMAS",
    label="Sổ điểm SMAS (THCS, THPT — Thông tư 22)",
    primary=False,
    header_rows=2,
    columns=(
        *_COMMON,
        Column("Mã HS", STUDENT_CODE),
        Column("Số định danh cá nhân", PERSONAL_ID),
        Column("Điểm đánh giá thường xuyên / TX{n}", "*:TX:{n}"),
        Column("Điểm đánh giá định kỳ / Giữa kỳ", "*:GK:1"),
        Column("Điểm đánh giá định kỳ / Cuối kỳ", "*:CK:1"),
        Column("TBM", IGNORED),
        Column("Nhận xét", REMARK),
    ),
    required=(
        "Mã HS",
        "Điểm đánh giá thường xuyên / TX{n}",
        "Điểm đánh giá định kỳ / Giữa kỳ",
        "Điểm đánh giá định kỳ / Cuối kỳ",
    ),
)

VNEDU_TH = Layout(
    key="vnedu-th",
    vendor="vnEdu",
    label="Kết quả đánh giá vnEdu (Tiểu học — Thông tư 27)",
    primary=True,
    columns=(
        *_COMMON,
        Column("Mã học sinh", STUDENT_CODE),
        Column("Mã định danh", PERSONAL_ID),
        Column("Mức đạt được", "*:LEVEL:1"),
        Column("Điểm KTĐK", "*:TEST:1"),
        Column("Nhận xét", REMARK),
    ),
    required=("Mã học sinh", "Mức đạt được", "Điểm KTĐK"),
)

SMAS_TH = Layout(
    key="smas-th",
    vendor="SMAS",
    label="Kết quả đánh giá SMAS (Tiểu học — Thông tư 27)",
    primary=True,
    header_rows=2,
    columns=(
        *_COMMON,
        Column("Mã HS", STUDENT_CODE),
        Column("Số định danh cá nhân", PERSONAL_ID),
        Column("Môn học và hoạt động giáo dục / Mức đạt được", "*:LEVEL:1"),
        Column("Môn học và hoạt động giáo dục / Điểm KTĐK", "*:TEST:1"),
        Column("Môn học và hoạt động giáo dục / Nhận xét", REMARK),
    ),
    required=(
        "Mã HS",
        "Môn học và hoạt động giáo dục / Mức đạt được",
        "Môn học và hoạt động giáo dục / Điểm KTĐK",
    ),
)

LAYOUTS: tuple[Layout, ...] = (VNEDU_THCS, SMAS_THCS, VNEDU_TH, SMAS_TH)
BY_KEY = {layout.key: layout for layout in LAYOUTS}

# The labels in the title rows above the header that say which class, subject and semester a
# file is about ("Lớp: 7A", "Môn: Toán", "Học kỳ: I"), as every layout above writes them.
CLASS_LABELS = ("Lớp",)
SUBJECT_LABELS = ("Môn học", "Môn")
TERM_LABELS = ("Học kỳ", "Học kì", "Kỳ đánh giá")
TERM_WORDS = {
    "i": "HK1", "1": "HK1", "hk1": "HK1", "hk i": "HK1", "học kỳ i": "HK1", "cuối học kỳ i": "HK1",
    "ii": "HK2", "2": "HK2", "hk2": "HK2", "hk ii": "HK2", "học kỳ ii": "HK2",
    "cuối năm": "HK2", "cả năm": "HK2", "cuối năm học": "HK2",
}  # fmt: skip
"""A semester as the title writes it → the grade book's term. A year-end file (primary "Cuối
năm") is the second semester's."""
TITLE_ROWS = 12
"""Rows above the header where the labels are looked for."""
