"""Attack class: the version rule raced by two warehouse workers (PostgreSQL).

A warehouse keeps, per record id, at most one version in force: a higher version supersedes the
ones before, a CANCEL revokes them, a lower version arriving late is STALE_VERSION, a version
received again is DUPLICATE (same bytes) or VERSION_CONFLICT (other bytes), a version after a
stored CANCEL RECORD_REVOKED (a revocation is final), and none of these fails the rest of its
package. Several workers process packages at the same time (each takes a
package nobody else holds); versions of one record arriving in packages that two workers process
at once must end exactly as if the packages had been processed one after the other, in some
order. SQLite serialises whole transactions and cannot show a race, so the races run on
PostgreSQL (the suite's PostgreSQL pass), with two real worker processes started at the same
moment; the rule itself, one package after the other, is checked on both databases.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.db import connection

from hocba.formats import package as pkg
from hocba.warehouse.auth import Caller
from hocba.warehouse.models import Account, ReceivedPackage, StoredRecord
from hocba.warehouse.services import MESSAGES, process, receive
from tests.factories.records import Issuer, Keys
from tests.warehouse.race import Workers

pytestmark = pytest.mark.django_db
raced = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a race needs PostgreSQL (SQLite serialises)"
)

SCHOOL = Issuer("25000201", "2600100202", "25", "25")  # the demo's THCS Chu Văn An
SENDER = pkg.Sender("TRUONG", SCHOOL.school_code, SCHOOL.tax_code)
REPEATS = 4
"""Rounds per order of arrival: enough for the race to show in nearly every run without the
version rule's lock."""


@dataclass
class Arena:
    workers: Workers
    keys: Keys
    caller: Caller
    packages: list[int]
    record_ids: list[str]
    shared: int = 0
    """Rounds in which every worker processed a package (in the others nothing raced)."""

    def submit(self, entries: Sequence[pkg.Entry]) -> list[ReceivedPackage]:
        """One package per entry, received (and committed) in this order."""
        rows = []
        for entry in entries:
            row, new = receive(self.caller, self.keys.package(SENDER, [entry]), inline=False)
            assert new
            self.packages.append(row.pk)
            self.record_ids.append(entry.record_id)
            rows.append(row)
        return rows


@pytest.fixture(scope="module")
def arena(demo, django_db_blocker) -> Iterator[Arena]:  # type: ignore[no-untyped-def]
    """Two worker processes on the test database; what the rounds leave is removed after."""
    with django_db_blocker.unblock():
        account = Account.objects.get(client_id=f"truong-{SCHOOL.school_code}")
        workers = Workers(dict(connection.settings_dict), str(settings.DATA_DIR))
        arena = Arena(workers, Keys.load(), Caller(account, account.scope_set), [], [])
        try:
            yield arena
        finally:
            workers.stop()
            StoredRecord.objects.filter(record_id__in=arena.record_ids).delete()
            ReceivedPackage.objects.filter(pk__in=arena.packages).delete()


# --- the version rule, one package after the other -----------------------------------------


@dataclass(frozen=True)
class Arrival:
    version: int
    event: str
    sha256: str


def serial(arrivals: Sequence[Arrival]) -> tuple[list[str], dict[int, tuple[str, str]]]:
    """The documented rule applied in this order: the code answered for each arrival, and the
    state of each stored version (by version: its hash and state)."""
    stored: dict[int, tuple[str, str]] = {}
    cancelled = False
    codes = []
    for arrival in arrivals:
        if arrival.version in stored:
            same = stored[arrival.version][0] == arrival.sha256
            codes.append("DUPLICATE" if same else "VERSION_CONFLICT")
        elif stored and max(stored) > arrival.version:
            codes.append("STALE_VERSION")
        elif cancelled:
            codes.append("RECORD_REVOKED")
        else:
            cancelled = arrival.event == "CANCEL"
            closing = "REVOKED" if arrival.event == "CANCEL" else "SUPERSEDED"
            for version, (sha, state) in stored.items():
                if state == "CURRENT":
                    stored[version] = (sha, closing)
            new_state = "REVOKED" if arrival.event == "CANCEL" else "CURRENT"
            stored[arrival.version] = (arrival.sha256, new_state)
            codes.append("ACCEPTED")
    return codes, stored


def observed(
    rows: Sequence[ReceivedPackage], record_id: str
) -> tuple[list[str], dict[int, tuple[str, str]], list[str]]:
    """The codes answered per package, the stored versions, and what is wrong on its face."""
    wrong = []
    codes = []
    for row in rows:
        row.refresh_from_db()
        if row.status != ReceivedPackage.Status.DONE:
            wrong.append(f"package {row.package_id} {row.status} {row.code}")
        acks = list(row.acks.all())
        codes.append(acks[0].code if len(acks) == 1 else f"{len(acks)} acknowledgements")
    versions = list(StoredRecord.objects.filter(record_id=record_id).order_by("version"))
    stored = {r.version: (r.xml_sha256, r.state) for r in versions}
    if len(stored) != len(versions):
        wrong.append("a version stored twice")
    current = [r.version for r in versions if r.state == StoredRecord.State.CURRENT]
    if len(current) > 1:
        wrong.append(f"versions {current} all in force")
    if versions and versions[-1].event == "CANCEL" and current:
        wrong.append(f"revoked by version {versions[-1].version}, yet {current} in force")
    return codes, stored, wrong


def race(arena: Arena, entries: Sequence[pkg.Entry], order: Sequence[int]) -> str | None:
    """Submit the entries' packages in `order`, let the workers loose, and say what is wrong
    (None: the answers and the stored versions are those of some serial order)."""
    arrived = [entries[i] for i in order]
    arrivals = [Arrival(e.version, e.event, hashlib.sha256(e.content).hexdigest()) for e in arrived]
    rows = arena.submit(arrived)
    result = arena.workers.go()
    if all(result.processed.values()):
        arena.shared += 1
    if result.errors:
        failure = next(iter(result.errors.values())).strip().splitlines()[-1]
        return f"arrival {[e.version for e in arrived]}: a worker failed: {failure}"
    codes, stored, wrong = observed(rows, arrived[0].record_id)
    possible = []
    for processing in itertools.permutations(range(len(arrived))):
        serial_codes, serial_stored = serial([arrivals[i] for i in processing])
        by_arrival = [serial_codes[processing.index(i)] for i in range(len(arrived))]
        possible.append((by_arrival, serial_stored))
    if not wrong and all(codes != answers for answers, _ in possible):
        wrong.append("answers that no serial order gives")
    elif not wrong and (codes, stored) not in possible:
        wrong.append("stored states that no serial order with these answers gives")
    if wrong:
        versions = [e.version for e in arrived]
        return f"arrival {versions}: answers {codes}, stored {stored}: {'; '.join(wrong)}"
    return None


def versions_of(arena: Arena, *events: str, **changes: object) -> list[pkg.Entry]:
    record_id = str(uuid.uuid4())
    return [
        arena.keys.record(SCHOOL, record_id, version, event, **changes)
        for version, event in enumerate(events, start=1)
    ]


# --- the attacks ---------------------------------------------------------------------------
# The rounds run in module fixtures, outside the test's own transaction: the worker processes
# see only what is committed.


@dataclass
class Rounds:
    count: int
    problems: list[str]
    shared: int = 0

    def __str__(self) -> str:
        return f"{len(self.problems)} of {self.count} rounds went wrong:\n" + "\n".join(
            self.problems
        )


@pytest.fixture(
    scope="module",
    params=[
        ("NEW", "UPDATE", "CANCEL"),
        ("NEW", "CANCEL"),
        ("NEW", "UPDATE"),
        ("NEW", "CANCEL", "UPDATE"),
    ],
    ids=["v1-v2-cancel-v3", "v1-cancel-v2", "v1-v2", "v1-cancel-v2-v3"],
)
def versions_raced(arena, django_db_blocker, request) -> Rounds:  # type: ignore[no-untyped-def]
    """Every order of arrival of the versions' packages, each repeated."""
    events = request.param
    rounds = Rounds(0, [])
    shared = arena.shared
    with django_db_blocker.unblock():
        for order in itertools.permutations(range(len(events))):
            for _ in range(REPEATS):
                rounds.count += 1
                problem = race(arena, versions_of(arena, *events), order)
                if problem:
                    rounds.problems.append(problem)
    rounds.shared = arena.shared - shared
    return rounds


@pytest.fixture(scope="module")
def duplicates_raced(arena, django_db_blocker) -> Rounds:  # type: ignore[no-untyped-def]
    """The same version, same bytes, in two packages at once."""
    rounds = Rounds(0, [])
    shared = arena.shared
    with django_db_blocker.unblock():
        for _ in range(REPEATS * 3):
            rounds.count += 1
            (first,) = versions_of(arena, "NEW")
            problem = race(arena, [first, first], (0, 1))
            if problem:
                rounds.problems.append(problem)
    rounds.shared = arena.shared - shared
    return rounds


@pytest.fixture(scope="module")
def conflicts_raced(arena, django_db_blocker) -> Rounds:  # type: ignore[no-untyped-def]
    """One version with two different contents, in two packages at once."""
    rounds = Rounds(0, [])
    shared = arena.shared
    with django_db_blocker.unblock():
        for _ in range(REPEATS * 3):
            rounds.count += 1
            record_id = str(uuid.uuid4())
            one = arena.keys.record(SCHOOL, record_id, 1, "NEW")
            other = arena.keys.record(SCHOOL, record_id, 1, "NEW", class_name="7B")
            problem = race(arena, [one, other], (0, 1))
            if problem:
                rounds.problems.append(problem)
    rounds.shared = arena.shared - shared
    return rounds


@raced
def test_two_workers_racing_versions_of_one_record_end_as_one_serial_order_would(
    versions_raced,
):
    """Exactly one version in force (none once the highest is a CANCEL), a lower version that
    arrives late STALE_VERSION, a version after a stored CANCEL RECORD_REVOKED, every package
    processed, in every order of arrival."""
    assert not versions_raced.problems, str(versions_raced)
    assert versions_raced.shared >= versions_raced.count // 2, "the workers hardly raced"


@raced
def test_the_same_version_in_two_packages_at_once_is_accepted_once_and_answered_duplicate(
    duplicates_raced,
):
    assert not duplicates_raced.problems, str(duplicates_raced)
    assert duplicates_raced.shared >= duplicates_raced.count // 2, "the workers hardly raced"


@raced
def test_one_version_with_other_bytes_in_two_packages_at_once_is_a_version_conflict(
    conflicts_raced,
):
    assert not conflicts_raced.problems, str(conflicts_raced)
    assert conflicts_raced.shared >= conflicts_raced.count // 2, "the workers hardly raced"


# --- a revocation is final (one package after the other; both databases) ---------------------


@pytest.fixture(scope="module")
def keys(demo) -> Keys:  # type: ignore[no-untyped-def]
    return Keys.load()


def one_after_the_other(keys: Keys, *packages: list[pkg.Entry]) -> list[list[tuple[str, str]]]:
    """Each package received and processed in turn; the answers (status, code) of each."""
    account = Account.objects.get(client_id=f"truong-{SCHOOL.school_code}")
    caller = Caller(account, account.scope_set)
    answered = []
    for entries in packages:
        row, _ = receive(caller, keys.package(SENDER, entries), inline=False)
        process(row.pk)
        row.refresh_from_db()
        assert row.status == ReceivedPackage.Status.DONE, (row.code, row.message)
        answered.append([(a.status, a.code) for a in row.acks.order_by("position")])
    return answered


AFTER_A_CANCEL = {
    "a correction": (3, "UPDATE", {}),
    "a correction far above": (7, "UPDATE", {}),
    "another revocation": (3, "CANCEL", {}),
    "a correction with other grades": (3, "UPDATE", {"class_name": "7C"}),
}


@pytest.mark.parametrize("late", AFTER_A_CANCEL.values(), ids=AFTER_A_CANCEL.keys())
@pytest.mark.parametrize("together", [False, True], ids=["later-package", "same-package"])
def test_no_version_is_taken_after_a_stored_cancel(keys, late, together):
    record_id = str(uuid.uuid4())
    first = keys.record(SCHOOL, record_id, 1, "NEW")
    cancel = keys.record(SCHOOL, record_id, 2, "CANCEL")
    version, event, changes = late
    after = keys.record(SCHOOL, record_id, version, event, **changes)
    if together:
        (answers,) = one_after_the_other(keys, [first, cancel, after])
    else:
        answers = [a for (a,) in one_after_the_other(keys, [first], [cancel], [after])]
    assert answers == [
        ("ACCEPTED", "ACCEPTED"),
        ("ACCEPTED", "ACCEPTED"),
        ("REJECTED", "RECORD_REVOKED"),
    ]
    versions = StoredRecord.objects.filter(record_id=record_id).order_by("version")
    assert [(r.version, r.state) for r in versions] == [(1, "REVOKED"), (2, "REVOKED")]
    assert MESSAGES["RECORD_REVOKED"] == "Học bạ đã bị thu hồi; kho không nhận phiên bản mới"


def test_the_same_cancel_again_is_a_duplicate_and_changes_nothing(keys):
    record_id = str(uuid.uuid4())
    first = keys.record(SCHOOL, record_id, 1, "NEW")
    cancel = keys.record(SCHOOL, record_id, 2, "CANCEL")
    answers = one_after_the_other(keys, [first, cancel], [cancel])
    assert answers[1] == [("ACCEPTED", "DUPLICATE")]
    versions = StoredRecord.objects.filter(record_id=record_id).order_by("version")
    assert [(r.version, r.state) for r in versions] == [(1, "REVOKED"), (2, "REVOKED")]
