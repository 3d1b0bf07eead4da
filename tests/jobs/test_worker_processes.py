"""`hocba worker` as real processes on a demo school's data directory: a class render batch
whose worker is killed (SIGKILL) in the middle is finished by the next worker with one view per
version, none missing; the same render tasks run on the Redis backend shared by two worker
processes; the worker waits out its SQLite database being unavailable and carries on."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
import redis

from tests.attacks.test_rate_limits import redis_url  # noqa: F401 - a fixture
from tests.processes import Processes, clean_env, query, run, wait_for

pytestmark = pytest.mark.instances


CORRECTED = 4
"""Times each record of the largest class is corrected and issued again in the demo below."""

GROW_CLASS = """
from types import SimpleNamespace
from django.db.models import Count
from hocba.demo.grades import sign_all_records
from hocba.organizations.models import ClassGroup, Role, RoleAssignment
from hocba.records.models import Record
from hocba.records.services import correct_record
class_group = (
    ClassGroup.objects.annotate(n=Count("records")).filter(records__versions__state="ISSUED")
    .order_by("-n", "pk").first()
)
school = class_group.school
principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff.user
demo = SimpleNamespace(schools={school.code: school}, add_count=lambda *args: None)
for round in range(%d):
    for record in Record.objects.filter(class_group=class_group, versions__state="ISSUED"):
        correct_record(principal, record, f"Đính chính lần {round + 1}")
    sign_all_records(demo)
"""


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo province built once, whose largest class had its records corrected a few times:
    a class with many versions, the corrected ones still without their views."""
    data = tmp_path_factory.mktemp("demo")
    env = clean_env(data)
    run(env, "demo", "--students-per-school", "6")
    run(env, "shell", "-v0", "-c", GROW_CLASS % CORRECTED)
    return data


@pytest.fixture
def data(demo_dir: Path, tmp_path: Path) -> Path:
    """A copy of the demo whose queue holds only what each test enqueues."""
    copy = tmp_path / "data"
    shutil.copytree(demo_dir, copy)
    write(copy, "delete from django_tasks_database_dbtaskresult")
    return copy


@pytest.fixture
def processes(tmp_path: Path):  # type: ignore[no-untyped-def]
    group = Processes(tmp_path)
    yield group
    group.stop_all()


def write(data: Path, sql: str, *params: object) -> None:
    connection = sqlite3.connect(data / "hocba.sqlite3", timeout=30)
    try:
        with connection:
            connection.execute(sql, params)
    finally:
        connection.close()


def class_versions(data: Path, school: str | None = None) -> dict[int, set[int]]:
    """Class id → its drawn versions (a class batch's work), for one school or all."""
    rows = query(
        data,
        "select r.class_group_id, v.id, s.code from records_recordversion v "
        "join records_record r on r.id = v.record_id join organizations_school s "
        "on s.id = r.school_id where v.state in ('ISSUED', 'SUPERSEDED', 'REVOKED') "
        "and v.event != 'CANCEL'",
    )
    found: dict[int, set[int]] = {}
    for class_id, version, code in rows:
        if school and code != school:
            continue
        found.setdefault(class_id, set()).add(version)
    return found


def undraw(data: Path, versions: set[int]) -> None:
    """Forget the views of `versions`, so a batch has them to draw."""
    marks = ",".join("?" * len(versions))
    write(data, f"delete from documents_document where version_id in ({marks})", *versions)  # noqa: S608


def views_of(data: Path, versions: set[int]) -> list[int]:
    marks = ",".join(str(v) for v in versions)
    sql = f"select version_id from documents_document where version_id in ({marks})"  # noqa: S608
    rows = query(data, sql)
    return sorted(version for (version,) in rows)


def start_render(env: dict[str, str], class_ids: list[int]) -> list[int]:
    """Batches started as the principal's page starts them; their job ids."""
    code = (
        "import json\n"
        "from hocba.documents.services import start_render\n"
        "from hocba.organizations.models import ClassGroup, Role, RoleAssignment\n"
        "jobs = []\n"
        f"for class_group in ClassGroup.objects.filter(pk__in={class_ids!r}).order_by('pk'):\n"
        "    principal = RoleAssignment.objects.get(role=Role.PRINCIPAL,"
        " school=class_group.school).staff.user\n"
        "    jobs.append(start_render(principal, class_group.school, class_group).progress_id)\n"
        "print(json.dumps(jobs))\n"
    )
    return list(json.loads(run(env, "shell", "-v0", "-c", code).strip().splitlines()[-1]))


def job_states(data: Path, jobs: list[int]) -> dict[int, tuple[str, int, int]]:
    marks = ",".join(str(j) for j in jobs)
    rows = query(data, f"select id, state, done, total from jobs_job where id in ({marks})")  # noqa: S608
    return {job: (state, done, total) for job, state, done, total in rows}


def finished(data: Path, jobs: list[int]) -> bool:
    states = job_states(data, jobs)
    assert not [s for s in states.values() if s[0] == "FAILED"], states
    return len(states) == len(jobs) and all(s[0] == "DONE" for s in states.values())


def zip_names(data: Path, job: int) -> int:
    import zipfile

    sql = f"select outputs from documents_renderjob where progress_id={job}"  # noqa: S608
    ((outputs,),) = query(data, sql)
    return len(zipfile.ZipFile(data / "files" / json.loads(outputs)["zip"]).namelist())


def test_a_class_batch_whose_worker_is_killed_is_finished_by_the_next_without_duplicates(
    data, processes
):
    class_id, versions = max(class_versions(data).items(), key=lambda item: len(item[1]))
    assert len(versions) > CORRECTED
    undraw(data, versions)
    env = clean_env(data)
    processes.start("worker", env, "worker", "--interval", "0.2")
    (job,) = start_render(env, [class_id])

    deadline = time.monotonic() + 120
    while not views_of(data, versions):
        assert time.monotonic() < deadline, "the worker drew nothing"
        time.sleep(0.005)
    # hold the database's write lock, so the worker stops at its next write, then kill it there
    lock = sqlite3.connect(data / "hocba.sqlite3", timeout=30, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    drawn = len(views_of(data, versions))
    processes.kill("worker")
    lock.execute("ROLLBACK")
    lock.close()
    assert 0 < drawn < len(versions), "the kill did not come in the middle of the batch"
    assert job_states(data, [job])[job][0] == "RUNNING"
    assert query(data, "select status from django_tasks_database_dbtaskresult") == [("RUNNING",)]

    processes.start("worker-again", env, "worker", "--interval", "0.2")
    wait_for("the batch to finish", lambda: finished(data, [job]), timeout=180)

    # one view per version: none drawn twice, none lost
    assert views_of(data, versions) == sorted(versions)
    assert job_states(data, [job])[job] == ("DONE", len(versions), len(versions))
    assert zip_names(data, job) == len(versions)
    ((status, workers),) = query(
        data, "select status, worker_ids from django_tasks_database_dbtaskresult"
    )
    assert status == "SUCCESSFUL" and len(json.loads(workers)) == 2  # taken again, once


def test_on_redis_two_workers_share_the_render_batches(data, processes, redis_url):  # noqa: F811
    school = "25000101"
    classes = class_versions(data, school)
    assert len(classes) >= 2
    everything = set().union(*classes.values())
    undraw(data, everything)
    env = clean_env(data, HOCBA_TASKS="redis", HOCBA_REDIS_URL=redis_url)
    processes.start("worker-a", env, "worker")
    processes.start("worker-b", env, "worker")
    server = redis.Redis.from_url(redis_url)
    wait_for("two RQ workers", lambda: len(server.smembers("rq:workers")) == 2, timeout=120)

    jobs = start_render(env, sorted(classes))
    wait_for("every batch to finish", lambda: finished(data, jobs), timeout=240)

    assert views_of(data, everything) == sorted(everything)
    for job in jobs:
        _state, done, total = job_states(data, [job])[job]
        assert done == total == zip_names(data, job) > 0
    sql = f"select task_id from jobs_job where id in ({','.join(map(str, jobs))})"  # noqa: S608
    task_ids = [t for (t,) in query(data, sql)]
    workers = json.loads(
        run(
            env, "shell", "-v0", "-c",
            "import json\nfrom django_tasks import default_task_backend as tasks\n"
            f"print(json.dumps([tasks.get_result(t).worker_ids for t in {task_ids!r}]))",
        ).strip().splitlines()[-1]
    )  # fmt: skip
    assert all(len(w) == 1 for w in workers)  # each batch ran once
    assert len({w[0] for w in workers}) == 2  # on both workers


def test_the_worker_waits_while_its_database_is_unavailable_then_carries_on(
    data, processes, tmp_path
):
    class_id, versions = next(iter(class_versions(data).items()))
    undraw(data, versions)
    env = clean_env(data)
    processes.start("worker", env, "worker", "--interval", "0.2")
    wait_for("the worker", lambda: query(data, "select count(*) from jobs_workerseen") == [(1,)])

    away = tmp_path / "away"
    away.mkdir()
    files = [f for f in data.iterdir() if f.name.startswith("hocba.sqlite3")]
    for f in files:
        f.rename(away / f.name)
    (data / "hocba.sqlite3").mkdir()  # where the database was, nothing SQLite can open
    log = tmp_path / "worker.log"
    wait_for("the worker to notice", lambda: "database unavailable" in log.read_text())
    time.sleep(2)
    (data / "hocba.sqlite3").rmdir()
    for f in files:
        (away / f.name).rename(f)

    (job,) = start_render(env, [class_id])
    wait_for("the batch to finish", lambda: finished(data, [job]), timeout=120)
    assert views_of(data, versions) == sorted(versions)
    assert processes.running["worker"].poll() is None  # still the same worker
    assert "trying again in" in log.read_text()
