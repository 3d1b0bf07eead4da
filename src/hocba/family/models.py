"""Students' and parents' own access to their records, and the links they share.

A share link is a random token (only its SHA-256 is kept) that lets one named recipient (a
school, an admission office) open the record's version in force until the link expires or is
revoked; every opening is written to the audit log.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hocba.records.models import Record
from hocba.students.models import Student


class StudentAccess(models.Model):
    class Relation(models.TextChoices):
        SELF = "SELF", _("Student")
        PARENT = "PARENT", _("Parent or guardian")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="student_access"
    )
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="access")
    relation = models.CharField(_("relation"), max_length=6, choices=Relation.choices)

    class Meta:
        verbose_name = _("student access")
        verbose_name_plural = _("student access")
        constraints = [
            models.UniqueConstraint(fields=["user", "student"], name="student_access_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.student} ({self.relation})"


class ShareLink(models.Model):
    record = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    recipient = models.CharField(_("shared with"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    opened = models.PositiveIntegerField(_("times opened"), default=0)
    last_opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.record} → {self.recipient}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
