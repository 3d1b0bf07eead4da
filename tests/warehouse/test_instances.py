"""Three instances on loopback — a school, the Sở's warehouse, the Ministry's warehouse — each
with its own `hocba` processes (a web server; at the warehouses, `hocba worker` too) and its own
database, talking HTTP. The Sở's warehouse is killed in the middle of the school's submissions
and the school's worker (which sends) is killed too; both are started again, and every issued
record ends accepted exactly once at the Sở and at the Ministry, with the counts agreeing in
`hocba warehouse stats`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.processes import HOCBA, Processes, clean_env, free_port, query, run, wait_for

pytestmark = pytest.mark.instances

SECRET = "loopback-secret-0123456789"
SO_TAX = "2600999999"
SO_CODE = "25"


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    yield group
    group.stop_all()


def serve(processes: Processes, name: str, env: dict[str, str], port: int) -> None:
    processes.start(name, env, "runserver", f"127.0.0.1:{port}", "--noreload")
    url = f"http://127.0.0.1:{port}/api/v1/openapi.json"

    def up() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(f"{name} to listen", up, timeout=60)


def test_school_to_province_to_ministry_survives_killed_processes(tmp_path, processes):
    school_dir, so_dir, bo_dir = tmp_path / "truong", tmp_path / "so", tmp_path / "bo"
    so_port, bo_port = free_port(), free_port()
    for folder in (school_dir, so_dir, bo_dir):
        folder.mkdir()
    pki = school_dir / "pki"
    trust = {
        "HOCBA_TRUST_ANCHORS": str(pki / "ca" / "root.pem"),
        "HOCBA_TRUST_INTERMEDIATES": str(pki / "ca" / "issuing.pem"),
        "HOCBA_CRLS": str(pki / "crl" / "issuing.crl"),
        "HOCBA_OCSP": "0",
    }
    school = clean_env(
        school_dir,
        HOCBA_UPSTREAM_URL=f"http://127.0.0.1:{so_port}/api/v1/warehouse",
        HOCBA_PACKAGE_RECORDS="2",
        HOCBA_BACKOFF_SECONDS="0.3",
    )
    so = clean_env(
        so_dir,
        HOCBA_WAREHOUSE="1",
        HOCBA_WAREHOUSE_CODE=SO_CODE,
        HOCBA_UPSTREAM_URL=f"http://127.0.0.1:{bo_port}/api/v1/warehouse",
        HOCBA_UPSTREAM_CLIENT_ID=f"so-{SO_CODE}",
        HOCBA_UPSTREAM_CLIENT_SECRET=SECRET,
        HOCBA_BACKOFF_SECONDS="0.3",
        **trust,
    )
    bo = clean_env(bo_dir, HOCBA_WAREHOUSE="1", **trust)

    migrations = [subprocess.Popen([HOCBA, "migrate", "-v0"], env=env) for env in (school, so, bo)]
    assert all(p.wait(timeout=300) == 0 for p in migrations)
    run(school, "demo", "--students-per-school", "6")
    schools = json.loads(
        run(
            school,
            "shell",
            "-v0",
            "-c",
            "import json; from hocba.organizations.models import School; "
            "print(json.dumps([[s.code, s.province_code, s.province_office.code, s.tax_code] "
            "for s in School.objects.order_by('code')]))",
        )
    )
    issued = {
        (r.replace("-", ""), v)
        for r, v in query(
            school_dir,
            "select r.record_id, v.version from records_recordversion v "
            "join records_record r on r.id = v.record_id "
            "where v.state in ('ISSUED', 'SUPERSEDED', 'REVOKED')",
        )
    }
    assert len(issued) >= 8
    assert query(school_dir, "select count(*) from exchange_outboxitem where state='PENDING'") == [
        (len(issued),)
    ]

    # the Sở's seal, its accounts at the Ministry, the schools' accounts at the Sở
    so_p12 = run(school, "pki", "issue-org", SO_TAX, "Sở Giáo dục và Đào tạo Phú Thọ").strip()
    pin = json.loads((pki / "pki.json").read_text())["pin"]
    so.update(HOCBA_UPSTREAM_P12=so_p12, HOCBA_UPSTREAM_P12_PASSWORD=pin)
    account = dict(HOCBA_ACCOUNT_SECRET=SECRET)
    run(
        bo | account, "warehouse", "account", "add", f"so-{SO_CODE}", "--kind", "province",
        "--name", "Sở GDĐT Phú Thọ", "--province", SO_CODE, "--office", SO_CODE,
        "--tax-code", SO_TAX,
    )  # fmt: skip
    for code, province, office, tax in schools:
        run(
            so | account, "warehouse", "account", "add", f"truong-{code}", "--kind", "school",
            "--name", code, "--school", code, "--province", province, "--office", office,
            "--tax-code", tax,
        )  # fmt: skip
        run(
            school | {"HOCBA_UPSTREAM_CLIENT_SECRET": SECRET},
            "exchange", "credential", code, f"truong-{code}",
        )  # fmt: skip

    serve(processes, "bo", bo, bo_port)
    serve(processes, "so", so, so_port)
    # each instance's `hocba worker` runs its tasks: the rounds of sending that issuing (at the
    # school) and accepting (at the Sở, to forward) enqueued, and the processing of packages
    processes.start("bo-worker", bo, "worker", "--interval", "0.3")
    processes.start("so-worker", so, "worker", "--interval", "0.3")
    processes.start("school-worker", school, "worker", "--interval", "0.3")

    # kill the Sở's warehouse as soon as it holds a first package, then the school's worker
    wait_for(
        "a first package at the Sở",
        lambda: query(so_dir, "select count(*) from warehouse_receivedpackage")[0][0] >= 1,
    )
    processes.kill("so")
    time.sleep(1.0)
    processes.kill("school-worker")
    left = query(school_dir, "select count(*) from exchange_outboxitem where state!='ACCEPTED'")
    assert left[0][0] > 0, "the crash came too late to matter"
    serve(processes, "so", so, so_port)
    processes.start("school-worker", school, "worker", "--interval", "0.3")

    def everything_answered() -> bool:
        school_left = query(
            school_dir, "select count(*) from exchange_outboxitem where state!='ACCEPTED'"
        )[0][0]
        at_bo = query(bo_dir, "select count(*) from warehouse_storedrecord")[0][0]
        forwarded_left = query(
            so_dir, "select count(*) from exchange_outboxitem where state!='ACCEPTED'"
        )[0][0]
        return school_left == 0 and at_bo == len(issued) and forwarded_left == 0

    wait_for("every record at the Ministry", everything_answered, timeout=180)

    # exactly once, everywhere
    outbox = query(school_dir, "select state, sends from exchange_outboxitem")
    assert len(outbox) == len(issued)
    assert {row for row in outbox} == {("ACCEPTED", 1)}
    for data in (so_dir, bo_dir):
        stored = query(data, "select record_id, version from warehouse_storedrecord")
        assert {(r.replace("-", ""), v) for r, v in stored} == issued
        accepted = query(
            data, "select count(*) from warehouse_ack where status='ACCEPTED' and code='ACCEPTED'"
        )
        assert accepted == [(len(issued),)]
        assert query(data, "select count(*) from warehouse_ack where status='REJECTED'") == [(0,)]
    forwarded = query(so_dir, "select state from exchange_outboxitem")
    assert forwarded == [("ACCEPTED",)] * len(issued)

    school_stats = json.loads(run(school, "warehouse", "stats", "--json"))
    bo_stats = json.loads(run(bo, "warehouse", "stats", "--json"))
    so_stats = json.loads(run(so, "warehouse", "stats", "--json"))
    assert school_stats["side"] == "school" and bo_stats["side"] == "warehouse"
    total = school_stats["rows"][0]
    assert total["issued"] == total["sent"] == total["accepted"] == len(issued)
    assert so_stats["rows"][0]["accepted"] == bo_stats["rows"][0]["accepted"] == len(issued)
    for column in ("expected", "created", "issued"):
        assert so_stats["rows"][0][column] == bo_stats["rows"][0][column] == total[column]
