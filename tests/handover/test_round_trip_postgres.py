"""The demo handed over from SQLite to an empty PostgreSQL instance: every table the same, every
record verifies there as here, the audit chain intact and going on, and exports deterministic.

The PostgreSQL server is the suite's (`HOCBA_TEST_DATABASE_URL`, started by scripts/test), or a
throw-away one this test starts the same way; without PostgreSQL the test is skipped (it fails
under CI=true). It runs once, in the SQLite run: the source is the demo on SQLite."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from hocba.handover import services, tables
from tests.conftest import IN_CI
from tests.handover.conftest import hocba, trusting_env
from tests.processes import free_port

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "sqlite" not in settings.DATABASES["default"]["ENGINE"],
        reason="the round trip runs once, in the SQLite run (its source is SQLite)",
    ),
]

VERIFY_ALL = """
import json
from hocba.records.models import RecordVersion
from hocba.records.services import read_xml
from hocba.signing import config
from hocba.signing.revocation import RevocationChecker
from hocba.signing.verify import Verifier
from django.conf import settings
verifier = Verifier(config.trust_store(), RevocationChecker.from_files(
    [str(p) for p in settings.CRLS], use_ocsp=False))
print(json.dumps({v.pk: str(verifier.verify(read_xml(v)).verdict)
                  for v in RecordVersion.objects.order_by("pk")}))
"""


def _unavailable(why: str) -> None:
    if IN_CI:
        pytest.fail(f"CI: {why}")
    pytest.skip(why)


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server (without a database name)."""
    suite = os.environ.get("HOCBA_TEST_DATABASE_URL")
    if suite:
        yield suite.rsplit("/", 1)[0]
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _unavailable("PostgreSQL is not installed")
    pgbin = Path(found[-1]).parent
    home = Path(tempfile.mkdtemp(prefix="hocba-handover-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    port = free_port()
    initdb = [str(pgbin / "initdb"), "-D", f"{home}/data", "-U", "postgres", "-A", "trust"]
    options = f"-h 127.0.0.1 -p {port} -k {home} -c fsync=off -c synchronous_commit=off"
    start = [str(pgbin / "pg_ctl"), "-D", f"{home}/data", "-l", f"{home}/log", "-w"]
    try:
        subprocess.run(
            _as_postgres([*initdb, "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True,
            capture_output=True,
        )
        subprocess.run(_as_postgres([*start, "-o", options, "start"]), check=True)
    except (subprocess.CalledProcessError, OSError) as error:
        shutil.rmtree(home, ignore_errors=True)
        _unavailable(f"PostgreSQL could not be started: {error}")
    try:
        yield f"postgres://postgres@127.0.0.1:{port}"
    finally:
        stop = [str(pgbin / "pg_ctl"), "-D", f"{home}/data", "-m", "immediate", "stop"]
        subprocess.run(_as_postgres(stop), check=False, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def empty_postgres(postgres_server: str) -> Iterator[str]:
    import psycopg

    name = f"hocba_handover_{os.getpid()}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _lines(path: Path) -> list[str]:
    """A table file's rows, one JSON line each."""
    return [line.rstrip(",") for line in path.read_text().split("\n")[1:-2]]


def test_the_demo_handed_over_from_sqlite_to_an_empty_postgresql_is_the_same_instance(
    demo: object, empty_postgres: str, tmp_path: Path
) -> None:
    from hocba.records.models import RecordVersion
    from hocba.records.services import read_xml
    from hocba.signing import config
    from hocba.signing.revocation import RevocationChecker
    from hocba.signing.verify import Verifier

    source, again = tmp_path / "source", tmp_path / "again"
    with transaction.atomic():
        services.export_instance(source)
        services.export_instance(again)
        transaction.set_rollback(True)
    # a second export of the same instance: the same manifest, the same seal
    for name in (services.MANIFEST, services.SIGNATURE):
        assert (source / name).read_bytes() == (again / name).read_bytes()

    data = tmp_path / "postgres-instance"
    env = trusting_env(data, DATABASE_URL=empty_postgres)
    for args in (["migrate", "-v0"], ["handover", "import", str(source)], ["audit", "verify"]):
        done = hocba(env, *args)
        assert done.returncode == 0, f"hocba {' '.join(args)}: {done.stdout}{done.stderr}"

    # every table the same, row for row and byte for byte, exported from PostgreSQL
    back = tmp_path / "back"
    done = hocba(env, "handover", "export", str(back))
    assert done.returncode == 0, done.stderr
    audit = {"tables/audit.auditevent.json", "tables/audit.audithead.json"}
    for model in tables.carried_models():
        name = tables.file_of(model)
        if name not in audit:
            assert _lines(back / name) == _lines(source / name), name
    for name in ("files.json", "schema.json"):
        assert (back / name).read_bytes() == (source / name).read_bytes(), name
    assert sorted(p.name for p in (back / "files").iterdir()) == sorted(
        p.name for p in (source / "files").iterdir()
    )
    # the chain went on from the imported head: the import, then the new export
    before = _lines(source / "tables/audit.auditevent.json")
    after = _lines(back / "tables/audit.auditevent.json")
    assert after[: len(before)] == before
    added = [json.loads(line) for line in after[len(before) :]]
    assert [e["action"] for e in added] == ["handover.import", "handover.export"]
    assert added[0]["prev_hash"] == json.loads(before[-1])["hash"]
    assert added[0]["id"] == json.loads(before[-1])["id"] + 1

    # every record verifies there as it does here
    crls = [str(Path(settings.DATA_DIR) / "pki" / "crl" / "issuing.crl")]
    verifier = Verifier(config.trust_store(), RevocationChecker.from_files(crls, use_ocsp=False))
    here = {
        str(v.pk): str(verifier.verify(read_xml(v)).verdict)
        for v in RecordVersion.objects.order_by("pk")
    }
    done = hocba(env, "shell", "-c", VERIFY_ALL)
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.strip().splitlines()[-1])
    assert there == here
    issued = RecordVersion.objects.filter(state__in=["ISSUED", "SUPERSEDED", "REVOKED"])
    assert issued.exists()
    assert {here[str(v.pk)] for v in issued} == {"VALID"}
