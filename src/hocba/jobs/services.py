"""Starting background work after commit, and the progress its pages show.

Services never run long work in a request: they record a `Job` in their own transaction and
enqueue its task once that transaction commits (`start_job`), so a worker never sees a job whose
data is not there yet, and a rolled-back change starts nothing. The task receives `job_id` and
reports through `Progress`; the task engine's signals mark the job running, and failed when the
task raises, so a job never stays RUNNING because its task forgot to say it ended.

A job whose enqueueing was lost (the process died between commit and enqueue, or Redis did not
answer) is enqueued again by `hocba worker` (`enqueue_lost`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResult, TaskResultStatus
from django_tasks.base import Task
from django_tasks.signals import task_finished, task_started

from hocba.jobs.models import Job

log = logging.getLogger(__name__)

LOST_AFTER = dt.timedelta(seconds=60)
"""A job still without a task this long after it was recorded was never enqueued."""


def enqueue_on_commit(task: Task[Any, Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue `task` when the current transaction commits (at once outside a transaction);
    nothing when it rolls back."""
    transaction.on_commit(partial(task.enqueue, *args, **kwargs), robust=True)


def start_job(task: Task[Any, Any], **arguments: Any) -> Job:
    """Record a job for `task` and enqueue the task with `job_id` and `arguments` after commit.
    `arguments` must be JSON values (they travel through the queue)."""
    job = Job.objects.create(kind=task.module_path, arguments=arguments)
    transaction.on_commit(partial(_enqueue, job.pk), robust=True)
    return job


def _enqueue(job_id: int) -> None:
    job = Job.objects.get(pk=job_id)
    task: Task[Any, Any] = import_string(job.kind)
    result = task.enqueue(job_id=job.pk, **job.arguments)
    Job.objects.filter(pk=job.pk, task_id__in=("", "requeued")).update(task_id=result.id)


def enqueue_lost(now: dt.datetime | None = None) -> int:
    """Enqueue again the jobs recorded but never enqueued; how many. Each is taken by one
    caller only (several workers may sweep at once)."""
    cutoff = (now or timezone.now()) - LOST_AFTER
    count = 0
    for job_id in Job.objects.filter(
        state=Job.State.QUEUED, task_id="", created_at__lt=cutoff
    ).values_list("pk", flat=True):
        if Job.objects.filter(pk=job_id, task_id="").update(task_id="requeued"):
            log.warning("job %s was never enqueued; enqueuing it now", job_id)
            _enqueue(job_id)
            count += 1
    return count


Sweep = Callable[[dt.datetime], int]
"""Work a worker looks for on its own every few seconds: `sweep(now)` enqueues what should be
waiting in the queue and is not; it returns how many tasks it enqueued."""

_sweeps: dict[str, Sweep] = {}


def register_sweep(name: str, sweep: Sweep) -> None:
    """Have `hocba worker` run `sweep` with its own (the apps above jobs register theirs in
    their `AppConfig.ready()`: jobs never imports them)."""
    _sweeps[name] = sweep


def run_sweeps(now: dt.datetime) -> int:
    """Every registered sweep; how many tasks they enqueued."""
    return sum(sweep(now) for sweep in list(_sweeps.values()))


def live_arguments(task: Task[Any, Any]) -> list[tuple[list[Any], dict[str, Any]]] | None:
    """The arguments of `task`'s runs waiting in the queue or running now, on the database
    queue; None on a queue that cannot be read this way (RQ), where a sweep enqueues nothing."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    backend = task.get_backend()
    if not isinstance(backend, DatabaseBackend):
        return None

    rows = DBTaskResult.objects.filter(
        task_path=task.module_path,
        backend_name=backend.alias,
        status__in=(TaskResultStatus.READY, TaskResultStatus.RUNNING),
    ).values_list("args_kwargs", flat=True)
    return [(list(row.get("args", [])), dict(row.get("kwargs", {}))) for row in rows]


@dataclass(frozen=True)
class Progress:
    """What a task says about its job; every call is one small write, readable at once."""

    job_id: int

    def start(self, total: int, done: int = 0) -> None:
        Job.objects.filter(pk=self.job_id).update(
            state=Job.State.RUNNING, total=total, done=done, error="", updated_at=timezone.now()
        )

    def advance(self, done: int) -> None:
        Job.objects.filter(pk=self.job_id).update(done=done, updated_at=timezone.now())

    def finish(self, error: str = "", done: int | None = None) -> None:
        """DONE, or FAILED with `error` (a sentence for the page)."""
        changes: dict[str, Any] = {
            "state": Job.State.FAILED if error else Job.State.DONE,
            "error": error,
            "finished_at": timezone.now(),
            "updated_at": timezone.now(),
        }
        if done is not None:
            changes["done"] = done
        Job.objects.filter(pk=self.job_id).update(**changes)


def _job_of(task_result: TaskResult[Any]) -> int | None:
    job_id = task_result.kwargs.get("job_id")
    return job_id if isinstance(job_id, int) else None


def _on_started(sender: Any, task_result: TaskResult[Any], **kwargs: Any) -> None:
    job_id = _job_of(task_result)
    if job_id is not None:
        Job.objects.filter(pk=job_id, state=Job.State.QUEUED).update(
            state=Job.State.RUNNING, updated_at=timezone.now()
        )


def _on_finished(sender: Any, task_result: TaskResult[Any], **kwargs: Any) -> None:
    """A task that ended without saying so ends its job: DONE when it returned, FAILED with the
    last error when it raised."""
    job_id = _job_of(task_result)
    if job_id is None:
        return
    unfinished = Job.objects.filter(pk=job_id).exclude(state__in=(Job.State.DONE, Job.State.FAILED))
    if task_result.status == TaskResultStatus.SUCCESSFUL:
        unfinished.update(state=Job.State.DONE, finished_at=timezone.now())
    elif task_result.status == TaskResultStatus.FAILED:
        unfinished.update(
            state=Job.State.FAILED, error=error_of(task_result), finished_at=timezone.now()
        )


def error_of(task_result: TaskResult[Any]) -> str:
    """The last error of a task run in one line: the exception's class and message."""
    if not task_result.errors:
        return ""
    error = task_result.errors[-1]
    lines = [line for line in error.traceback.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    return last or error.exception_class_path.rsplit(".", 1)[-1]


def connect_signals() -> None:
    task_started.connect(_on_started, dispatch_uid="hocba.jobs.started")
    task_finished.connect(_on_finished, dispatch_uid="hocba.jobs.finished")
