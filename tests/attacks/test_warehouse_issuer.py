"""Attack class: a record whose issuer fields lie outside the sending account's reach.

A school may send only its own records: its school code (MA_TRUONG), tax code (MA_SO_THUE), its
province (MA_TINH) and its Sở (MA_SO_GD), as registered with its account at the Sở's warehouse.
A Sở may send (forward to the Ministry) only records of its own province and Sở, and a record of
a school the warehouse has registered must carry that school's registered fields. Every record
here is correctly signed by whoever its fields name: the only thing wrong is who sends it. Each
mismatch is refused with its own code and nothing of the record is stored; the other records of
the package go in.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hocba.formats import package as pkg
from hocba.warehouse.auth import Caller, create_account
from hocba.warehouse.models import Account, ReceivedPackage, StoredRecord
from hocba.warehouse.services import MESSAGES, process, receive
from tests.factories.records import Issuer, Keys

pytestmark = pytest.mark.django_db

SCHOOL = Issuer("25000201", "2600100202", "25", "25")  # the demo's THCS Chu Văn An
SO_TAX = "2600000025"
CODES = {
    "school_code": "SCHOOL_MISMATCH",
    "tax_code": "TAX_CODE_MISMATCH",
    "province_code": "PROVINCE_MISMATCH",
    "province_office_code": "OFFICE_MISMATCH",
}
ORDER = list(CODES)  # the first differing field names the refusal


@pytest.fixture(scope="module")
def keys(demo) -> Keys:  # type: ignore[no-untyped-def]
    return Keys.load()


def school_account() -> Caller:
    account = Account.objects.get(client_id=f"truong-{SCHOOL.school_code}")
    return Caller(account, account.scope_set)


def so_account(province: str = "25", office: str = "25") -> Caller:
    """The Sở's account at the Ministry's warehouse."""
    account = create_account(
        f"so-{office}",
        "a-long-enough-secret-for-tests",
        "Sở GDĐT",
        Account.Kind.PROVINCE,
        province_code=province,
        province_office_code=office,
        tax_code=SO_TAX,
    )
    return Caller(account, account.scope_set)


def register_school(issuer: Issuer) -> None:
    """A school account at this warehouse: its registration."""
    create_account(
        f"truong-{issuer.school_code}",
        "a-long-enough-secret-for-tests",
        issuer.school_code,
        Account.Kind.SCHOOL,
        school_code=issuer.school_code,
        province_code=issuer.province_code,
        province_office_code=issuer.province_office_code,
        tax_code=issuer.tax_code,
    )


def submit(caller: Caller, keys: Keys, entries: list[pkg.Entry], sender_code: str = "") -> dict:
    account = caller.account
    if account.kind == Account.Kind.SCHOOL:
        sender = pkg.Sender("TRUONG", account.school_code, account.tax_code)
    else:
        sender = pkg.Sender("SO", sender_code or "25", account.tax_code)
    row, _ = receive(caller, keys.package(sender, entries), inline=False)
    process(row.pk)
    row.refresh_from_db()
    assert row.status == ReceivedPackage.Status.DONE, (row.code, row.message)
    return {a.record_id: (a.status, a.code, a.message) for a in row.acks.all()}


def refused_with(answers: dict, entry: pkg.Entry, code: str) -> None:
    status, got, message = answers[entry.record_id]
    assert (status, got) == ("REJECTED", code)
    assert message == MESSAGES[code]
    assert not StoredRecord.objects.filter(record_id=entry.record_id).exists()


def accepted(answers: dict, entry: pkg.Entry) -> None:
    assert answers[entry.record_id][:2] == ("ACCEPTED", "ACCEPTED")
    assert StoredRecord.objects.filter(record_id=entry.record_id).count() == 1


# --- a school sending to its Sở's warehouse ---------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"province_code": "01"}, "PROVINCE_MISMATCH"),
        ({"province_code": "01", "province_office_code": "01"}, "PROVINCE_MISMATCH"),
        ({"province_office_code": "01"}, "OFFICE_MISMATCH"),
        ({"province_office_code": "2A"}, "OFFICE_MISMATCH"),
        ({"tax_code": "0100109106"}, "TAX_CODE_MISMATCH"),
        ({"tax_code": "2600100202-001"}, "TAX_CODE_MISMATCH"),
        ({"school_code": "25000301", "tax_code": "2600100303"}, "SCHOOL_MISMATCH"),
    ],
    ids=[
        "another-province",
        "another-province-and-so",
        "another-so",
        "another-so-letters",
        "another-tax-code",
        "a-branch-tax-code",
        "another-school",
    ],
)
def test_a_school_cannot_send_a_record_naming_another_issuer(keys, changes, code):
    caller = school_account()
    own = keys.record(SCHOOL)
    foreign = keys.record(dataclasses.replace(SCHOOL, **changes))
    answers = submit(caller, keys, [foreign, own])
    refused_with(answers, foreign, code)
    accepted(answers, own)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_issuer_field_a_school_did_not_register_is_refused_by_the_first_that_differs(
    keys, data
):
    values = {
        "school_code": st.from_regex(r"[0-9]{8}", fullmatch=True),
        "tax_code": st.from_regex(r"[0-9]{10}", fullmatch=True),
        "province_code": st.from_regex(r"[0-9]{2}", fullmatch=True),
        "province_office_code": st.from_regex(r"[0-9A-Z]{2}", fullmatch=True),
    }
    changed = data.draw(st.sets(st.sampled_from(ORDER), min_size=1))
    changes = {
        name: data.draw(values[name].filter(lambda v, n=name: v != getattr(SCHOOL, n)))
        for name in changed
    }
    foreign = keys.record(dataclasses.replace(SCHOOL, **changes))
    answers = submit(school_account(), keys, [foreign])
    refused_with(answers, foreign, CODES[next(n for n in ORDER if n in changed)])


# --- a Sở forwarding to the Ministry's warehouse ----------------------------------------------


def test_a_so_cannot_forward_a_record_of_another_province(keys):
    caller = so_account()
    foreign = keys.record(Issuer("01000101", "0100000101", "01", "01"))
    own = keys.record(SCHOOL)
    answers = submit(caller, keys, [foreign, own])
    refused_with(answers, foreign, "PROVINCE_MISMATCH")
    accepted(answers, own)


def test_a_so_cannot_forward_a_record_naming_another_so(keys):
    caller = so_account()
    for office in ("01", "26", "B5"):
        foreign = keys.record(Issuer(SCHOOL.school_code, SCHOOL.tax_code, "25", office))
        refused_with(submit(caller, keys, [foreign]), foreign, "OFFICE_MISMATCH")


@pytest.mark.parametrize(
    ("registered", "code"),
    [
        (Issuer("26000101", "2600999999", "25", "25"), "TAX_CODE_MISMATCH"),
        (Issuer("26000101", "2600100999", "26", "25"), "PROVINCE_MISMATCH"),
        (Issuer("26000101", "2600100999", "25", "26"), "OFFICE_MISMATCH"),
    ],
    ids=["registered-tax-code", "registered-province", "registered-so"],
)
def test_a_record_of_a_registered_school_must_carry_its_registered_fields(keys, registered, code):
    """The record says province 25 and Sở 25 (the sending Sở's), but the warehouse registered
    the school otherwise."""
    register_school(registered)
    caller = so_account()
    claimed = Issuer(registered.school_code, "2600100999", "25", "25")
    record = keys.record(claimed)
    refused_with(submit(caller, keys, [record]), record, code)


def test_a_registered_school_forwarded_with_its_registered_fields_is_accepted(keys):
    registered = Issuer("26000101", "2600100999", "25", "25")
    register_school(registered)
    record = keys.record(registered)
    accepted(submit(so_account(), keys, [record]), record)


def test_a_so_package_must_name_the_so_of_its_account_as_sender(keys):
    caller = so_account()
    sender = pkg.Sender("SO", "26", SO_TAX)
    row, _ = receive(caller, keys.package(sender, [keys.record(SCHOOL)]), inline=False)
    process(row.pk)
    row.refresh_from_db()
    assert (row.status, row.code) == (ReceivedPackage.Status.REJECTED, "PACKAGE_SENDER_MISMATCH")
    assert not row.acks.exists()
