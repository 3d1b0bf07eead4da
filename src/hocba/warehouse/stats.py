"""Counts per Ministry / Sở / Phòng / school: students expected, records created, issued, sent,
accepted, rejected.

On a warehouse the counts come from what arrived: each package carries the sending school's own
figures (students, records created and issued), and the warehouse counts what it received (sent),
stored (accepted) and refused and never stored afterwards (rejected). On a school instance they
come from the grade book, the records and the outbox.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from hocba.warehouse.models import Ack, SchoolCount, StoredRecord

FIELDS = ("expected", "created", "issued", "sent", "accepted", "rejected")


def _empty(level: str, code: str, name: str) -> dict[str, Any]:
    return {"level": level, "code": code, "name": name, **dict.fromkeys(FIELDS, 0)}


def _rollup(
    schools: list[dict[str, Any]], where: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """Schools plus their Phòng (district), Sở (province) and national totals, in that
    order from the top. `where[school_code] = (province_code, district_name)`."""
    from hocba.organizations.models import ProvinceOffice

    province_names = dict(ProvinceOffice.objects.values_list("province_code", "province_name"))
    total = _empty("MINISTRY", "", "Toàn quốc")
    provinces: dict[str, dict[str, Any]] = {}
    districts: dict[tuple[str, str], dict[str, Any]] = {}
    for row in schools:
        province, district = where.get(row["code"], ("", ""))
        groups = [
            total,
            provinces.setdefault(
                province,
                _empty("PROVINCE", province, province_names.get(province, f"Tỉnh/TP {province}")),
            ),
        ]
        if district:
            groups.append(
                districts.setdefault(
                    (province, district), _empty("DISTRICT", f"{province}/{district}", district)
                )
            )
        for group in groups:
            for name in FIELDS:
                group[name] += row[name]
    return [
        total,
        *(provinces[k] for k in sorted(provinces)),
        *(districts[k] for k in sorted(districts)),
        *sorted(schools, key=lambda r: r["code"]),
    ]


def warehouse_rows(
    caller: Any | None = None, school_year: str | None = None, codes: set[str] | None = None
) -> list[dict[str, Any]]:
    """Counts at this warehouse, limited to `caller`'s reach (all when None) and to the
    schools `codes` (all when None)."""
    reach = caller.reach() if caller is not None else Q()
    if codes is not None:
        reach &= Q(school_code__in=codes)
    year = Q(school_year=school_year) if school_year else Q()
    schools: dict[str, dict[str, Any]] = {}
    where: dict[str, tuple[str, str]] = {}

    def school(code: str, name: str = "") -> dict[str, Any]:
        row = schools.setdefault(code, _empty("SCHOOL", code, name or code))
        if name and row["name"] == code:
            row["name"] = name
        return row

    for count in SchoolCount.objects.filter(reach, year):
        row = school(count.school_code)
        row["expected"] += count.students
        row["created"] += count.created
        row["issued"] += count.issued
        where.setdefault(count.school_code, (count.province_code, count.district_name))
    stored: set[tuple[str, int]] = set()
    for code, name, record_id, version, province, district in StoredRecord.objects.filter(
        reach, year
    ).values_list(
        "school_code", "school_name", "record_id", "version", "province_code", "district_name"
    ):
        school(code, name)["accepted"] += 1
        stored.add((str(record_id), version))
        where[code] = (province, district)
    sent: dict[str, set[tuple[str, int]]] = defaultdict(set)
    rejected: dict[str, set[tuple[str, int]]] = defaultdict(set)
    acks = Ack.objects.filter(reach).exclude(school_code="")
    if school_year:
        acks = acks.filter(
            Q(status=Ack.Status.REJECTED)
            | Q(record_id__in=StoredRecord.objects.filter(year).values("record_id"))
        )
    for code, record_id, version, status, province in acks.values_list(
        "school_code", "record_id", "version", "status", "province_code"
    ):
        sent[code].add((record_id, version))
        if status == Ack.Status.REJECTED:
            rejected[code].add((record_id, version))
        where.setdefault(code, (province, ""))
    for code, pairs in sent.items():
        school(code)["sent"] = len(pairs)
        school(code)["rejected"] = len(rejected[code] - stored)
    return _rollup(list(schools.values()), where)


def forwarded_counts(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str, int, int, int]]:
    """What the schools of a package this warehouse forwards last reported to it: per (school
    code, school year) known here, the code, the year, students, records created and issued
    (the exchange's EXCHANGE_FORWARDED_COUNTS)."""
    counts = []
    for code, year in sorted(set(pairs)):
        row = SchoolCount.objects.filter(school_code=code, school_year=year).first()
        if row is not None:
            counts.append((code, year, row.students, row.created, row.issued))
    return counts


def school_rows(
    school_year: str | None = None, codes: set[str] | None = None
) -> list[dict[str, Any]]:
    """Counts on a school instance: enrolment, records, outbox."""
    from hocba.exchange.models import OutboxItem
    from hocba.organizations.models import School
    from hocba.records.figures import school_figures

    rows = []
    where: dict[str, tuple[str, str]] = {}
    schools = School.objects.select_related("district_office").order_by("code")
    if codes is not None:
        schools = schools.filter(code__in=codes)
    for school in schools:
        outbox = OutboxItem.objects.filter(school_code=school.code)
        if school_year:
            outbox = outbox.filter(school_year=school_year)
        row = _empty("SCHOOL", school.code, school.name)
        row["expected"], row["created"], row["issued"] = school_figures(school, school_year)
        row["sent"] = outbox.exclude(package=None).count()
        row["accepted"] = outbox.filter(state=OutboxItem.State.ACCEPTED).count()
        row["rejected"] = outbox.filter(state=OutboxItem.State.REJECTED).count()
        rows.append(row)
        district = school.district_office.name if school.district_office else ""
        where[school.code] = (school.province_code, district)
    return _rollup(rows, where)
