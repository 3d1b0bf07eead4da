"""Records and their versions.

A version's XML lives in the file storage under its SHA-256; the row keeps the hash. Once a
version is ISSUED it never changes: the only thing that may still happen to it is to become
SUPERSEDED (a correction was issued) or REVOKED (a revocation was issued). Every other change
is refused here, in the model layer, whatever path it comes from.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from hocba.blobs import BlobRef, Kind
from hocba.formats.report import VERDICT_WORDS, Verdict, language_of
from hocba.organizations.models import ClassGroup, School, SchoolYear
from hocba.organizations.permissions import ScopePaths, register_scope
from hocba.students.models import Student


class State(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    SIGNING = "SIGNING", _("Being signed")
    ISSUED = "ISSUED", _("Issued")
    SUPERSEDED = "SUPERSEDED", _("Superseded")
    REVOKED = "REVOKED", _("Revoked")


class Event(models.TextChoices):
    NEW = "NEW", _("New")
    UPDATE = "UPDATE", _("Correction")
    CANCEL = "CANCEL", _("Revocation")


FROZEN = frozenset({State.ISSUED, State.SUPERSEDED, State.REVOKED})
#: The only changes an issued version allows: it is closed by a later issued version.
CLOSING = {(State.ISSUED, State.SUPERSEDED), (State.ISSUED, State.REVOKED)}


class ImmutableVersionError(RuntimeError):
    """An issued version cannot be changed or deleted."""


class Record(models.Model):
    record_id = models.UUIDField(_("record id"), default=uuid.uuid4, unique=True, editable=False)
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="records")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="records")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="records")
    class_group = models.ForeignKey(ClassGroup, on_delete=models.PROTECT, related_name="records")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("student record")
        verbose_name_plural = _("student records")
        ordering = ["class_group", "student__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["student", "school_year"], name="one_record_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.student} — {self.school_year}"

    def latest(self) -> RecordVersion | None:
        return self.versions.order_by("-version").first()

    def current(self) -> RecordVersion | None:
        """The issued version in force (not superseded, not revoked), if any."""
        return self.versions.filter(state=State.ISSUED).order_by("-version").first()


class VersionQuerySet(models.QuerySet["RecordVersion"]):
    def update(self, **kwargs: Any) -> int:
        if self.filter(state__in=FROZEN).exists():
            raise ImmutableVersionError("issued versions cannot be changed")
        return super().update(**kwargs)

    def close(self, state: str, at: Any) -> int:
        """Close the issued versions among these (ISSUED → SUPERSEDED or REVOKED, with the
        time): the one change an issued version allows, as `RecordVersion.save` does."""
        if (State.ISSUED, state) not in CLOSING:
            raise ImmutableVersionError(f"issued versions cannot become {state}")
        return models.QuerySet.update(self.filter(state=State.ISSUED), state=state, closed_at=at)

    def delete(self) -> tuple[int, dict[str, int]]:
        if self.filter(state__in=FROZEN).exists():
            raise ImmutableVersionError("issued versions cannot be deleted")
        return super().delete()


class RecordVersion(models.Model):
    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    event = models.CharField(_("event"), max_length=6, choices=Event.choices)
    status = models.PositiveSmallIntegerField(
        _("status"), choices=[(1, _("In force")), (2, _("Revoked"))], default=1
    )
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    xml_sha256 = models.CharField(_("SHA-256 of the XML"), max_length=64)
    xml_size = models.PositiveIntegerField(_("size"))
    reason = models.TextField(_("reason"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("superseded or revoked at"), null=True, blank=True)

    objects = VersionQuerySet.as_manager()

    class Meta:
        verbose_name = _("record version")
        verbose_name_plural = _("record versions")
        ordering = ["record", "version"]
        constraints = [models.UniqueConstraint(fields=["record", "version"], name="version_once")]

    def __str__(self) -> str:
        return f"{self.record} v{self.version} ({self.get_state_display()})"

    @property
    def storage_name(self) -> str:
        return storage_name(self.xml_sha256)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).values().first()
            if stored is not None and stored["state"] in FROZEN:
                changed = {
                    f.attname
                    for f in self._meta.concrete_fields
                    if stored[f.attname] != getattr(self, f.attname)
                }
                allowed = (stored["state"], self.state) in CLOSING and changed <= {
                    "state",
                    "closed_at",
                }
                if not allowed:
                    raise ImmutableVersionError(
                        f"version {self.version} is {stored['state']} and cannot be changed"
                    )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if self.state in FROZEN:
            raise ImmutableVersionError("issued versions cannot be deleted")
        return super().delete(*args, **kwargs)


def storage_name(sha256: str) -> str:
    return BlobRef(Kind.RECORD_XML, sha256).name


register_scope(
    Record,
    ScopePaths(
        class_group="class_group",
        school="school",
        district_office="school__district_office",
        commune="school__managing_commune",
        province_office="school__province_office",
    ),
)
register_scope(
    RecordVersion,
    ScopePaths(
        class_group="record__class_group",
        school="record__school",
        district_office="record__school__district_office",
        commune="record__school__managing_commune",
        province_office="record__school__province_office",
    ),
)


class ExternalRecordQuerySet(models.QuerySet["ExternalRecord"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableVersionError("a record issued by another system cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableVersionError("a record issued by another system cannot be deleted")


class ExternalRecord(models.Model):
    """A record another system issued, imported as it was received: its XML is kept byte for
    byte (by SHA-256, in the blob store) with the verification report it had when imported.

    It is not a `Record`: it has no drafts, no signing, no outbox and no corrections (those
    belong to its issuer), so nothing of hocba's own lifecycle can reach it. Written once by
    the import service; never changed or deleted afterwards."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="external_records")
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, related_name="external_records",
        help_text=_("the school that imported it"),
    )  # fmt: skip
    record_id = models.CharField(_("record id"), max_length=36)
    version = models.PositiveIntegerField(_("version"))
    issuer_code = models.CharField(_("issuing school's code"), max_length=20)
    issuer_name = models.CharField(_("issuing school"), max_length=255)
    school_year = models.CharField(_("school year"), max_length=9)
    grade = models.PositiveSmallIntegerField(_("grade"))
    class_name = models.CharField(_("class"), max_length=20, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    xml_sha256 = models.CharField(_("SHA-256 of the XML"), max_length=64)
    xml_size = models.PositiveIntegerField(_("size"))
    verdict = models.CharField(_("verification verdict"), max_length=20)
    report = models.JSONField(_("verification report at import"))
    verified_at = models.DateTimeField(_("verified at"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    imported_at = models.DateTimeField(_("imported at"), auto_now_add=True)

    objects = ExternalRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("record issued by another system")
        verbose_name_plural = _("records issued by other systems")
        ordering = ["student__full_name", "school_year", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "record_id", "version"], name="external_version_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} — {self.school_year} ({self.issuer_name})"

    @property
    def verdict_text(self) -> str:
        """The verification verdict at import, in the page's language."""
        try:
            verdict = Verdict(self.verdict)
        except ValueError:
            return self.verdict
        return VERDICT_WORDS[verdict].text(language_of(get_language()))

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableVersionError("a record issued by another system cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableVersionError("a record issued by another system cannot be deleted")


# read at the importing school and above: not by class, since a pupil's enrolments reach every
# class they ever attended, and a teacher of one of them is no reader of another system's records
register_scope(
    ExternalRecord,
    ScopePaths(
        school="school",
        commune="school__managing_commune",
        district_office="school__district_office",
        province_office="school__province_office",
    ),
)
