"""The loop of `hocba worker` on the database backend (django-tasks-db's table of tasks).

What it adds to taking and running tasks:
- **A database outage is waited out.** Any database error while the worker looks for work
  (locked, unreachable, restarting, not migrated yet) makes it wait (1 s, doubling, at most
  30 s) and try again; it never exits for it. A task that raised because the database went
  away is put back in the queue (a few times, with the same waits), not recorded as failed.
- **A task that fails is set aside.** Any other error is recorded with the task (FAILED, its
  traceback) and the worker takes the next one; the job that the task served says why.
- **A task left running by a dead worker is taken again.** Each worker says it is alive every
  few seconds (`WorkerSeen`). A RUNNING task whose worker is gone (its process no longer exists
  on this machine, or it has not been seen for `JOBS_WORKER_STALE_SECONDS`) goes back to the
  queue; after `MAX_ATTEMPTS` runs it is set aside as failed, so a task that kills its worker
  every time cannot block the queue. Tasks are written to be run again (they resume by what is
  already stored).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.db import connection as db_connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks import TaskContext, TaskResultStatus
from django_tasks.signals import task_finished, task_started
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from hocba.jobs import services
from hocba.jobs.models import WorkerSeen

log = logging.getLogger("hocba.worker")

MAX_ATTEMPTS = 5
"""Runs of one task (taken again after a dead worker or a database outage) before it is set
aside as failed."""
HEARTBEAT_SECONDS = 5.0
SWEEP_SECONDS = 10.0
LONGEST_WAIT = 30.0
DATABASE_TROUBLE = (OperationalError, InterfaceError)


class WorkerLost(RuntimeError):
    """Recorded on a task whose workers died under it `MAX_ATTEMPTS` times."""


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DatabaseWorker:
    def __init__(
        self,
        *,
        backend: str = "default",
        queues: list[str] | None = None,
        interval: float = 1.0,
        batch: bool = False,
        worker_id: str | None = None,
        heartbeat: bool = True,
    ) -> None:
        self.backend = backend
        self.queues = queues
        self.interval = interval
        self.batch = batch
        self.worker_id = worker_id or get_random_string(32)
        self.heartbeat = heartbeat
        self.host = socket.gethostname()
        self.started_at = timezone.now()
        self.running = True
        self.in_task = False
        self._stop = threading.Event()
        self._last_sweep = 0.0
        self._said_at = -HEARTBEAT_SECONDS

    # --- signals: finish the task in hand, then stop ---------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.running and self.in_task:
            log.warning("%s: stopping after the current task", signal.strsignal(signum))
            self.running = False
            return
        raise SystemExit(0 if self.running else 1)

    def configure_signals(self) -> None:
        for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self._on_signal)

    # --- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        log.info("worker %s on %s (pid %s) starting", self.worker_id, self.host, os.getpid())
        beat = threading.Thread(target=self._beat, name="hocba-worker-heartbeat", daemon=True)
        if self.heartbeat:
            beat.start()
        wait = 1.0
        try:
            while self.running:
                try:
                    tidy_connections()
                    self._say_alive()
                    if time.monotonic() - self._last_sweep >= SWEEP_SECONDS:
                        self.sweep()
                    ran = self.run_one()
                except DatabaseError as error:  # unreachable, locked, restarting, not migrated
                    log.warning(
                        "database unavailable (%s); trying again in %.0f s",
                        str(error).splitlines()[0] if str(error) else type(error).__name__,
                        wait,
                    )
                    self._drop_connection()
                    time.sleep(wait)
                    wait = min(wait * 2, LONGEST_WAIT)
                    continue
                wait = 1.0
                if not ran:
                    if self.batch:
                        return
                    time.sleep(self.interval)
        finally:
            self._stop.set()
            self._farewell()

    def _drop_connection(self) -> None:
        if db_connection.in_atomic_block:  # the caller's transaction (a test runs it inside one)
            return
        with contextlib.suppress(DatabaseError):
            db_connection.close()

    def _say_alive(self) -> None:
        """One write every few seconds at most (an idle worker looks for work every second)."""
        if time.monotonic() - self._said_at < HEARTBEAT_SECONDS:
            return
        now = timezone.now()
        updated = WorkerSeen.objects.filter(pk=self.worker_id).update(seen_at=now)
        if not updated:
            WorkerSeen.objects.update_or_create(
                worker_id=self.worker_id,
                defaults={
                    "host": self.host,
                    "pid": os.getpid(),
                    "started_at": self.started_at,
                    "seen_at": now,
                },
            )
        self._said_at = time.monotonic()

    def _beat(self) -> None:
        """Say alive while a task runs (its own database connection)."""
        try:
            while not self._stop.wait(HEARTBEAT_SECONDS):
                try:
                    WorkerSeen.objects.filter(pk=self.worker_id).update(seen_at=timezone.now())
                except DatabaseError:
                    pass
                finally:
                    close_old_connections()
        finally:
            db_connection.close()

    def _farewell(self) -> None:
        with contextlib.suppress(DatabaseError):
            WorkerSeen.objects.filter(pk=self.worker_id).delete()

    # --- taking and running one task --------------------------------------------------------

    def run_one(self) -> bool:
        """Take the next ready task and run it; False when there was none."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend)
        if self.queues:
            tasks = tasks.filter(queue_name__in=self.queues)
        with exclusive_transaction(tasks.db):
            row = tasks.get_locked()
            if row is not None:
                row.claim(self.worker_id)
        if row is None:
            return False
        self.run_task(row)
        return True

    def run_task(self, row: DBTaskResult[Any, Any]) -> None:
        self.in_task = True
        try:
            try:
                task = row.task
                task_result = row.task_result
                task_started.send(sender=type(task.get_backend()), task_result=task_result)
                args, kwargs = task_result.args, task_result.kwargs
                if task.takes_context:
                    value = task.call(TaskContext(task_result=task_result), *args, **kwargs)
                else:
                    value = task.call(*args, **kwargs)
            except DATABASE_TROUBLE as error:
                if len(row.worker_ids) < MAX_ATTEMPTS:
                    log.warning("task %s met a database outage (%s); queued again", row.pk, error)
                    self._drop_connection()
                    again_in = min(2.0 ** len(row.worker_ids), LONGEST_WAIT)
                    # raises while the database is still away: the loop waits, and the sweep
                    # puts the task back later
                    put_back(row, timezone.now() + dt.timedelta(seconds=again_in))
                    return
                self._failed(row, error)
            except Exception as error:
                self._failed(row, error)
            else:
                row.set_successful(value)
                task_finished.send(sender=type(row.task.get_backend()), task_result=row.task_result)
        finally:
            self.in_task = False

    def _failed(self, row: DBTaskResult[Any, Any], error: BaseException) -> None:
        log.error("task %s (%s) failed: %r", row.pk, row.task_path, error)
        row.set_failed(error)
        try:
            sender = type(row.task.get_backend())
        except Exception:  # the task itself cannot be found: nobody to tell
            return
        task_finished.send(sender=sender, task_result=row.task_result)

    # --- what others left ----------------------------------------------------------------------

    def sweep(self) -> None:
        """Put back the tasks of dead workers, enqueue jobs that never were, and run the apps'
        sweeps (`services.register_sweep`: work that waits with no task for it)."""
        self._last_sweep = time.monotonic()
        now = timezone.now()
        stale = dt.timedelta(seconds=settings.JOBS_WORKER_STALE_SECONDS)
        seen = {w.worker_id: w for w in WorkerSeen.objects.all()}
        for row in DBTaskResult.objects.running().filter(backend_name=self.backend):
            owner = row.worker_ids[-1] if row.worker_ids else ""
            if owner == self.worker_id:
                dead = not self.in_task  # left by this worker before a database outage
            else:
                other = seen.get(owner)
                dead = (
                    other is None
                    or other.seen_at < now - stale
                    or (
                        other.host == self.host
                        and (other.pid == os.getpid() or not process_alive(other.pid))
                    )
                )
            if not dead:
                continue
            if len(row.worker_ids) >= MAX_ATTEMPTS:
                lost = WorkerLost(f"the worker died during each of {len(row.worker_ids)} runs")
                if DBTaskResult.objects.filter(pk=row.pk, started_at=row.started_at).exists():
                    self._failed(row, lost)
                continue
            if put_back(row, now):
                log.warning("task %s (%s) was left by worker %s; queued again", row.pk,
                            row.task_path, owner or "?")  # fmt: skip
        for other in seen.values():
            gone = other.seen_at < now - 10 * stale or (
                other.host == self.host
                and other.worker_id != self.worker_id
                and not process_alive(other.pid)
            )
            if gone:
                WorkerSeen.objects.filter(pk=other.pk, seen_at=other.seen_at).delete()
        services.enqueue_lost(now)
        services.run_sweeps(now)


def tidy_connections() -> None:
    """Drop connections that failed or outlived their age, as Django does between requests;
    never inside a caller's transaction (a test runs the worker inside its own)."""
    if not db_connection.in_atomic_block:
        close_old_connections()


def put_back(row: DBTaskResult[Any, Any], when: dt.datetime) -> bool:
    """READY again from `when`, unless someone else took or finished it meanwhile."""
    return bool(
        DBTaskResult.objects.filter(
            pk=row.pk, status=TaskResultStatus.RUNNING, started_at=row.started_at
        ).update(status=TaskResultStatus.READY, run_after=when)
    )
