import dataclasses
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from hocba.identity import ProblemCode, StudentIdentity, find_duplicate_ids, review_student
from hocba.identity.names import is_valid_name, normalize_name

TODAY = dt.date(2025, 5, 1)
CLEAN = StudentIdentity(
    personal_id="025312001234",
    student_code="2502000001",
    full_name="Nguyễn Thị Ánh",
    date_of_birth=dt.date(2012, 3, 4),
    sex="2",
    ethnicity="01",
    nationality="VN",
    birthplace="Bệnh viện Đa khoa tỉnh Phú Thọ",
    hometown="Xã Hy Cương, Tỉnh Phú Thọ",
    current_address="Số 5 đường Trần Phú, Phường Tiên Cát, Tỉnh Phú Thọ",
)


def problems_of(**changes):
    return [(p.code, p.field) for p in review_student(dataclasses.replace(CLEAN, **changes), TODAY)]


def test_complete_identity_has_no_problem():
    assert review_student(CLEAN, TODAY) == ()


def test_each_mandatory_field_is_reported_when_empty():
    for field in ("student_code", "birthplace", "hometown", "current_address", "ethnicity",
                  "nationality"):  # fmt: skip
        assert problems_of(**{field: ""}) == [(ProblemCode.FIELD_MISSING, field)]
    assert problems_of(full_name="  ") == [(ProblemCode.FIELD_MISSING, "full_name")]
    assert problems_of(date_of_birth=None) == [(ProblemCode.FIELD_MISSING, "date_of_birth")]
    assert problems_of(sex="0") == [(ProblemCode.FIELD_MISSING, "sex")]


def test_message_names_the_missing_field_in_vietnamese():
    (problem,) = review_student(dataclasses.replace(CLEAN, hometown=""), TODAY)
    assert problem.message == "Thiếu quê quán"


def test_lowercase_or_badly_spaced_name_needs_normalising():
    (problem,) = review_student(dataclasses.replace(CLEAN, full_name="nguyễn  thị ánh"), TODAY)
    assert problem.code == ProblemCode.NAME_NOT_NORMALIZED
    assert "Nguyễn Thị Ánh" in problem.message


def test_decomposed_unicode_name_needs_normalising():
    decomposed = "Nguye\u0302\u0303n Thi\u0323 A\u0301nh"
    assert problems_of(full_name=decomposed) == [(ProblemCode.NAME_NOT_NORMALIZED, "full_name")]


def test_name_with_digits_is_invalid():
    assert problems_of(full_name="Nguyễn Văn 2") == [(ProblemCode.NAME_INVALID, "full_name")]


def test_ethnic_minority_names_with_apostrophes_are_accepted():
    assert problems_of(full_name="H'Hen Niê") == []
    assert is_valid_name("Kpă Y-Lan")


def test_unknown_codes_are_reported():
    assert problems_of(ethnicity="99") == [(ProblemCode.CODE_UNKNOWN, "ethnicity")]
    assert problems_of(nationality="Việt Nam") == [(ProblemCode.CODE_UNKNOWN, "nationality")]
    assert problems_of(sex="M") == [(ProblemCode.CODE_UNKNOWN, "sex")]


def test_date_of_birth_in_the_future_is_invalid():
    assert problems_of(date_of_birth=dt.date(2030, 1, 1)) == [
        (ProblemCode.DATE_OF_BIRTH_INVALID, "date_of_birth")
    ]


def test_personal_id_problems_are_part_of_the_review():
    assert problems_of(sex="1") == [(ProblemCode.PERSONAL_ID_SEX, "personal_id")]


def test_duplicates_name_every_other_holder():
    found = find_duplicate_ids([(1, "025312001234"), (2, "025312001234"), (3, "001"), (4, "")])
    assert found == {1: (2,), 2: (1,)}
    triple = find_duplicate_ids([("a", "x"), ("b", "x"), ("c", "x")])
    assert triple["a"] == ("b", "c")


def test_empty_numbers_are_never_duplicates():
    assert find_duplicate_ids([(1, ""), (2, "")]) == {}


@given(st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậ ", max_size=40))
def test_normalising_is_idempotent(name):
    once = normalize_name(name)
    assert normalize_name(once) == once
    assert "  " not in once and once == once.strip()
