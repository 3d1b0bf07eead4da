"""The job engine on the database backend, in this process: a failing task is set aside with
its error and the queue goes on; a task left running by a dead worker is taken again; jobs are
enqueued only once their transaction commits, and one whose enqueueing was lost is enqueued by
the worker; a job's progress is what its task reported."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from hocba.jobs.models import Job, WorkerSeen
from hocba.jobs.services import enqueue_on_commit, start_job
from hocba.jobs.worker import MAX_ATTEMPTS, DatabaseWorker
from tests.jobs import tasks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def database_backend(database_queue):  # type: ignore[no-untyped-def]
    tasks.RAN.clear()
    Job.objects.all().delete()


def work() -> None:
    DatabaseWorker(batch=True, heartbeat=False, interval=0).run()


def test_a_task_that_always_fails_is_set_aside_with_its_error_and_the_next_one_runs():
    failing = tasks.always_fails.enqueue("7A")
    after = tasks.note.enqueue("sau")
    work()
    failed = DBTaskResult.objects.get(pk=failing.id)
    assert failed.status == "FAILED"
    assert failed.exception_class_path == "builtins.ValueError"
    assert "không xử lý được 7A" in failed.traceback
    assert DBTaskResult.objects.get(pk=after.id).status == "SUCCESSFUL"
    assert tasks.RAN == ["sau"]
    work()  # set aside: not tried again
    assert DBTaskResult.objects.get(pk=failing.id).status == "FAILED"


def test_a_task_that_met_a_database_outage_is_queued_again_not_failed():
    result = tasks.database_away_once.enqueue("lần hai")
    work()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "READY" and row.run_after > timezone.now()  # after a wait
    assert tasks.RAN == []
    DBTaskResult.objects.filter(pk=result.id).update(run_after=timezone.now())
    work()
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL" and len(row.worker_ids) == 2
    assert tasks.RAN == ["lần hai"]


def test_a_task_left_running_by_a_dead_worker_is_taken_again_and_runs_once():
    result = tasks.note.enqueue("một lần")
    dead = WorkerSeen.objects.create(
        worker_id="killed", host=DatabaseWorker().host, pid=2**22 + 1,  # no such process
        started_at=timezone.now(), seen_at=timezone.now(),
    )  # fmt: skip
    DBTaskResult.objects.get(pk=result.id).claim(dead.worker_id)
    work()
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.status == "SUCCESSFUL" and len(row.worker_ids) == 2
    assert tasks.RAN == ["một lần"]
    assert not WorkerSeen.objects.filter(pk="killed").exists()


def test_a_task_of_a_live_worker_elsewhere_is_left_alone_until_it_is_no_longer_seen(settings):
    result = tasks.note.enqueue("đang chạy")
    elsewhere = WorkerSeen.objects.create(
        worker_id="elsewhere", host="another-machine", pid=1,
        started_at=timezone.now(), seen_at=timezone.now(),
    )  # fmt: skip
    DBTaskResult.objects.get(pk=result.id).claim(elsewhere.worker_id)
    work()
    assert DBTaskResult.objects.get(pk=result.id).status == "RUNNING" and tasks.RAN == []
    silent_since = timezone.now() - dt.timedelta(seconds=settings.JOBS_WORKER_STALE_SECONDS + 1)
    WorkerSeen.objects.filter(pk="elsewhere").update(seen_at=silent_since)
    work()
    assert DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL"
    assert tasks.RAN == ["đang chạy"]


def test_a_task_whose_workers_keep_dying_is_set_aside():
    result = tasks.note.enqueue("chết mãi")
    row = DBTaskResult.objects.get(pk=result.id)
    for n in range(MAX_ATTEMPTS):
        row.claim(f"gone-{n}")
    work()
    row.refresh_from_db()
    assert row.status == "FAILED" and row.exception_class_path.endswith("WorkerLost")
    assert tasks.RAN == []


def test_a_job_is_enqueued_when_its_transaction_commits_and_reports_its_progress(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(tasks.counted_job, items=3)
        assert job.task_id == "" and not DBTaskResult.objects.exists()
    job.refresh_from_db()
    assert job.state == Job.State.QUEUED and job.task_id
    work()
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.percent) == (Job.State.DONE, 3, 3, 100)
    assert tasks.RAN == ["item 1", "item 2", "item 3"]


def test_a_task_enqueued_on_commit_waits_for_the_commit_and_a_rollback_drops_it(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            enqueue_on_commit(tasks.note, "đã lưu")
            assert not DBTaskResult.objects.exists()
        try:
            with transaction.atomic():
                enqueue_on_commit(tasks.note, "bỏ")
                raise RuntimeError("đổi ý")
        except RuntimeError:
            pass
    work()
    assert tasks.RAN == ["đã lưu"]


def test_a_rolled_back_change_starts_no_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                start_job(tasks.counted_job, items=1)
                raise RuntimeError("đổi ý")
        except RuntimeError:
            pass
    assert callbacks == [] and not Job.objects.exists() and not DBTaskResult.objects.exists()


def test_a_job_whose_task_raises_says_why(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(tasks.failing_job)
    work()
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.finished_at is not None
    assert job.error == "RuntimeError: máy in hết giấy"


def test_a_job_never_enqueued_is_enqueued_by_the_worker():
    job = start_job(tasks.counted_job, items=2)  # its transaction never committed here
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    work()
    job.refresh_from_db()
    assert job.state == Job.State.DONE and job.done == 2 and job.task_id


def test_with_the_immediate_backend_a_job_runs_as_it_is_enqueued(
    settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": list(settings.TASK_QUEUES),
        }
    }
    with django_capture_on_commit_callbacks(execute=True):
        job = start_job(tasks.failing_job)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and job.error == "RuntimeError: máy in hết giấy"
