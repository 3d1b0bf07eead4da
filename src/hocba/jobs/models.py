"""The persisted side of background work: what a job has done, for the pages that show it, and
which workers are alive, so that a task left running by a killed worker is taken again.

A `Job` is what a user started (a class to draw, a batch to send): its state, how far it got
(done of total) and, when it failed, why. The task that does the work updates it; pages read it.
The task queue itself is django-tasks' (the database backend's table, or Redis).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "QUEUED", _("Queued")
        RUNNING = "RUNNING", _("Running")
        DONE = "DONE", _("Done")
        FAILED = "FAILED", _("Failed")

    kind = models.CharField(_("kind"), max_length=60)
    """What the job does, as the task's dotted path (`hocba.documents.tasks.render_batch`)."""
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    error = models.TextField(_("error"), blank=True)
    """Why the job failed, in a sentence for the page (the traceback stays with the task)."""
    arguments = models.JSONField(_("arguments"), default=dict, blank=True)
    """The task's keyword arguments besides `job_id`: enough to enqueue it again."""
    task_id = models.CharField(_("task"), max_length=64, blank=True)
    """The id of the task run that does it (empty until it is enqueued, after commit)."""
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "task_id"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.done}/{self.total} {self.state}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE and not self.total:
            return 100
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)


class WorkerSeen(models.Model):
    """A `hocba worker` process on the database backend, and when it last said it was alive
    (every few seconds, also while a task runs)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()

    class Meta:
        verbose_name = _("worker")
        verbose_name_plural = _("workers")

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} ({self.worker_id})"
