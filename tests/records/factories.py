"""A complete record as dataclasses, for the pure XML tests."""

import dataclasses
import datetime as dt

from hocba.formats import model as m

TEACHER = m.Person("025085001234", "Nguyễn Thị Hoa")


def sample_record(**envelope_changes) -> m.Record:
    envelope = m.Envelope(
        record_id="2f1c8a0e-4b7d-4c2a-9e51-3d6f0a9b8c71", version=1, event="NEW", status=1,
        circular="22/2021/TT-BGDĐT", school_year="2024-2025",
    )  # fmt: skip
    envelope = dataclasses.replace(envelope, **envelope_changes)
    return m.Record(
        envelope=envelope,
        school=m.School(
            "25",
            "Sở Giáo dục và Đào tạo Phú Thọ",
            "25000201",
            "Trường THCS Chu Văn An",
            "THCS",
            "Phường Tiên Cát",
            "Tỉnh Phú Thọ",
            "25",
            "08011",
            "",
            "2600100202",
        ),
        student=m.Student(
            "025212001234",
            "2502000001",
            "Nguyễn Thị Ánh",
            dt.date(2012, 3, 4),
            "2",
            "01",
            "VN",
            m.Place("Bệnh viện Đa khoa tỉnh Phú Thọ"),
            m.Place("Xã Hy Cương, Tỉnh Phú Thọ", "", "25"),
            m.Place("Số 5 đường Trần Phú, Phường Tiên Cát", "08011", "25"),
            father_name="Nguyễn Văn Bình",
            mother_name="Trần Thị Cúc",
        ),
        grade=7,
        class_name="7A",
        history=(
            m.HistoryRow("2023-2024", "6A", "Trường THCS Chu Văn An", "Tỉnh Phú Thọ"),
            m.HistoryRow("2024-2025", "7A", "Trường THCS Chu Văn An", "Tỉnh Phú Thọ"),
        ),
        subjects=(
            m.SubjectResult("TOAN", "Toán", TEACHER, "7.8", "8.6", "8.3", comment="Tiến bộ rõ"),
            m.SubjectResult("GDTC", "Giáo dục thể chất", TEACHER, "Đ", "Đ", "Đ"),
        ),
        summary=m.Summary(
            promoted=True,
            outcome="PROMOTED",
            outcome_text="Được lên lớp",
            completes_level=False,
            absences="2.0",
            homeroom_comment="Chăm ngoan, học tốt.",
            learning_hk1="T",
            learning_hk2="T",
            learning_year="T",
            conduct_hk1="K",
            conduct_hk2="T",
            conduct_year="T",
            award_title="HOC_SINH_GIOI",
        ),
        confirmation=m.Confirmation(
            m.Person("025085004321", "Lê Văn Chủ"),
            m.Person("025070001111", "Đỗ Gia Tuấn", "Hiệu trưởng"),
            "Phú Thọ",
            dt.date(2025, 5, 30),
        ),
    )


def record_of_level(level: str, **envelope_changes) -> m.Record:
    """A complete record of a primary school (TH, TT27), a lower- or upper-secondary school
    (THCS, THPT, TT22) or a continuing-education centre (GDTX, TT43)."""
    record = sample_record(**envelope_changes)
    school = dataclasses.replace(record.school, level=level)
    if level == "THCS":
        return record
    if level == "THPT":
        return dataclasses.replace(
            record, school=dataclasses.replace(school, name="Trường THPT Hùng Vương"), grade=11,
            class_name="11A1",
        )  # fmt: skip
    if level == "GDTX":
        return dataclasses.replace(
            record,
            envelope=dataclasses.replace(record.envelope, circular="43/2021/TT-BGDĐT"),
            school=dataclasses.replace(school, name="Trung tâm GDNN-GDTX Việt Trì"),
            grade=10,
            class_name="10B",
        )
    assert level == "TH", level
    return dataclasses.replace(
        record,
        envelope=dataclasses.replace(record.envelope, circular="27/2020/TT-BGDĐT"),
        school=dataclasses.replace(school, name="Trường Tiểu học Kim Đồng"),
        grade=4,
        class_name="4B",
        subjects=(
            m.SubjectResult(
                "TIENG_VIET", "Tiếng Việt", TEACHER, level="T", test="9", comment="Đọc tốt"
            ),
            m.SubjectResult("TOAN", "Toán", TEACHER, level="H", test="7"),
        ),
        summary=m.Summary(
            promoted=True,
            outcome="PROMOTED",
            outcome_text="Được lên lớp",
            completes_level=False,
            absences="0",
            homeroom_comment="Ngoan, chăm học.",
            primary_result="HTT",
            qualities=(m.Mark("YEU_NUOC", "T"), m.Mark("CHAM_CHI", "Đ")),
            competencies=(m.Mark("TU_CHU_TU_HOC", "T"), m.Mark("NGON_NGU", "Đ")),
        ),
    )
