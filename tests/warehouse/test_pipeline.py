"""The warehouse's validation pipeline: every issued demo record accepted once, and every kind
of bad record or package refused with its own code while the rest of the package goes in."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.core.management import call_command

from hocba.exchange.models import OutboxItem
from hocba.records.models import RecordVersion, State
from hocba.warehouse.models import Account, Ack, ReceivedPackage, StoredRecord
from hocba.warehouse.services import process, receive
from tests.factories.database import caller, entry, issued, sealed

pytestmark = pytest.mark.django_db

TH, THCS, THPT = "25000101", "25000201", "25000301"


def submit(client_id: str, data: bytes) -> ReceivedPackage:
    row, _ = receive(caller(client_id), data, inline=False)
    process(row.pk)
    row.refresh_from_db()
    return row


def answers(row: ReceivedPackage) -> dict[str, tuple[str, str]]:
    return {a.record_id: (a.status, a.code) for a in row.acks.all()}


def test_every_issued_demo_record_reached_the_warehouse_once(demo):
    versions = RecordVersion.objects.filter(
        state__in=(State.ISSUED, State.SUPERSEDED, State.REVOKED)
    )
    assert versions.exists()
    items = OutboxItem.objects.all()
    assert items.count() == versions.count()
    assert set(items.values_list("state", flat=True)) == {OutboxItem.State.ACCEPTED}
    stored = {(str(r), v) for r, v in StoredRecord.objects.values_list("record_id", "version")}
    assert stored == {(str(v.record.record_id), v.version) for v in versions}


def test_the_school_and_the_warehouse_count_the_same(demo, capsys):
    call_command("warehouse", "stats", "--json", "--side", "school")
    school = json.loads(capsys.readouterr().out)["rows"]
    call_command("warehouse", "stats", "--json", "--side", "warehouse")
    warehouse = json.loads(capsys.readouterr().out)["rows"]
    by_code = {r["code"]: r for r in warehouse if r["level"] == "SCHOOL"}
    schools = [r for r in school if r["level"] == "SCHOOL"]
    assert len(schools) == 4
    for row in schools:
        there = by_code[row["code"]]
        assert row["issued"] > 0
        for name in ("expected", "created", "issued", "sent", "accepted"):
            assert there[name] == row[name], (row["code"], name)
        assert row["sent"] == row["accepted"] == row["issued"]
    total = school[0]
    assert total["level"] == "MINISTRY"
    assert total["accepted"] == sum(r["accepted"] for r in schools)


def test_each_bad_record_gets_its_own_code_and_the_others_go_in(demo):
    fresh, tampered, duplicate, stale = issued(THCS)[:4]
    # a record the warehouse does not hold yet
    StoredRecord.objects.filter(record_id=fresh.record.record_id).delete()
    # the warehouse already holds a later version of `stale`
    newer = StoredRecord.objects.get(record_id=stale.record.record_id)
    StoredRecord.objects.filter(pk=newer.pk).update(version=stale.version + 1)
    original = entry(tampered).content
    score = re.search(rb"<DIEM_CA_NAM>([0-9])\.([0-9])</DIEM_CA_NAM>", original)
    assert score is not None
    other = b"9" if score.group(1) != b"9" else b"8"
    changed = original.replace(
        score.group(0), b"<DIEM_CA_NAM>" + other + b"." + score.group(2) + b"</DIEM_CA_NAM>", 1
    )
    other_school = issued(THPT)[0]
    broken_id = str(uuid.uuid4())
    from hocba.formats.package import Entry

    entries = [
        entry(fresh),
        entry(tampered, changed),
        entry(duplicate),
        entry(stale),
        entry(other_school),
        Entry(broken_id, 1, "NEW", b"<HOC_BA xmlns='urn:hocba:xml:1'><DU_LIEU"),
    ]
    row = submit(f"truong-{THCS}", sealed(THCS, entries))
    assert row.status == ReceivedPackage.Status.DONE
    got = answers(row)
    assert got[str(fresh.record.record_id)] == ("ACCEPTED", "ACCEPTED")
    assert got[str(tampered.record.record_id)] == ("REJECTED", "SIGNATURE_INVALID")
    assert got[str(duplicate.record.record_id)] == ("ACCEPTED", "DUPLICATE")
    assert got[str(stale.record.record_id)] == ("REJECTED", "STALE_VERSION")
    assert got[str(other_school.record.record_id)] == ("REJECTED", "SCHOOL_MISMATCH")
    assert got[broken_id] == ("REJECTED", "XML_MALFORMED")
    assert all(a.message for a in row.acks.all())
    assert StoredRecord.objects.filter(record_id=fresh.record.record_id).count() == 1
    # nothing about the refused ones changed
    assert StoredRecord.objects.get(record_id=stale.record.record_id).version == stale.version + 1
    assert not StoredRecord.objects.filter(record_id=broken_id).exists()


def test_a_package_sealed_with_another_schools_key_is_refused_whole(demo):
    version = issued(THCS)[0]
    StoredRecord.objects.filter(record_id=version.record.record_id).delete()
    row = submit(f"truong-{THCS}", sealed(THCS, [entry(version)], key_of=THPT))
    assert row.status == ReceivedPackage.Status.REJECTED
    assert row.code == "PACKAGE_NOT_SEALED_BY_SENDER"
    assert not row.acks.exists()
    assert not StoredRecord.objects.filter(record_id=version.record.record_id).exists()


def test_a_package_declaring_another_sender_is_refused(demo):
    version = issued(THCS)[0]
    row = submit(f"truong-{TH}", sealed(THCS, [entry(version)]))
    assert row.status == ReceivedPackage.Status.REJECTED
    assert row.code in ("PACKAGE_NOT_SEALED_BY_SENDER", "PACKAGE_SENDER_MISMATCH")


def test_a_school_without_an_account_is_unknown_to_the_provincial_warehouse(demo):
    """A Sở forwarding upward (province account) may only carry schools its warehouse knows."""
    from hocba.warehouse.auth import create_account

    version = issued(THCS)[0]
    StoredRecord.objects.filter(record_id=version.record.record_id).delete()
    Account.objects.filter(school_code=THCS).update(school_code="99999999", active=False)
    create_account(
        "so-25",
        "a-long-enough-secret-for-tests",
        "Sở GDĐT Phú Thọ",
        Account.Kind.PROVINCE,
        province_code="25",
        province_office_code="25",
        tax_code=version.record.school.tax_code,  # sealed with a key of that tax code
    )
    from hocba.formats import package as pkg
    from hocba.signing import package as sealing
    from hocba.signing.dev.tokens import org_label, token_signer

    school = version.record.school
    signer = token_signer(school, org_label(school))
    data = sealing.seal(
        pkg.build(pkg.Sender("SO", "25", school.tax_code), [entry(version)]), signer
    )
    signer.close()
    row = submit("so-25", data)
    assert row.status == ReceivedPackage.Status.DONE, row.code
    assert answers(row)[str(version.record.record_id)] == ("REJECTED", "UNKNOWN_SCHOOL")


def test_submitting_the_same_package_twice_keeps_one(demo):
    version = issued(TH)[0]
    StoredRecord.objects.filter(record_id=version.record.record_id).delete()
    data = sealed(TH, [entry(version)])
    first, new = receive(caller(f"truong-{TH}"), data, inline=False)
    again, new_again = receive(caller(f"truong-{TH}"), data, inline=False)
    assert new and not new_again and first.pk == again.pk
    process(first.pk)
    process(first.pk)  # a second worker arriving late finds nothing to do
    assert Ack.objects.filter(package=first).count() == 1
    assert StoredRecord.objects.filter(record_id=version.record.record_id).count() == 1


def test_the_embedded_warehouse_processes_a_failed_package_again_once_it_is_due(demo, settings):
    """Embedded, no worker processes packages: asking for the answers makes the attempt that
    is due."""
    import time

    from hocba.exchange.services import set_credential
    from hocba.warehouse.embedded import EmbeddedClient
    from tests.warehouse.faults import refusing

    settings.WAREHOUSE_RETRY_SECONDS = 0.3
    version = issued(TH)[0]
    StoredRecord.objects.filter(record_id=version.record.record_id).delete()
    account = Account.objects.get(client_id=f"truong-{TH}")
    set_credential(TH, account.client_id, "")
    client = EmbeddedClient()
    with refusing("warehouse_ack", "school_code", TH):
        receipt = client.submit(TH, sealed(TH, [entry(version)]))
        assert receipt["status"] == "RECEIVED"
        assert client.status(TH, receipt["package_id"])["status"] == "RECEIVED"  # not yet due
    row = ReceivedPackage.objects.get(package_id=receipt["package_id"])
    assert row.attempts == 1 and row.last_error
    time.sleep(0.4)
    answer = client.status(TH, receipt["package_id"])
    assert answer["status"] == "DONE"
    assert [(a["status"], a["code"]) for a in answer["acks"]] == [("ACCEPTED", "ACCEPTED")]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HOCBA_WAREHOUSE_ATTEMPTS", "0"),
        ("HOCBA_WAREHOUSE_ATTEMPTS", "2.5"),
        ("HOCBA_WAREHOUSE_RETRY_SECONDS", "-1"),
        ("HOCBA_WAREHOUSE_RETRY_SECONDS", "nan"),
    ],
)
def test_a_warehouse_does_not_start_with_retries_it_cannot_make(tmp_path, variable, value):
    """No attempts would answer every package PACKAGE_PROCESSING_FAILED unread; no wait would
    retry a failing package without pause."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    environment = {**os.environ, "HOCBA_DATA_DIR": str(tmp_path), variable: value}
    environment.pop("DATABASE_URL", None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "hocba"), "check"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("hocba: CONFIG_INVALID:") and variable in done.stderr
