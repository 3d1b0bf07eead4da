"""Issuer fields and the version rule's bookkeeping: the comparison of a record's issuer fields
with what an account binds, what every later version shares with the first, accounts that must
name their Sở, and the migration that fills in and repairs what older versions left."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from hocba.formats import package as pkg
from hocba.warehouse.auth import AccountError, Caller, create_account
from hocba.warehouse.issuers import ISSUER_CODES, Issuer, issuer_mismatch
from hocba.warehouse.models import Account, ReceivedPackage, RecordHead, StoredRecord
from hocba.warehouse.services import lock_records, process, receive
from tests.factories.records import Issuer as RecordIssuer
from tests.factories.records import Keys

SECRET = "a-long-enough-secret-for-tests"
code_text = st.text(alphabet="0123456789AB", min_size=1, max_size=3)


# --- the comparison, pure ----------------------------------------------------------------------


@given(
    record=st.builds(Issuer, code_text, code_text, code_text, code_text),
    bound=st.builds(
        Issuer,
        *(st.none() | code_text for _ in range(4)),  # None: the account binds nothing
    ),
)
def test_a_record_passes_exactly_when_every_bound_field_is_equal_and_else_the_first_names_it(
    record, bound
):
    differing = [
        code
        for name, code in ISSUER_CODES
        if getattr(bound, name) is not None and getattr(bound, name) != getattr(record, name)
    ]
    assert issuer_mismatch(record, bound) == (differing[0] if differing else None)


def test_an_account_that_binds_nothing_takes_any_issuer():
    anything = Issuer("x", "y", "z", "w")
    assert issuer_mismatch(anything, Issuer(None, None, None, None)) is None


# --- later versions keep the first one's issuer and school year ---------------------------


@pytest.fixture
def so_caller(demo, settings) -> Caller:
    """A Sở forwarding schools the warehouse has not registered (and may take)."""
    settings.WAREHOUSE_KNOWN_SCHOOLS_ONLY = False
    account = create_account(
        "so-25",
        SECRET,
        "Sở GDĐT Phú Thọ",
        Account.Kind.PROVINCE,
        province_code="25",
        province_office_code="25",
        tax_code="2600000025",
    )
    return Caller(account, account.scope_set)


@pytest.fixture(scope="module")
def keys(demo) -> Keys:  # type: ignore[no-untyped-def]
    return Keys.load()


def forward(caller: Caller, keys: Keys, entry: pkg.Entry) -> tuple[str, str]:
    sender = pkg.Sender("SO", "25", caller.account.tax_code)
    row, _ = receive(caller, keys.package(sender, [entry]), inline=False)
    process(row.pk)
    row.refresh_from_db()
    assert row.status == ReceivedPackage.Status.DONE
    ack = row.acks.get()
    return ack.status, ack.code


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("later", "school_year", "code"),
    [
        (RecordIssuer("25999901", "2600999901", "25", "25"), None, "SCHOOL_MISMATCH"),
        (None, "2025-2026", "SCHOOL_YEAR_MISMATCH"),
    ],
    ids=["another-school", "another-school-year"],
)
def test_a_later_version_must_keep_the_school_and_year_of_the_first(
    so_caller, keys, later, school_year, code
):
    first = RecordIssuer("25999900", "2600999900", "25", "25")
    record_id = str(uuid.uuid4())
    assert forward(so_caller, keys, keys.record(first, record_id)) == ("ACCEPTED", "ACCEPTED")
    second = keys.record(later or first, record_id, 2, "UPDATE", school_year=school_year)
    assert forward(so_caller, keys, second) == ("REJECTED", code)
    stored = StoredRecord.objects.get(record_id=record_id)
    assert (stored.version, stored.state) == (1, StoredRecord.State.CURRENT)


# --- the lock rows -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_locking_writes_one_head_per_record_id_and_again_changes_nothing(demo):
    ids = {str(uuid.uuid4()) for _ in range(3)}
    lock_records(ids)
    lock_records(ids | {str(uuid.uuid4())})
    assert RecordHead.objects.filter(record_id__in=ids).count() == 3


# --- accounts ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        (
            Account.Kind.SCHOOL,
            {"school_code": "25000201", "province_code": "25", "tax_code": "2600100202"},
            "ACCOUNT_FIELDS_MISSING",
        ),
        (
            Account.Kind.PROVINCE,
            {"province_code": "25", "tax_code": "2600000025"},
            "ACCOUNT_FIELDS_MISSING",
        ),
        (
            Account.Kind.PROVINCE,
            {"province_code": "25", "province_office_code": "sở", "tax_code": "2600000025"},
            "ACCOUNT_FIELD_INVALID",
        ),
        (
            Account.Kind.PROVINCE,
            {"province_code": "Phú Thọ", "province_office_code": "25", "tax_code": "2600000025"},
            "ACCOUNT_FIELD_INVALID",
        ),
    ],
    ids=["school-without-so", "so-without-its-code", "so-code-malformed", "province-malformed"],
)
def test_an_account_must_name_every_issuer_field_its_records_carry(kind, fields, code):
    with pytest.raises(AccountError) as refused:
        create_account("x", SECRET, "x", kind, **fields)
    assert refused.value.code == code
    assert not Account.objects.filter(client_id="x").exists()


@pytest.mark.django_db
def test_the_command_refuses_a_school_account_without_its_so(settings):
    settings.ACCOUNT_SECRET = SECRET
    args = ["warehouse", "account", "add", "truong-x", "--kind", "school", "--name", "X"]
    where = ["--school", "25009999", "--province", "25", "--tax-code", "2600999999"]
    with pytest.raises(CommandError) as refused:
        call_command(*args, *where)
    assert refused.value.returncode == 2
    assert str(refused.value).startswith("ACCOUNT_FIELDS_MISSING: ")
    assert "--office" in str(refused.value)
    call_command(*args, *where, "--office", "25")
    assert Account.objects.get(client_id="truong-x").province_office_code == "25"


# --- the migrations' data steps ----------------------------------------------------------------


def migration(name: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"hocba.warehouse.migrations.{name}")


@pytest.mark.django_db
def test_accounts_registered_before_get_their_so_code_from_the_catalogue_or_their_records(demo):
    school = Account.objects.get(client_id="truong-25000201")
    province = create_account(
        "so-25", SECRET, "Sở", Account.Kind.PROVINCE,
        province_code="25", province_office_code="25", tax_code="2600000025",
    )  # fmt: skip
    stranger = create_account(
        "truong-unknown", SECRET, "?", Account.Kind.SCHOOL, school_code="99999999",
        province_code="25", province_office_code="25", tax_code="2600999999",
    )  # fmt: skip
    Account.objects.update(province_office_code="")
    from hocba.organizations.models import School

    School.objects.filter(code="25000201").update(code="25000299")  # only its records know
    migration("0003_account_province_office_code").fill_office_codes(apps, None)
    for account in (school, province, stranger):
        account.refresh_from_db()
    assert school.province_office_code == "25"  # from the records it sent
    assert province.province_office_code == "25"  # from the catalogue
    assert stranger.province_office_code == ""  # nobody knows: refused until registered again


@pytest.mark.django_db
def test_versions_left_in_force_by_a_race_are_closed_as_the_rule_would_have(demo):
    template = StoredRecord.objects.first()
    assert template is not None
    with connection.cursor() as cursor:  # the state the race left, before the unique index
        cursor.execute("DROP INDEX stored_one_current")
    record_id = uuid.uuid4()
    raced = [(1, "NEW", "CURRENT"), (2, "UPDATE", "CURRENT"), (3, "CANCEL", "REVOKED")]
    other_id = uuid.uuid4()
    for rid, version, event, state in [
        *((record_id, *row) for row in raced),
        (other_id, 1, "NEW", "CURRENT"),
        (other_id, 2, "UPDATE", "CURRENT"),
    ]:
        StoredRecord.objects.create(
            **{
                f.attname: getattr(template, f.attname)
                for f in StoredRecord._meta.concrete_fields
                if f.attname not in ("id", "received_at")
            }
            | {"record_id": rid, "version": version, "event": event, "state": state}
        )
    migration("0004_record_heads").close_extra_current_versions(apps, None)

    def states(rid: uuid.UUID) -> list[str]:
        rows = StoredRecord.objects.filter(record_id=rid).order_by("version")
        return list(rows.values_list("state", flat=True))

    assert states(record_id) == ["SUPERSEDED", "REVOKED", "REVOKED"]
    assert states(other_id) == ["SUPERSEDED", "CURRENT"]
