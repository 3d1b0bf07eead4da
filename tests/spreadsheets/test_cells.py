"""Cells as schools write them: "7,5" and "7.5", dates as Excel dates, serial numbers or text
day first, "Nam"/"Nữ" in any case, personal IDs that Excel turned into numbers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hocba.spreadsheets import Formula, cells
from hocba.spreadsheets.cells import CellRefused

EXCEL_EPOCH = dt.date(1899, 12, 30)


@given(
    whole=st.integers(min_value=0, max_value=10),
    tenths=st.integers(min_value=0, max_value=99),
    separator=st.sampled_from([",", "."]),
)
def test_a_decimal_comma_or_dot_or_a_number_is_the_same_value(whole, tenths, separator):
    expected = Decimal(whole) + Decimal(tenths) / 100
    written = f"{whole}{separator}{tenths:02d}"
    assert cells.decimal(written) == expected
    assert cells.decimal(f" {written} ") == expected
    assert cells.decimal(float(f"{whole}.{tenths:02d}")) == expected


def test_decimal_variants():
    assert cells.decimal("7,5") == cells.decimal("7.5") == cells.decimal(7.5) == Decimal("7.5")
    assert cells.decimal(8) == Decimal(8) and cells.decimal("") is None
    for bad in ("7,5,1", "bảy", "7.5đ", "1.234,5"):
        with pytest.raises(CellRefused):
            cells.decimal(bad)


@given(day=st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31)))
def test_a_date_reads_the_same_however_it_is_written(day):
    variants = [
        day,
        dt.datetime.combine(day, dt.time(0, 0)),
        day.strftime("%d/%m/%Y"),
        f"{day.day}/{day.month}/{day.year}",
        day.strftime("%d-%m-%Y"),
        day.strftime("%d.%m.%Y"),
        day.isoformat(),
        (day - EXCEL_EPOCH).days,
        float((day - EXCEL_EPOCH).days),
    ]
    assert {cells.date(v) for v in variants} == {day}


def test_a_date_that_does_not_exist_is_refused_with_its_text():
    with pytest.raises(CellRefused) as refused:
        cells.date("31/02/2012")
    assert "31/02/2012" in refused.value.why and "ngày có thật" in refused.value.why
    with pytest.raises(CellRefused):
        cells.date("2012/31/12")


@given(word=st.sampled_from(["Nam", "nam", "NAM", " Nam ", "Nữ", "nữ", "NỮ", "Nu", "nu", "1", "2"]))
def test_sex_in_any_case_with_or_without_diacritics(word):
    assert cells.sex(word) == ("1" if cells.fold(word) in ("nam", "1") else "2")


def test_an_empty_sex_is_unknown_and_anything_else_is_refused():
    assert cells.sex(None) == cells.sex("") == "0"
    for bad in ("?", "Không rõ", "X"):
        with pytest.raises(CellRefused):
            cells.sex(bad)


def test_a_personal_id_excel_kept_as_a_number_gets_its_leading_zero_back():
    assert cells.code(25012000123.0, 12) == "025012000123"
    assert cells.code(25012000123, 12) == "025012000123"
    assert cells.code("025012000123", 12) == "025012000123"
    assert cells.code("2012000123", 12) == "2012000123"  # text is kept as written


def test_a_formula_is_refused_by_every_reader():
    for read in (cells.text, cells.decimal, cells.date, cells.sex, cells.flag):
        with pytest.raises(CellRefused) as refused:
            read(Formula("=1+1"))
        assert "công thức" in refused.value.why and "=1+1" in refused.value.why


@given(value=st.one_of(st.text(max_size=40), st.floats(allow_nan=True), st.integers(), st.none(),
                       st.booleans(), st.datetimes()))  # fmt: skip
def test_any_cell_is_read_or_refused_never_raised(value):
    for read in (cells.text, cells.decimal, cells.date, cells.sex, cells.flag, cells.code):
        try:
            read(value)
        except CellRefused as refused:
            assert refused.why


def test_headings_are_compared_folded():
    assert cells.fold("Họ và tên (*)") == cells.fold("HỌ VÀ TÊN") == "ho va ten"
    assert cells.fold("Số ĐDCN") == "so ddcn"
