"""Whose records an account may send: the issuer fields of a record against the account's reach
and the school's registration at this warehouse.

A record names its issuer in TRUONG: school code (MA_TRUONG), tax code (MA_SO_THUE), province
code (MA_TINH) and Sở code (MA_SO_GD). A school's account binds all four (a school sends its own
records to its Sở's warehouse); a Sở's account binds the province and the Sở (a Sở forwards the
records of its province to the Ministry); the Ministry's binds nothing. When a Sở or the
Ministry sends, a school the warehouse has registered (it has a school account) must also carry
its registered fields. Every later version of a stored record keeps the first version's school,
province, Sở and school year. Each field that differs has its own acknowledgement code; the
processing of packages (`services`) asks this module and nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from hocba.warehouse.models import Account, StoredRecord


@dataclass(frozen=True)
class Issuer:
    """The issuer fields of a record, or what an account's reach or a school's registration
    binds them to (None: any value)."""

    school_code: str | None
    """MA_TRUONG"""
    tax_code: str | None
    """MA_SO_THUE (the tax code of the school's organisation certificate)"""
    province_code: str | None
    """MA_TINH"""
    province_office_code: str | None
    """MA_SO_GD"""


ISSUER_CODES = (
    ("school_code", "SCHOOL_MISMATCH"),
    ("tax_code", "TAX_CODE_MISMATCH"),
    ("province_code", "PROVINCE_MISMATCH"),
    ("province_office_code", "OFFICE_MISMATCH"),
)
"""Each issuer field with the code a record gets when it differs, in the order they are
compared (the first that differs names the refusal: a record of another school usually differs
in more than its school code)."""

STORED_CODES = (
    ("school_code", "SCHOOL_MISMATCH"),
    ("province_code", "PROVINCE_MISMATCH"),
    ("province_office_code", "OFFICE_MISMATCH"),
    ("school_year", "SCHOOL_YEAR_MISMATCH"),
)
"""What every version of one record shares with the first one stored: a record id belongs to
one school, one province, one Sở and one school year (the partition of its versions)."""

Registry = dict[str, list[Issuer]]
"""The schools registered at this warehouse (its school accounts), by school code."""


def issuer_mismatch(record: Issuer, bound: Issuer) -> str | None:
    """The code of the first issuer field of `record` that differs from what `bound` binds."""
    for name, code in ISSUER_CODES:
        expected = getattr(bound, name)
        if expected is not None and getattr(record, name) != expected:
            return code
    return None


def reach_of(account: Account) -> Issuer:
    """What an account may send: a school its own records (every field as registered), a Sở
    the records of its own province and Sở, the Ministry anything."""
    if account.kind == Account.Kind.SCHOOL:
        return Issuer(
            account.school_code,
            account.tax_code,
            account.province_code,
            account.province_office_code,
        )
    if account.kind == Account.Kind.PROVINCE:
        return Issuer(None, None, account.province_code, account.province_office_code)
    return Issuer(None, None, None, None)


def registry() -> Registry:
    """Every school account's fields, active and newest first (read once per package)."""
    schools: Registry = defaultdict(list)
    for school in Account.objects.filter(kind=Account.Kind.SCHOOL).order_by(
        "-active", "-created_at"
    ):
        schools[school.school_code].append(reach_of(school))
    return dict(schools)


def issuer_problem(account: Account, record: Issuer, schools: Registry | None) -> str | None:
    """Why a record with these issuer fields may not come from this account (None: it may):
    outside the account's reach, a school the warehouse does not know (when it takes only the
    schools it knows), or a registered school whose registration says otherwise. `schools` is
    None for a school's account: the account is the school's registration."""
    problem = issuer_mismatch(record, reach_of(account))
    if problem is not None or schools is None:
        return problem
    registrations = schools.get(record.school_code or "", [])
    if not registrations:
        known_only = bool(schools) and settings.WAREHOUSE_KNOWN_SCHOOLS_ONLY
        return "UNKNOWN_SCHOOL" if known_only else None
    problems = [issuer_mismatch(record, registered) for registered in registrations]
    return None if None in problems else problems[0]


def differs_from_stored(first: StoredRecord, facts: Any) -> str | None:
    """The code of the first field in which a later version (its `facts`) leaves the record's
    first stored version."""
    for name, code in STORED_CODES:
        if getattr(first, name) != getattr(facts, name):
            return code
    return None
