"""The sending side: an outbox of issued record versions, and the packages that carry them.

An outbox row is written in the same transaction that issues a version (a new record, a
correction or a revocation), so nothing issued can be forgotten; a warehouse with an upstream
writes one for each record it accepts (forwarding). A package is built and sealed in one
transaction with the rows it carries, then submitted until the warehouse has it (it is
idempotent by package id), then polled until every row has its answer. A package the warehouse
did not take as it was (too large, or refused as a whole) gives its rows back to the outbox and
is never sent again; only a per-record answer rejects a row, and not one the warehouse
documents as transient (`formats.package.TRANSIENT_CODES`): that row goes back to the outbox
and waits before it is sent again.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutgoingPackage(models.Model):
    class State(models.TextChoices):
        BUILT = "BUILT", _("Built, not yet received")
        SUBMITTED = "SUBMITTED", _("Received, waiting for answers")
        DONE = "DONE", _("Answered")
        REPACKED = "REPACKED", _("Not taken as it was; its records were packed again")

    package_id = models.UUIDField(_("package id"), default=uuid.uuid4, unique=True)
    sender_code = models.CharField(_("sender"), max_length=20)
    state = models.CharField(_("state"), max_length=10, choices=State.choices)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    records = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    code = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing package")
        verbose_name_plural = _("outgoing packages")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.package_id} ({self.state})"

    @property
    def storage_name(self) -> str:
        return f"exchange/packages/{self.sha256[:2]}/{self.sha256}.xml"


class OutboxItem(models.Model):
    class State(models.TextChoices):
        PENDING = "PENDING", _("Waiting to be sent")
        SENT = "SENT", _("Sent, waiting for the answer")
        ACCEPTED = "ACCEPTED", _("Accepted")
        REJECTED = "REJECTED", _("Rejected")

    record_id = models.UUIDField(_("record id"))
    version = models.PositiveIntegerField(_("version"))
    event = models.CharField(_("event"), max_length=6)
    xml_sha256 = models.CharField(max_length=64)
    sender_code = models.CharField(
        _("sender"), max_length=20, help_text=_("the school code, or the Sở code when forwarding")
    )
    school_code = models.CharField(_("school"), max_length=20)
    school_year = models.CharField(_("school year"), max_length=9)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    package = models.ForeignKey(
        OutgoingPackage, on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    code = models.CharField(_("answer code"), max_length=40, blank=True)
    message = models.TextField(_("answer"), blank=True)
    sends = models.PositiveIntegerField(_("times packed"), default=0)
    retries = models.PositiveIntegerField(
        _("times to be sent again"),
        default=0,
        db_default=0,
        help_text=_("answers that asked for the record to be sent again later"),
    )
    next_attempt_at = models.DateTimeField(
        _("not sent before"),
        null=True,
        blank=True,
        help_text=_("after an answer asking for it to be sent again later"),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox item")
        verbose_name_plural = _("outbox items")
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["record_id", "version", "sender_code"], name="outbox_once"
            )
        ]
        indexes = [models.Index(fields=["state", "sender_code"])]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version} ({self.state})"


class Credential(models.Model):
    """How one sender signs in at the upstream warehouse (a school's, or this Sở's account)."""

    sender_code = models.CharField(_("sender"), max_length=20, unique=True)
    client_id = models.CharField(_("client id"), max_length=80)
    client_secret = models.CharField(
        _("client secret"),
        max_length=200,
        blank=True,
        help_text=_("empty: taken from HOCBA_UPSTREAM_CLIENT_SECRET"),
    )

    class Meta:
        verbose_name = _("warehouse credential")
        verbose_name_plural = _("warehouse credentials")

    def __str__(self) -> str:
        return f"{self.sender_code} → {self.client_id}"


class SenderState(models.Model):
    """How sending goes for one sender: paused after the warehouse refused a package as a whole
    (or a package could not be sealed), with the reason shown on the outbox page, and the
    package size the warehouse was found to take.

    While paused, the sender tries again with one record at a time (a small package, so a
    configuration that is still wrong costs the warehouse little), waiting longer after each
    refusal; the first package answered record by record ends the pause."""

    sender_code = models.CharField(_("sender"), max_length=20, unique=True)
    code = models.CharField(
        _("reason code"), max_length=40, blank=True, help_text=_("empty: sending is not paused")
    )
    message = models.TextField(_("reason"), blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    package_bytes = models.PositiveIntegerField(
        default=0,
        help_text=_("the largest package the warehouse was found to take (0: not limited)"),
    )

    class Meta:
        verbose_name = _("sending state")
        verbose_name_plural = _("sending states")

    def __str__(self) -> str:
        return f"{self.sender_code}: {self.code or 'OK'}"

    @property
    def paused(self) -> bool:
        return bool(self.code)
