"""Sealed PDF views of record versions, and the batches that draw them.

A view is derived from its version's signed XML; it is stored once by SHA-256 (like the XML) and
never changed. A batch (`RenderJob`) draws a class or a school as a background task and reports
its progress through its job; what it leaves is one file per student, a ZIP and one merged PDF
per class.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from hocba.jobs.models import Job
from hocba.organizations.models import ClassGroup, School
from hocba.records.models import RecordVersion


class Document(models.Model):
    version = models.OneToOneField(
        RecordVersion, on_delete=models.PROTECT, related_name="document", verbose_name=_("version")
    )
    pdf_sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    pdf_size = models.PositiveIntegerField(_("size"))
    pades_level = models.CharField(_("PAdES level"), max_length=8)
    sealed_by = models.CharField(_("sealed by"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("printable view")
        verbose_name_plural = _("printable views")

    def __str__(self) -> str:
        return f"PDF {self.version}"

    @property
    def storage_name(self) -> str:
        return pdf_storage_name(self.pdf_sha256)


def pdf_storage_name(sha256: str) -> str:
    return f"documents/{sha256[:2]}/{sha256}.pdf"


class RenderJob(models.Model):
    """A batch of views to draw: a class, a school, or the versions a signing batch has just
    issued. Its progress is its `Job` (`hocba.jobs`), updated by the task that draws it."""

    progress = models.OneToOneField(
        Job, on_delete=models.PROTECT, related_name="render_batch", verbose_name=_("progress")
    )
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    version_ids = models.JSONField(default=list, blank=True)
    """When not empty, the batch covers these versions only (what a signing batch issued)."""
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    failed = models.JSONField(default=list, blank=True)
    """[{"version": id, "code": …, "message": …}] for versions that could not be drawn."""
    outputs = models.JSONField(default=dict, blank=True)
    """Storage names: {"zip": …, "merged": {class name: …}}."""
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("rendering batch")
        verbose_name_plural = _("rendering batches")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        where = self.class_group.name if self.class_group_id else self.school.name
        return f"{where}: {self.progress.done}/{self.progress.total}"
