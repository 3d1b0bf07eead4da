import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from hocba.identity import ProblemCode, check_personal_id, make_personal_id
from hocba.identity.codes import PERSONAL_ID_PROVINCES, SEX_FEMALE, SEX_MALE, SEX_UNKNOWN

provinces = st.sampled_from(sorted(PERSONAL_ID_PROVINCES))
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2399, 12, 31))
sexes = st.sampled_from([SEX_MALE, SEX_FEMALE])
serials = st.integers(0, 999_999)


def codes(problems):
    return [p.code for p in problems]


def test_a_number_matching_date_of_birth_and_sex_has_no_problem():
    assert check_personal_id("025312001234", dt.date(2012, 3, 4), SEX_FEMALE) == ()


def test_missing_number_is_reported():
    assert codes(check_personal_id("", dt.date(2012, 3, 4), SEX_MALE)) == [
        ProblemCode.PERSONAL_ID_MISSING
    ]
    assert codes(check_personal_id(None, None, SEX_MALE)) == [ProblemCode.PERSONAL_ID_MISSING]


def test_eleven_digits_is_a_format_problem():
    problems = check_personal_id("02531200123", dt.date(2012, 3, 4), SEX_FEMALE)
    assert codes(problems) == [ProblemCode.PERSONAL_ID_FORMAT]
    assert "12 chữ số" in problems[0].message


def test_letters_or_non_ascii_digits_are_a_format_problem():
    assert codes(check_personal_id("02531200123A", None, SEX_MALE)) == [
        ProblemCode.PERSONAL_ID_FORMAT
    ]
    assert codes(check_personal_id("٠٢٥٣١٢٠٠١٢٣٤", None, SEX_MALE)) == [
        ProblemCode.PERSONAL_ID_FORMAT
    ]


def test_province_code_outside_the_catalogue_is_reported():
    for province in ("000", "003", "097", "099"):
        problems = check_personal_id(f"{province}312001234", dt.date(2012, 3, 4), SEX_FEMALE)
        assert codes(problems) == [ProblemCode.PERSONAL_ID_PROVINCE]


def test_sex_digit_must_agree_with_recorded_sex():
    problems = check_personal_id("025312001234", dt.date(2012, 3, 4), SEX_MALE)
    assert codes(problems) == [ProblemCode.PERSONAL_ID_SEX]
    assert "nữ" in problems[0].message and "nam" in problems[0].message


def test_century_digit_must_agree_with_birth_year():
    # digit 1 = female born in the 1900s, but she was born in 2012
    assert codes(check_personal_id("025112001234", dt.date(2012, 3, 4), SEX_FEMALE)) == [
        ProblemCode.PERSONAL_ID_CENTURY
    ]


def test_birth_year_digits_must_agree_with_birth_year():
    assert codes(check_personal_id("025313001234", dt.date(2012, 3, 4), SEX_FEMALE)) == [
        ProblemCode.PERSONAL_ID_BIRTH_YEAR
    ]


def test_unknown_sex_or_date_of_birth_skips_those_checks():
    assert check_personal_id("025312001234", None, SEX_UNKNOWN) == ()


@given(provinces, births, sexes, serials)
def test_every_number_built_from_the_layout_is_accepted(province, born, sex, serial):
    number = make_personal_id(province, born, sex, serial)
    assert len(number) == 12 and number.isdigit()
    assert check_personal_id(number, born, sex) == ()


@given(provinces, births, sexes, serials)
def test_the_other_sex_is_always_caught(province, born, sex, serial):
    number = make_personal_id(province, born, sex, serial)
    other = SEX_MALE if sex == SEX_FEMALE else SEX_FEMALE
    assert codes(check_personal_id(number, born, other)) == [ProblemCode.PERSONAL_ID_SEX]


@given(provinces, births, sexes, serials, st.integers(1, 99))
def test_another_birth_year_in_the_same_century_is_always_caught(
    province, born, sex, serial, shift
):
    number = make_personal_id(province, born, sex, serial)
    year = born.year // 100 * 100 + (born.year % 100 + shift) % 100
    assert codes(check_personal_id(number, born.replace(year=year, day=1), sex)) == [
        ProblemCode.PERSONAL_ID_BIRTH_YEAR
    ]


@given(st.text(max_size=20).filter(lambda s: s.strip() and not (len(s) == 12 and s.isdigit())))
def test_anything_but_twelve_ascii_digits_is_refused(value):
    problems = check_personal_id(value, dt.date(2010, 1, 1), SEX_MALE)
    assert codes(problems) in (
        [ProblemCode.PERSONAL_ID_FORMAT],
        [ProblemCode.PERSONAL_ID_MISSING],
    )
