"""Tasks for the job engine's tests (module-level, as the task engine needs)."""

from __future__ import annotations

from django.db import OperationalError
from django_tasks import TaskContext, task

from hocba.jobs.services import Progress

RAN: list[str] = []


@task()
def note(word: str) -> str:
    RAN.append(word)
    return word


@task()
def always_fails(word: str) -> None:
    raise ValueError(f"không xử lý được {word}")


@task()
def counted_job(job_id: int, items: int) -> None:
    progress = Progress(job_id)
    progress.start(items)
    for done in range(1, items + 1):
        RAN.append(f"item {done}")
        progress.advance(done)
    progress.finish()


@task()
def failing_job(job_id: int) -> None:
    Progress(job_id).start(3)
    raise RuntimeError("máy in hết giấy")


@task(takes_context=True)
def database_away_once(context: TaskContext, word: str) -> str:
    """Meets a database outage on its first run (as a task does when the server restarts)."""
    if context.attempt == 1:
        raise OperationalError("server closed the connection unexpectedly")
    RAN.append(word)
    return word
