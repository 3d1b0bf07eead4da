"""Communes with their periods, the official list loaded from CSV, and each school's identity as
on a date: the district era until 30 June 2025, the commune era since."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hocba.organizations.geography import (
    AuthorityKind,
    CommuneListError,
    issuer_as_of,
    load_communes,
    record_date,
)
from hocba.organizations.models import Commune, School, SchoolPlacement, SchoolYear

pytestmark = pytest.mark.django_db

HEADER = "code,name,kind,province_code,valid_from,valid_to,district\n"
BEFORE = dt.date(2025, 5, 31)
AFTER = dt.date(2026, 5, 31)


def test_the_shipped_list_holds_every_commune_of_phu_tho_after_the_merger(demo):
    current = Commune.objects.filter(province_code="25", valid_to__isnull=True).exclude(code="")
    assert current.count() == 148  # 15 wards and 133 communes
    assert current.filter(kind="PHUONG").count() == 15
    ward = current.get(code="07909")
    assert (ward.name, ward.valid_from) == ("Phường Thanh Miếu", dt.date(2025, 7, 1))
    assert ward.committee_name == "Ủy ban nhân dân phường Thanh Miếu"


def test_loading_the_shipped_list_again_changes_nothing(demo):
    before = Commune.objects.count()
    call_command("communes", "load")
    assert Commune.objects.count() == before


def test_a_bad_row_stops_the_load_and_nothing_is_written(db):
    before = Commune.objects.count()
    text = HEADER + (
        "99001,Phường Mới,phuong,25,2025-07-01,,\n9900,Phường Lỗi,phuong,25,2025-07-01,,\n"
    )
    with pytest.raises(CommuneListError) as raised:
        load_communes(text)
    assert (raised.value.code, raised.value.line) == ("COMMUNE_INVALID", 3)
    assert Commune.objects.count() == before


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ("99003,Phường A,quan,25,2025-07-01,,", "COMMUNE_BAD_KIND"),
        ("99003,Phường A,phuong,25,1/7/2025,,", "COMMUNE_BAD_DATE"),
        ("99003,Phường A,phuong,26,2025-07-01,,", "COMMUNE_INVALID"),  # 26 ended with the merger
        ("99003,Thị trấn A,thi_tran,25,2025-07-01,,", "COMMUNE_INVALID"),
    ],
)
def test_each_kind_of_bad_row_is_named(db, row, code):
    with pytest.raises(CommuneListError) as raised:
        load_communes(HEADER + row + "\n")
    assert raised.value.code == code


def test_a_file_without_the_required_columns_is_refused(db):
    with pytest.raises(CommuneListError) as raised:
        load_communes("ma,ten\n07909,Phường A\n")
    assert raised.value.code == "COMMUNE_COLUMNS_MISSING"


def test_the_command_reports_a_bad_file_with_its_code(db, tmp_path):
    path = tmp_path / "communes.csv"
    path.write_text(HEADER + "99002,Phường A,quan,25,,,\n", encoding="utf-8")
    with pytest.raises(CommandError, match="COMMUNE_BAD_KIND"):
        call_command("communes", "load", str(path))
    assert not Commune.objects.filter(code="99002").exists()


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(90000, 99999), st.sampled_from(["xa", "phuong", "dac_khu"])),
        min_size=1,
        max_size=8,
        unique_by=lambda t: t[0],
    )
)
def test_any_list_of_distinct_codes_loads_once_and_reloads_as_updates(db, rows):
    text = HEADER + "".join(f"{code:05d},Xã {code},{kind},25,2025-07-01,,\n" for code, kind in rows)
    with_codes = {f"{code:05d}" for code, _ in rows}
    first = load_communes(text)
    again = load_communes(text)
    assert (first.created, again.created, again.updated) == (len(rows), 0, len(rows))
    assert with_codes <= set(Commune.objects.values_list("code", flat=True))
    Commune.objects.filter(code__in=with_codes).delete()


def test_a_school_under_the_commune_was_under_the_phong_before_the_merger(demo):
    school = School.objects.get(code="25000201")
    before, after = issuer_as_of(school, BEFORE), issuer_as_of(school, AFTER)
    assert before.authority is AuthorityKind.DISTRICT
    assert before.authority_name == "Phòng Giáo dục và Đào tạo Việt Trì"
    assert (before.district_name, before.commune_name, before.commune_code) == (
        "Thành phố Việt Trì",
        "Phường Thanh Miếu",
        "",  # the former ward's code is not confirmed: none rather than a guess
    )
    assert after.authority is AuthorityKind.COMMUNE
    assert after.authority_name == "Ủy ban nhân dân phường Thanh Miếu"
    assert (after.district_name, after.commune_code) == ("", "07909")
    assert (
        before.province_office_name
        == after.province_office_name
        == ("Sở Giáo dục và Đào tạo Phú Thọ")
    )


def test_a_school_of_the_so_stays_under_the_so(demo):
    school = School.objects.get(code="25000301")
    for day in (BEFORE, AFTER):
        issuer = issuer_as_of(school, day)
        assert issuer.authority is AuthorityKind.PROVINCE
        assert issuer.authority_name == "Sở Giáo dục và Đào tạo Phú Thọ"
    # the district is where the school stood, whoever managed it
    assert issuer_as_of(school, BEFORE).district_name == "Thành phố Việt Trì"
    assert issuer_as_of(school, AFTER).district_name == ""


def test_the_last_day_of_the_district_level_is_still_the_district_era(demo):
    school = School.objects.get(code="25000101")
    assert issuer_as_of(school, dt.date(2025, 6, 30)).authority is AuthorityKind.DISTRICT
    assert issuer_as_of(school, dt.date(2025, 7, 1)).authority is AuthorityKind.COMMUNE


def test_a_renamed_school_keeps_its_former_name_for_the_dates_before(demo):
    school = School.objects.get(code="25000401")
    SchoolPlacement.objects.create(
        school=school, valid_until=dt.date(2026, 1, 31), name=school.name, commune=school.commune
    )
    school.name = "Trung tâm GDNN-GDTX Phường Vân Phú"
    school.save()
    assert issuer_as_of(school, dt.date(2026, 1, 31)).school_name == "Trung tâm GDNN-GDTX Việt Trì"
    assert issuer_as_of(school, dt.date(2026, 2, 1)).school_name == school.name
    # the placement before the merger still answers for 2024-2025
    assert issuer_as_of(school, BEFORE).commune_code == ""


def test_a_record_speaks_for_the_end_of_its_school_year(demo):
    assert record_date(SchoolYear.objects.get(name="2024-2025")) == dt.date(2025, 5, 31)


def test_a_school_cannot_be_placed_under_a_commune_that_no_longer_exists(demo):
    from django.core.exceptions import ValidationError

    school = School.objects.get(code="25000201")
    school.managing_commune = Commune.objects.filter(valid_to__isnull=False).first()
    with pytest.raises(ValidationError) as raised:
        school.full_clean()
    assert "managing_commune" in raised.value.message_dict


def test_every_scoped_model_reachable_from_a_district_is_reachable_from_a_commune():
    """What a Phòng officer read before 1 July 2025, a commune officer reads since."""
    from hocba.organizations.models import DistrictOffice, ProvinceOffice
    from hocba.organizations.permissions import _SCOPES

    offices = {ProvinceOffice, DistrictOffice}  # the offices themselves are not a commune's
    missing = [
        model.__name__
        for model, paths in _SCOPES.items()
        if paths.district_office is not None and paths.commune is None and model not in offices
    ]
    assert missing == []
