"""Attack class: a failure at the warehouse stalls its queue or rejects records for good.

A warehouse processes the packages it received one after the other, oldest first, each in one
transaction. Whatever goes wrong with one of them, on the warehouse's side and not the
record's, must cost no more than that package and must never reject a record at the school:

- a valid record must never be refused by the database (every stored field holds what the
  record and package schemas allow: a district name of 250 characters, a school code of 20);
- a package whose processing fails every time (its stored copy lost, the database refusing
  its writes) is tried again later, waiting longer each time, while the packages after it are
  processed; after the configured attempts it is answered as a whole
  PACKAGE_PROCESSING_FAILED, which the school takes as "send again later";
- a record the database refuses fails alone (PROCESSING_FAILED) and the rest of its package
  goes in;
- the worker loops (`hocba warehouse work`) go on past a package that fails;
- at the school, an answer the warehouse documents as transient (PROCESSING_FAILED) or a
  package answered PACKAGE_PROCESSING_FAILED leaves the records waiting, sent again after a
  wait, never REJECTED, and every record ends accepted once the warehouse works again.

The database refuses rows through a trigger the test installs (as it refuses a row too long
for its column, or any write on a bad day), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import math
import os
import re._parser as regex_parser
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Model
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from lxml import etree

from hocba.exchange.client import HttpClient
from hocba.exchange.models import OutboxItem
from hocba.exchange.services import run_once
from hocba.formats import package as pkg
from hocba.formats import xsd_text
from hocba.signing import package as sealing
from hocba.warehouse.auth import Caller, create_account
from hocba.warehouse.models import Account, Ack, ReceivedPackage, SchoolCount, StoredRecord
from hocba.warehouse.services import MESSAGES, process, process_pending, receive
from tests.exchange.helpers import Fault, drive, outbox, proxied, received, states, stored
from tests.factories.database import school_account, school_with_outbox, seal_keeper
from tests.factories.records import CLIENT_ID, SCHOOL, Issuer, Keys, signed_records
from tests.warehouse.faults import refusing
from tests.warehouse.race import database_url

pytestmark = pytest.mark.django_db

ISSUER = Issuer("25000201", "2600100202", "25", "25")  # the demo's THCS Chu Văn An
SECRET = "a-long-enough-secret-for-tests"
XS = "{http://www.w3.org/2001/XMLSchema}"
TRANSIENT = ["PROCESSING_FAILED"]
"""The per-record codes docs/warehouse.md lists as transient."""


@pytest.fixture(scope="module")
def keys(demo) -> Keys:  # type: ignore[no-untyped-def]
    return Keys.load()


def account_for(issuer: Issuer, client_id: str = "kho-thu") -> Account:
    """A school account at this warehouse for `issuer`."""
    return create_account(
        client_id,
        SECRET,
        issuer.school_code,
        Account.Kind.SCHOOL,
        school_code=issuer.school_code,
        province_code=issuer.province_code,
        province_office_code=issuer.province_office_code,
        tax_code=issuer.tax_code,
    )


def received_package(
    keys: Keys,
    account: Account,
    entries: list[pkg.Entry],
    issuer: Issuer = ISSUER,
    counts: tuple[pkg.SchoolCount, ...] = (),
) -> ReceivedPackage:
    """A package of `entries` (and the school's `counts`) as the warehouse received it, not
    processed yet."""
    sender = pkg.Sender("TRUONG", issuer.school_code, issuer.tax_code)
    data = sealing.seal(pkg.build(sender, entries, list(counts)), keys.seal(issuer.tax_code))
    row, new = receive(Caller(account, account.scope_set), data, inline=False)
    assert new
    return row


def answers(row: ReceivedPackage) -> dict[str, tuple[str, str]]:
    row.refresh_from_db()
    return {a.record_id: (a.status, a.code) for a in row.acks.all()}


# --- every stored field holds what the schemas allow -----------------------------------------


def _declaration(schema: etree._Element, path: str) -> etree._Element:
    """`A/B` is element B of element A's sequence (A declared once anywhere); `A@X` is
    attribute X of element A."""
    elements, _, attribute = path.partition("@")
    node = schema
    for step, name in enumerate(elements.split("/")):
        where = ".//" if step == 0 else f"./{XS}complexType/{XS}sequence/"
        found = node.findall(f"{where}{XS}element[@name='{name}']")
        assert len(found) == 1, f"{path}: {len(found)} declarations of {name}"
        node = found[0]
    if attribute:
        found = node.findall(f".//{XS}attribute[@name='{attribute}']")
        assert len(found) == 1, path
        node = found[0]
    return node


def _restriction(schema: etree._Element, declaration: etree._Element) -> etree._Element | None:
    named = declaration.get("type") or declaration.get("base")
    if named is None:
        inline = declaration.find(f"{XS}simpleType/{XS}restriction")
        if inline is None:
            inline = declaration.find(f"{XS}simpleContent/{XS}restriction")
        return inline
    if named.startswith("xs:"):
        return None
    simple = schema.find(f"{XS}simpleType[@name='{named}']")
    assert simple is not None, named
    return simple.find(f"{XS}restriction")


def _facets(restriction: etree._Element, name: str) -> list[str]:
    return [f.get("value", "") for f in restriction.findall(f"{XS}{name}")]


def _pattern_width(pattern: str) -> float:
    widest = regex_parser.parse(pattern).getwidth()[1]
    return math.inf if widest >= 65535 else float(widest)


def longest_text(schema: etree._Element, path: str) -> float:
    """The most characters the schema lets the value at `path` have (inf: unbounded)."""
    restriction = _restriction(schema, _declaration(schema, path))
    if restriction is None:
        return math.inf
    for facet in ("length", "maxLength"):
        if values := _facets(restriction, facet):
            return float(min(int(v) for v in values))
    if patterns := _facets(restriction, "pattern"):
        return max(_pattern_width(p) for p in patterns)
    if values := _facets(restriction, "enumeration"):
        return float(max(len(v) for v in values))
    base = restriction.get("base", "")
    return math.inf if base.startswith("xs:") else longest_text(schema, path)


def largest_number(schema: etree._Element, path: str) -> float:
    """The largest whole number the schema lets the value at `path` be (inf: unbounded)."""
    restriction = _restriction(schema, _declaration(schema, path))
    if restriction is None:
        return math.inf
    if values := _facets(restriction, "maxInclusive"):
        return float(values[0])
    if patterns := _facets(restriction, "pattern"):
        return 10 ** max(_pattern_width(p) for p in patterns) - 1
    return math.inf


RECORD, PACKAGE = "record", "package"
STORED_FROM: list[tuple[type[Model], str, str, str]] = [
    (StoredRecord, "event", RECORD, "THONG_TIN_HOC_BA/SU_KIEN"),
    (StoredRecord, "version", RECORD, "THONG_TIN_HOC_BA/PHIEN_BAN"),
    (StoredRecord, "school_year", RECORD, "THONG_TIN_HOC_BA/NAM_HOC"),
    (StoredRecord, "province_code", RECORD, "TRUONG/MA_TINH"),
    (StoredRecord, "province_office_code", RECORD, "TRUONG/MA_SO_GD"),
    (StoredRecord, "district_name", RECORD, "TRUONG/TEN_HUYEN"),
    (StoredRecord, "school_code", RECORD, "TRUONG/MA_TRUONG"),
    (StoredRecord, "school_name", RECORD, "TRUONG/TEN_TRUONG"),
    (StoredRecord, "personal_id", RECORD, "HOC_SINH/SO_DINH_DANH"),
    (Ack, "record_id", PACKAGE, "HOC_BA@MA_DINH_DANH_HOC_BA"),
    (Ack, "version", PACKAGE, "HOC_BA@PHIEN_BAN"),
    (Ack, "school_code", RECORD, "TRUONG/MA_TRUONG"),
    (Ack, "province_code", RECORD, "TRUONG/MA_TINH"),
    (SchoolCount, "school_code", PACKAGE, "THONG_KE/TRUONG@MA_TRUONG"),
    (SchoolCount, "school_year", PACKAGE, "THONG_KE/TRUONG@NAM_HOC"),
    (SchoolCount, "students", PACKAGE, "THONG_KE/TRUONG@SO_HOC_SINH"),
    (SchoolCount, "created", PACKAGE, "THONG_KE/TRUONG@SO_HOC_BA_DA_TAO"),
    (SchoolCount, "issued", PACKAGE, "THONG_KE/TRUONG@SO_HOC_BA_DA_PHAT_HANH"),
    (SchoolCount, "district_name", RECORD, "TRUONG/TEN_HUYEN"),
    # a Sở's warehouse forwards what it accepted
    (OutboxItem, "event", RECORD, "THONG_TIN_HOC_BA/SU_KIEN"),
    (OutboxItem, "version", RECORD, "THONG_TIN_HOC_BA/PHIEN_BAN"),
    (OutboxItem, "school_code", RECORD, "TRUONG/MA_TRUONG"),
    (OutboxItem, "school_year", RECORD, "THONG_TIN_HOC_BA/NAM_HOC"),
]


@pytest.mark.parametrize(
    ("model", "field", "schema", "path"),
    STORED_FROM,
    ids=[f"{m.__name__}.{f}<-{p}" for m, f, _, p in STORED_FROM],
)
def test_every_stored_field_holds_whatever_the_schema_allows_in_what_it_is_read_from(
    model, field, schema, path
):
    text = xsd_text() if schema == RECORD else pkg.xsd_text()
    source = etree.fromstring(text.encode("utf-8"))
    column = model._meta.get_field(field)
    kind = column.get_internal_type()
    if kind in BaseDatabaseOperations.integer_field_ranges:
        most = BaseDatabaseOperations.integer_field_ranges[kind][1]
        allowed = largest_number(source, path)
        assert allowed <= most, f"{path} allows up to {allowed}, the column {most}"
    else:
        allowed = longest_text(source, path)
        assert allowed <= column.max_length, (
            f"{path} allows {allowed} characters, the column {column.max_length}"
        )


LONGEST_SCHOOL = Issuer("2500020100000000000A", "2600100299", "25", "25")
"""A school code of 20 characters (MA_TRUONG's longest)."""


@pytest.mark.parametrize("district_length", [151, 200, 250])
def test_a_valid_record_with_its_longest_fields_is_stored_as_written(keys, district_length):
    account = account_for(LONGEST_SCHOOL)
    district = ("Huyện Đoan Hùng " * 20)[:district_length]
    name = ("Trường Trung học cơ sở Thử Nghiệm Đất Tổ " * 5)[:150]
    record = keys.record(
        LONGEST_SCHOOL,
        version=999_999_999,
        event="UPDATE",
        school_changes={"district_name": district, "name": name},
    )
    row = received_package(keys, account, [record], LONGEST_SCHOOL)
    process(row.pk)
    row.refresh_from_db()
    assert (row.status, row.code) == (ReceivedPackage.Status.DONE, "")
    assert answers(row) == {record.record_id: ("ACCEPTED", "ACCEPTED")}
    kept = StoredRecord.objects.get(record_id=record.record_id)
    assert (kept.district_name, kept.school_name, kept.school_code, kept.version) == (
        district,
        name,
        LONGEST_SCHOOL.school_code,
        999_999_999,
    )


def test_a_package_declaring_a_version_no_record_can_have_is_refused_as_malformed(keys):
    account = account_for(ISSUER)
    record = keys.record(ISSUER)
    sender = pkg.Sender("TRUONG", ISSUER.school_code, ISSUER.tax_code)
    data = keys.package(sender, [pkg.Entry(record.record_id, 10**10, "NEW", record.content)])
    row, _ = receive(Caller(account, account.scope_set), data, inline=False)
    process(row.pk)
    row.refresh_from_db()
    assert (row.status, row.code) == (ReceivedPackage.Status.REJECTED, "PACKAGE_MALFORMED")
    assert not row.acks.exists()


# --- one package that fails every time ---------------------------------------------------------


@pytest.fixture
def patient(settings):  # type: ignore[no-untyped-def]
    """Three attempts; the waits are long enough that a slow machine's pass over the queue
    never outlasts one (a test ends a wait with `wait_over`)."""
    settings.WAREHOUSE_PROCESSING_ATTEMPTS = 3
    settings.WAREHOUSE_RETRY_SECONDS = 30
    return settings


@contextlib.contextmanager
def copy_lost(row: ReceivedPackage) -> Iterator[None]:
    default_storage.delete(row.storage_name)
    yield


def acknowledgements_refused(row: ReceivedPackage) -> contextlib.AbstractContextManager[None]:
    return refusing("warehouse_ack", "package_id", row.pk)


COUNTS_YEAR = "2040-2041"
"""The school year of the counts the failing package carries (a year nothing else reports)."""


def counts_refused(row: ReceivedPackage) -> contextlib.AbstractContextManager[None]:
    return refusing("warehouse_schoolcount", "school_year", COUNTS_YEAR)


BREAKS: dict[str, Callable[[ReceivedPackage], contextlib.AbstractContextManager[None]]] = {
    "its stored copy lost": copy_lost,
    "its acknowledgements refused by the database": acknowledgements_refused,
    "its schools' counts refused by the database": counts_refused,
}


def wait_over(row: ReceivedPackage) -> None:
    """The time `row` waits before its next attempt has passed."""
    ReceivedPackage.objects.filter(pk=row.pk, next_attempt_at__gt=timezone.now()).update(
        next_attempt_at=timezone.now()
    )


def processed_until_answered(row: ReceivedPackage, seconds: float = 20.0) -> int:
    """Run the workers' loop, as often as it takes, until `row` is answered; how many packages
    the runs took."""
    taken = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        wait_over(row)
        taken += process_pending()
        row.refresh_from_db()
        if row.status != ReceivedPackage.Status.RECEIVED:
            return taken
        time.sleep(0.05)
    raise AssertionError(f"package still {row.status} after {row.attempts} attempts")


@pytest.mark.parametrize("breaking", BREAKS.values(), ids=BREAKS.keys())
def test_a_package_that_fails_every_time_does_not_hold_up_the_packages_after_it(
    keys, patient, client, breaking
):
    account = account_for(ISSUER)
    bad_records = [keys.record(ISSUER) for _ in range(2)]
    counts = (pkg.SchoolCount(ISSUER.school_code, COUNTS_YEAR, 40, 40, 40),)
    bad = received_package(keys, account, bad_records, counts=counts)  # the oldest: first
    later = [received_package(keys, account, [keys.record(ISSUER)]) for _ in range(3)]
    with breaking(bad):
        assert process_pending() == 1 + len(later)
        for row in later:
            assert set(answers(row).values()) == {("ACCEPTED", "ACCEPTED")}
        bad.refresh_from_db()
        assert (bad.status, bad.attempts) == (ReceivedPackage.Status.RECEIVED, 1)
        assert bad.next_attempt_at is not None and bad.next_attempt_at > timezone.now()
        # not tried again before its wait is over, and the queue goes on meanwhile
        again = received_package(keys, account, [keys.record(ISSUER)])
        assert process_pending() == 1
        assert set(answers(again).values()) == {("ACCEPTED", "ACCEPTED")}
        assert processed_until_answered(bad) == 2
    bad.refresh_from_db()
    assert (bad.status, bad.code, bad.attempts) == ("REJECTED", "PACKAGE_PROCESSING_FAILED", 3)
    assert not bad.acks.exists()
    assert not StoredRecord.objects.filter(record_id__in=[r.record_id for r in bad_records])
    # the sender reads a package-level code and a Vietnamese message, nothing of the error
    patient.WAREHOUSE_ENABLED = True
    token = client.post(
        "/api/v1/warehouse/oauth/token",
        {"grant_type": "client_credentials", "client_id": "kho-thu", "client_secret": SECRET},
    ).json()["access_token"]
    status = client.get(
        f"/api/v1/warehouse/packages/{bad.package_id}", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    assert (status["status"], status["code"]) == ("REJECTED", "PACKAGE_PROCESSING_FAILED")
    assert status["message"] == MESSAGES["PACKAGE_PROCESSING_FAILED"]
    assert "Error" not in status["message"] and "refused" not in status["message"]


def test_a_package_whose_attempts_ended_its_workers_is_answered_when_they_are_used_up(
    keys, patient
):
    """Each attempt is counted before it begins: a package that kills the worker processing
    it (and so never records its failure) still runs out of attempts."""
    account = account_for(ISSUER)
    row = received_package(keys, account, [keys.record(ISSUER)])
    ReceivedPackage.objects.filter(pk=row.pk).update(attempts=3, next_attempt_at=None)
    assert process_pending() == 1
    row.refresh_from_db()
    assert (row.status, row.code) == ("REJECTED", "PACKAGE_PROCESSING_FAILED")


def test_the_worker_command_goes_on_past_a_package_that_fails(keys, patient):
    account = account_for(ISSUER)
    bad = received_package(keys, account, [keys.record(ISSUER)])
    later = [received_package(keys, account, [keys.record(ISSUER)]) for _ in range(2)]
    default_storage.delete(bad.storage_name)
    call_command("warehouse", "work", "--once")
    for row in later:
        assert set(answers(row).values()) == {("ACCEPTED", "ACCEPTED")}
    bad.refresh_from_db()
    assert (bad.status, bad.attempts) == (ReceivedPackage.Status.RECEIVED, 1)
    assert "BLOB_MISSING" in bad.last_error  # the stored package is gone, and named so


# --- one record the database refuses ----------------------------------------------------------


def test_a_record_the_database_refuses_fails_alone_and_the_rest_of_its_package_goes_in(keys):
    account = account_for(ISSUER)
    records = [keys.record(ISSUER) for _ in range(4)]
    refused = records[1]
    row = received_package(keys, account, records)
    with refusing("warehouse_storedrecord", "xml_sha256", refused.sha256):
        process(row.pk)
    row.refresh_from_db()
    assert row.status == ReceivedPackage.Status.DONE
    got = answers(row)
    assert got.pop(refused.record_id) == ("REJECTED", "PROCESSING_FAILED")
    assert set(got.values()) == {("ACCEPTED", "ACCEPTED")}
    assert StoredRecord.objects.filter(record_id__in=list(got)).count() == 3
    assert not StoredRecord.objects.filter(record_id=refused.record_id).exists()


# --- `hocba warehouse work`, a process of its own (PostgreSQL: it sees what is committed) ------


@dataclass
class CommandRun:
    later: list[tuple[str, list[tuple[str, str]]]]
    """Each later package's status and answers."""
    bad: tuple[str, str, int]
    """The failing package's status, code and attempts."""
    alive: bool
    output: str


@pytest.fixture(scope="module")
def command_run(keys, django_db_blocker, tmp_path_factory) -> Iterator[CommandRun]:  # type: ignore[no-untyped-def]
    """`hocba warehouse work` started over committed packages: one whose stored copy is lost,
    received first, then good ones; watched until it has answered them all."""
    if connection.vendor != "postgresql":
        pytest.skip("the command's own process sees only a PostgreSQL test database")
    log = tmp_path_factory.mktemp("work") / "work.log"
    with django_db_blocker.unblock():
        account = account_for(ISSUER, client_id="kho-thu-lenh")
        bad = received_package(keys, account, [keys.record(ISSUER)])
        later = [received_package(keys, account, [keys.record(ISSUER)]) for _ in range(3)]
        default_storage.delete(bad.storage_name)
        rows = [bad, *later]
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("HOCBA_UPSTREAM_URL", "HOCBA_WAREHOUSE_CODE", "HOCBA_S3_BUCKET")
        }
        env.update(
            DJANGO_SETTINGS_MODULE="hocba.config.settings",
            DATABASE_URL=database_url(dict(connection.settings_dict)),
            HOCBA_DATA_DIR=str(django_settings.DATA_DIR),
            HOCBA_WAREHOUSE_ATTEMPTS="2",
            HOCBA_WAREHOUSE_RETRY_SECONDS="0.5",
        )
        hocba = str(Path(sys.executable).parent / "hocba")
        with log.open("wb") as out:
            worker = subprocess.Popen(
                [hocba, "warehouse", "work"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and worker.poll() is None:
                waiting = ReceivedPackage.objects.filter(
                    pk__in=[r.pk for r in rows], status=ReceivedPackage.Status.RECEIVED
                )
                if not waiting.exists():
                    break
                time.sleep(0.2)
            time.sleep(1.5)  # a few more turns of its loop
            alive = worker.poll() is None
        finally:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        for row in rows:
            row.refresh_from_db()
        run = CommandRun(
            later=[
                (r.status, [(a.status, a.code) for a in r.acks.order_by("position")]) for r in later
            ],
            bad=(bad.status, bad.code, getattr(bad, "attempts", 0)),
            alive=alive,
            output=log.read_text(errors="replace")[-3000:],
        )
        try:
            yield run
        finally:
            ids = [a.record_id for r in rows for a in r.acks.all()]
            StoredRecord.objects.filter(record_id__in=ids).delete()
            ReceivedPackage.objects.filter(pk__in=[r.pk for r in rows]).delete()
            DBTaskResult.objects.all().delete()  # what the command queued and ran
            account.delete()


def test_hocba_warehouse_work_processes_the_packages_after_one_that_fails(command_run):
    assert command_run.later == [("DONE", [("ACCEPTED", "ACCEPTED")])] * 3, command_run.output


def test_hocba_warehouse_work_answers_the_failing_package_and_keeps_running(command_run):
    assert command_run.bad == ("REJECTED", "PACKAGE_PROCESSING_FAILED", 2), command_run.output
    assert command_run.alive, command_run.output


# --- the school's side: a warehouse failure never rejects a record ------------------------------

RECORDS = 12


@pytest.fixture
def warehouse(live_server, settings):  # type: ignore[no-untyped-def]
    settings.WAREHOUSE_ENABLED = True
    return live_server.url


@pytest.fixture
def http():  # type: ignore[no-untyped-def]
    opened: list[HttpClient] = []

    def _client(base: str) -> HttpClient:
        opened.append(HttpClient(f"{base}/api/v1/warehouse"))
        return opened[-1]

    yield _client
    for each in opened:
        each.close()


def never_rejected() -> None:
    assert not outbox().filter(state="REJECTED").exists(), states()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("code", TRANSIENT)
def test_a_record_answered_with_a_transient_code_is_sent_again_after_a_wait(warehouse, http, code):
    school_with_outbox(signed_records(RECORDS))
    school_account()
    answered: list[str] = []

    def fail_first(body: dict) -> dict:
        if body.get("status") == "DONE" and body["acks"] and not answered:
            first = body["acks"][0]
            answered.append(first["record_id"])
            first.update(status="REJECTED", code=code, message=MESSAGES[code])
        return body

    with contextlib.contextmanager(proxied)(warehouse) as proxy:
        proxy.plan(Fault(rewrite=fail_first), method="GET", path="/packages/")
        sender = http(proxy.url)
        now = timezone.now()
        for _ in range(3):  # pack, submit, poll: the warehouse's answers are in
            run_once(sender, now=now)
        never_rejected()
        waiting = outbox().get(record_id=answered[0])
        assert (waiting.state, waiting.code) == ("PENDING", code)
        assert waiting.next_attempt_at is not None and waiting.next_attempt_at > now
        assert states() == {"ACCEPTED": RECORDS - 1, "PENDING": 1}
        # not sent again before its wait is over
        assert run_once(sender, now=now).packed == 0
        drive(sender, after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    again = outbox().get(record_id=answered[0])
    assert again.sends == 2 and again.code == "DUPLICATE"  # the warehouse kept it once
    assert stored().count() == RECORDS


@pytest.mark.django_db(transaction=True)
def test_a_record_the_warehouse_failed_to_store_waits_and_is_accepted_once_it_can(warehouse, http):
    contents = signed_records(RECORDS)
    school_with_outbox(contents)
    school_account()
    refused = contents[3]
    sender = http(warehouse)
    digest = pkg.Entry("", 1, "NEW", refused).sha256
    with refusing("warehouse_storedrecord", "xml_sha256", digest):
        drive(sender, rounds=3, until=lambda: False, after_round=never_rejected)
        assert states() == {"ACCEPTED": RECORDS - 1, "PENDING": 1}
        waiting = outbox().get(state="PENDING")
        assert waiting.code == "PROCESSING_FAILED" and waiting.xml_sha256 == digest
    drive(sender, after_round=never_rejected)  # the warehouse works again
    assert states() == {"ACCEPTED": RECORDS}
    assert stored().count() == RECORDS
    assert Ack.objects.filter(
        package__account__client_id=CLIENT_ID, code="PROCESSING_FAILED"
    ).exists()


@pytest.mark.django_db(transaction=True)
def test_a_package_the_warehouse_gave_up_on_is_sent_again_never_rejected(warehouse, http, settings):
    settings.WAREHOUSE_PROCESSING_ATTEMPTS = 1
    school = school_with_outbox(signed_records(RECORDS))
    school_account()
    sender = http(warehouse)
    with refusing("warehouse_ack", "school_code", SCHOOL):
        drive(sender, rounds=3, until=lambda: False, after_round=never_rejected)
        assert set(received().values_list("code", flat=True)) == {"PACKAGE_PROCESSING_FAILED"}
        assert states() == {"PENDING": RECORDS}
        assert set(outbox().values_list("code", flat=True)) == {"PACKAGE_PROCESSING_FAILED"}
        browser = Client()
        browser.force_login(seal_keeper(school))
        text = browser.get(f"/exchange/schools/{SCHOOL}/").content.decode()
        assert "Kho học bạ không xử lý được gói tin (lỗi phía kho" in text
        assert "Không có học bạ nào bị từ chối" in text
    drive(sender, after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    assert stored().count() == RECORDS
