"""`hocba worker` processing received packages as real processes on the test's PostgreSQL
database: a worker killed (SIGKILL) in the middle of a package, then started again, finishes it
with nothing lost and nothing twice; PostgreSQL stopped for 30 seconds under two workers, then
started again, and the workers carry on by themselves until every package is answered.

They run in the PostgreSQL pass (`scripts/test` starts a throw-away server and says where its
data directory and programs are: HOCBA_TEST_PGDATA, HOCBA_TEST_PGBIN, …); the SQLite pass skips
them, because separate processes do not see its in-memory test database.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import QuerySet
from django.test import override_settings

from hocba.formats import package as pkg
from hocba.warehouse.auth import Caller
from hocba.warehouse.models import Ack, ReceivedPackage, StoredRecord
from hocba.warehouse.services import receive
from tests.attacks.test_warehouse_failures import account_for
from tests.conftest import IN_CI
from tests.factories.records import Issuer, Keys
from tests.processes import HOCBA
from tests.warehouse.race import database_url

pytestmark = pytest.mark.django_db

ISSUER = Issuer("25000201", "2600100202", "25", "25")  # the demo's THCS Chu Văn An
SENDER = pkg.Sender("TRUONG", ISSUER.school_code, ISSUER.tax_code)
DATABASE_QUEUE = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": list(settings.TASK_QUEUES)}
}


@pytest.fixture(scope="module")
def keys(demo) -> Keys:  # type: ignore[no-untyped-def]
    if connection.vendor != "postgresql":
        pytest.skip("worker processes see only a PostgreSQL test database")
    return Keys.load()


class Workers:
    """`hocba worker --queues warehouse` processes on the test's database and data directory."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("HOCBA_UPSTREAM_URL", "HOCBA_WAREHOUSE_CODE", "HOCBA_S3_BUCKET")
            and k != "HOCBA_TASKS"
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="hocba.config.settings",
            DATABASE_URL=database_url(dict(connection.settings_dict)),
            HOCBA_DATA_DIR=str(settings.DATA_DIR),
            HOCBA_WAREHOUSE_RETRY_SECONDS="1",
        )

    def start(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(
                [HOCBA, "worker", "--queues", "warehouse", "--interval", "0.2"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.kill()  # SIGKILL: no chance to finish anything
        process.wait(timeout=10)

    def alive(self) -> list[str]:
        return [name for name, process in self.running.items() if process.poll() is None]

    def output(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2500:]}"
            for log in sorted(self.logs.glob("*.log"))
        )

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name)


@contextlib.contextmanager
def scenario(keys: Keys, logs: Path) -> Iterator[tuple[Callable[[int, int], list[int]], Workers]]:
    """Packages received and committed (each one's task in the database queue, as the
    warehouse API leaves them) and worker processes; all removed afterwards. Runs outside any
    test's transaction: the workers see only what is committed."""
    made: list[int] = []
    workers = Workers(logs)
    with override_settings(TASKS=DATABASE_QUEUE):
        account = account_for(ISSUER, client_id=f"kho-tien-trinh-{time.monotonic_ns()}")
        caller = Caller(account, account.scope_set)

        def receive_packages(count: int, records: int) -> list[int]:
            for _ in range(count):
                entries = [keys.record(ISSUER) for _ in range(records)]
                row, new = receive(caller, keys.package(SENDER, entries))
                assert new
                made.append(row.pk)
            return made[-count:]

        try:
            yield receive_packages, workers
        finally:
            workers.stop_all()
            ready_again()
            ids = list(Ack.objects.filter(package__in=made).values_list("record_id", flat=True))
            StoredRecord.objects.filter(record_id__in=ids).delete()
            ReceivedPackage.objects.filter(pk__in=made).delete()
            account.delete()


def ready_again(seconds: float = 60.0) -> None:
    """Wait until the test's database answers again (a fresh connection)."""
    deadline = time.monotonic() + seconds
    while True:
        connection.close()
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wait_until(what: str, check: Callable[[], bool], seconds: float, workers: Workers) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}\n{workers.output()}")


def waiting(pks: list[int]) -> QuerySet[ReceivedPackage]:
    return ReceivedPackage.objects.filter(pk__in=pks, status=ReceivedPackage.Status.RECEIVED)


@dataclass
class Outcome:
    packages: list[tuple[str, str, list[tuple[str, str]]]]
    """Each package's status, code and answers."""
    records: int
    """Records the packages carried."""
    distinct: int
    """Distinct record ids answered."""
    stored: int
    """Versions stored of those record ids."""
    output: str
    """What the workers wrote."""

    @classmethod
    def of(cls, pks: list[int], records: int, workers: Workers) -> Outcome:
        rows = ReceivedPackage.objects.filter(pk__in=pks).order_by("pk")
        ids = list(Ack.objects.filter(package__in=pks).values_list("record_id", flat=True))
        return cls(
            [
                (r.status, r.code, [(a.status, a.code) for a in r.acks.order_by("position")])
                for r in rows
            ],
            len(pks) * records,
            len(set(ids)),
            StoredRecord.objects.filter(record_id__in=ids).count(),
            workers.output(),
        )

    def each_record_once(self, records: int) -> None:
        """Every package answered record by record, every record accepted and stored once."""
        every = [("DONE", "", [("ACCEPTED", "ACCEPTED")] * records)] * len(self.packages)
        assert self.packages == every, self.output
        assert self.distinct == self.stored == self.records, self.output


# --- a worker killed in the middle of a package -----------------------------------------------

KILL_RECORDS = 12


@dataclass
class Killed:
    caught: tuple[str, int, int]
    """The package the worker was killed in: its status, attempts and answers then."""
    attempts: int
    """Its attempts in the end."""
    outcome: Outcome


@pytest.fixture(scope="module")
def killed(keys, django_db_blocker, tmp_path_factory) -> Iterator[Killed]:  # type: ignore[no-untyped-def]
    with (
        django_db_blocker.unblock(),
        scenario(keys, tmp_path_factory.mktemp("kill")) as (
            receive_packages,
            workers,
        ),
    ):
        pks = receive_packages(3, KILL_RECORDS)
        workers.start("first")
        begun = waiting(pks).filter(attempts=1)
        wait_until("a package under way", begun.exists, 120, workers)
        workers.kill("first")
        row = ReceivedPackage.objects.get(pk=begun.values_list("pk", flat=True).first())
        caught = (row.status, row.attempts, row.acks.count())
        workers.start("again")
        wait_until("every package answered", lambda: not waiting(pks).exists(), 120, workers)
        row.refresh_from_db()
        yield Killed(caught, row.attempts, Outcome.of(pks, KILL_RECORDS, workers))


def test_a_worker_killed_in_the_middle_of_a_package_has_kept_nothing_of_it(killed):
    assert killed.caught == ("RECEIVED", 1, 0)


def test_the_next_worker_finishes_it_with_nothing_lost_and_nothing_twice(killed):
    killed.outcome.each_record_once(KILL_RECORDS)
    assert killed.attempts == 2, killed.outcome.output  # taken again from nothing, once


# --- PostgreSQL stopped for 30 seconds ---------------------------------------------------------

OUTAGE_SECONDS = 30
OUTAGE_RECORDS = 4


def _pg_ctl(*args: str) -> None:
    command = [str(Path(os.environ["HOCBA_TEST_PGBIN"]) / "pg_ctl"), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


@dataclass
class Outage:
    alive_during: list[str]
    alive_after: list[str]
    outcome: Outcome


@pytest.fixture(scope="module")
def outage(keys, django_db_blocker, tmp_path_factory) -> Iterator[Outage]:  # type: ignore[no-untyped-def]
    if not os.environ.get("HOCBA_TEST_PGDATA"):
        message = "the PostgreSQL server is not the throw-away one of scripts/test"
        if IN_CI:
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    data = os.environ["HOCBA_TEST_PGDATA"]
    with (
        django_db_blocker.unblock(),
        scenario(keys, tmp_path_factory.mktemp("outage")) as (
            receive_packages,
            workers,
        ),
    ):
        pks = receive_packages(8, OUTAGE_RECORDS)
        workers.start("one")
        workers.start("two")
        wait_until(
            "a first package answered", lambda: waiting(pks).count() < len(pks), 120, workers
        )
        connection.close()
        _pg_ctl("-D", data, "-m", "fast", "-w", "stop")
        try:
            time.sleep(OUTAGE_SECONDS)
            during = workers.alive()
        finally:
            _pg_ctl(
                "-D", data, "-l", os.environ["HOCBA_TEST_PGLOG"], "-w",
                "-o", os.environ["HOCBA_TEST_PGOPTIONS"], "start",
            )  # fmt: skip
        ready_again()
        wait_until("every package answered", lambda: not waiting(pks).exists(), 240, workers)
        yield Outage(during, workers.alive(), Outcome.of(pks, OUTAGE_RECORDS, workers))


def test_the_workers_wait_out_postgresql_stopped_for_30_seconds(outage):
    assert outage.alive_during == ["one", "two"], outage.outcome.output
    assert outage.alive_after == ["one", "two"], outage.outcome.output
    assert "database unavailable" in outage.outcome.output


def test_every_package_is_answered_after_the_outage_each_record_once(outage):
    outage.outcome.each_record_once(OUTAGE_RECORDS)
