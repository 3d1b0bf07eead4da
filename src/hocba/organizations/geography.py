"""Names and codes as on a date: who issued a record, as the record must keep saying.

Since 1 July 2025 provinces merged, districts are gone and communes were merged and renumbered
(Decision 19/2025/QĐ-TTg). A record keeps its issuer's identity as on the date it speaks for (the
end of its school year, `record_date`), whatever the school, its commune or its managing
authority are called today. The school's own fields say how it is now; `SchoolPlacement` rows say
how it was until a date; `Commune` rows carry their own validity; a Phòng closed on 30 June 2025.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from hocba.organizations.models import (
    Commune,
    CommuneKind,
    DistrictOffice,
    ProvinceOffice,
    School,
    SchoolPlacement,
    SchoolYear,
)


class AuthorityKind(StrEnum):
    """Who manages a school on a date."""

    PROVINCE = "SO"
    """The Sở GD&ĐT directly."""
    DISTRICT = "PHONG"
    """A Phòng GD&ĐT (until 30 June 2025)."""
    COMMUNE = "XA"
    """A commune's People's Committee (from 1 July 2025)."""


@dataclass(frozen=True, slots=True)
class Issuer:
    """A school's identity on one date, as a record issued for that date writes it."""

    school_code: str
    """The Ministry's school code then."""
    school_name: str
    """The school's name then."""
    province_office_code: str
    """The Sở's code (masogd)."""
    province_office_name: str
    """The Sở's name."""
    province_code: str
    """The province's code."""
    province_name: str
    """The province's name."""
    commune_code: str
    """The commune's code ("" when it could not be confirmed)."""
    commune_name: str
    """The commune (xã, phường, đặc khu; thị trấn before 1 July 2025) where the school stood."""
    district_name: str
    """The district ("" from 1 July 2025, when there is none)."""
    authority: AuthorityKind
    """Who managed the school."""
    authority_name: str
    """Its name: Sở Giáo dục và Đào tạo …, Phòng Giáo dục và Đào tạo …, Ủy ban nhân dân …"""


def record_date(school_year: SchoolYear) -> dt.date:
    """The date a record of `school_year` speaks for: the year's end. A record of 2024-2025
    (ending before 1 July 2025) names the district-era issuer; its later corrections too."""
    return school_year.end_date


def placement_on(school: School, day: dt.date) -> SchoolPlacement | None:
    """The former placement covering `day`, or None when the school's own fields hold."""
    return (
        SchoolPlacement.objects.filter(school=school, valid_until__gte=day)
        .select_related("commune", "district_office", "managing_commune", "province_office")
        .order_by("valid_until")
        .first()
    )


def _authority(
    district: DistrictOffice | None,
    manager: Commune | None,
    office: ProvinceOffice,
    day: dt.date,
) -> tuple[AuthorityKind, str]:
    """Who managed a school on `day`: its Phòng while it stood, then its commune, else the Sở."""
    if district is not None and day <= district.valid_to:
        return AuthorityKind.DISTRICT, district.name
    if manager is not None:
        return AuthorityKind.COMMUNE, manager.committee_name
    return AuthorityKind.PROVINCE, office.name


def issuer_as_of(school: School, day: dt.date) -> Issuer:
    """How `school` and those above it were named and coded on `day`."""
    placement = placement_on(school, day)
    if placement is None:
        return _current(school, day)
    office = placement.province_office or school.province_office
    commune = placement.commune
    district = placement.district_office
    manager = placement.managing_commune
    authority, authority_name = _authority(district, manager, office, day)
    return Issuer(
        school_code=placement.code or school.code,
        school_name=placement.name,
        province_office_code=office.code,
        province_office_name=office.name,
        province_code=office.province_code,
        province_name=placement.province_name or office.province_name,
        commune_code=commune.code if commune else "",
        commune_name=commune.name if commune else school.commune_name,
        district_name=(
            (commune.district_name if commune else "")
            or (district.district_name if district else "")
        ),
        authority=authority,
        authority_name=authority_name,
    )


def _current(school: School, day: dt.date) -> Issuer:
    office = school.province_office
    manager = school.managing_commune
    district = school.district_office
    # no placement recorded: in the district era the school stood where it stands
    authority, authority_name = _authority(district, manager, office, day)
    in_district_era = district is not None and day <= district.valid_to
    return Issuer(
        school_code=school.code,
        school_name=school.name,
        province_office_code=office.code,
        province_office_name=office.name,
        province_code=school.province_code,
        province_name=school.province_name,
        commune_code=school.commune_code,
        commune_name=school.commune_name,
        district_name=district.district_name if in_district_era and district else "",
        authority=authority,
        authority_name=authority_name,
    )


def commune_on(code: str, day: dt.date) -> Commune | None:
    """The commune that bore `code` on `day`."""
    for commune in Commune.objects.filter(code=code).order_by("valid_from"):
        if commune.valid_on(day):
            return commune
    return None


# --- loading the official list -------------------------------------------------------------

#: The columns of the communes CSV (UTF-8, a header row, comma-separated).
CSV_COLUMNS = ("code", "name", "kind", "province_code", "valid_from", "valid_to", "district")
_KINDS = {
    "xa": CommuneKind.XA,
    "xã": CommuneKind.XA,
    "phuong": CommuneKind.PHUONG,
    "phường": CommuneKind.PHUONG,
    "dac_khu": CommuneKind.DAC_KHU,
    "đặc khu": CommuneKind.DAC_KHU,
    "thi_tran": CommuneKind.THI_TRAN,
    "thị trấn": CommuneKind.THI_TRAN,
}


class CommuneListError(ValueError):
    """A communes CSV that cannot be loaded: `code` is stable, `line` the 1-based line."""

    def __init__(self, code: str, line: int, message: str) -> None:
        super().__init__(f"{code} (line {line}): {message}")
        self.code, self.line, self.message = code, line, message


@dataclass(frozen=True, slots=True)
class LoadResult:
    created: int
    updated: int


def _date(value: str, line: int, column: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CommuneListError(
            "COMMUNE_BAD_DATE", line, f"{column} must be YYYY-MM-DD, not {value!r}"
        ) from None


def _rows(text: str) -> Iterable[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in CSV_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise CommuneListError(
            "COMMUNE_COLUMNS_MISSING", 1, "missing columns: " + ", ".join(missing)
        )
    for number, row in enumerate(reader, start=2):
        yield number, {k: (v or "").strip() for k, v in row.items() if k is not None}


@transaction.atomic
def load_communes(text: str) -> LoadResult:
    """Create or update communes from the CSV `text` (columns `CSV_COLUMNS`; `valid_from`,
    `valid_to` and `district` may be empty or absent). All or nothing: the first bad row stops
    the load with a `CommuneListError` and nothing is written."""
    created = updated = 0
    seen: set[tuple[str, dt.date | None]] = set()
    for line, row in _rows(text):
        kind = _KINDS.get(row["kind"].lower())
        if kind is None:
            raise CommuneListError("COMMUNE_BAD_KIND", line, f"unknown kind {row['kind']!r}")
        valid_from = _date(row.get("valid_from", ""), line, "valid_from")
        key = (row["code"], valid_from)
        if row["code"] and key in seen:
            raise CommuneListError("COMMUNE_DUPLICATE", line, f"code {row['code']} twice")
        seen.add(key)
        lookup = (
            {"code": row["code"], "valid_from": valid_from}
            if row["code"]
            else {"code": "", "name": row["name"], "province_code": row["province_code"]}
        )
        commune = Commune.objects.filter(**lookup).first() or Commune(**lookup)
        is_new = commune.pk is None
        commune.name, commune.kind = row["name"], kind
        commune.province_code = row["province_code"]
        commune.valid_from = valid_from
        commune.valid_to = _date(row.get("valid_to", ""), line, "valid_to")
        commune.district_name = row.get("district", "")
        try:
            commune.full_clean(validate_unique=False)
        except Exception as error:  # ValidationError: say which line and why
            messages = getattr(error, "message_dict", {"": [str(error)]})
            text_ = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in messages.items())
            raise CommuneListError("COMMUNE_INVALID", line, text_) from None
        commune.save()
        created, updated = created + is_new, updated + (not is_new)
    return LoadResult(created, updated)
