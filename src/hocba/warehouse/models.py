"""The warehouse (Kho học bạ số): accounts, received packages, acknowledgements, stored records.

A package is stored as received and processed in the background; each record in it gets one
acknowledgement. A stored record version is never changed: a higher version supersedes it, a
CANCEL version revokes it. Record XML lives in the file storage under its SHA-256, like the
school side's. Each record id has a head row, written before its first version is stored, that
the version rule locks (see `RecordHead`).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    """A school or a Sở that may submit to (and read from) this warehouse."""

    class Kind(models.TextChoices):
        SCHOOL = "SCHOOL", _("School")
        PROVINCE = "PROVINCE", _("Provincial department")
        MINISTRY = "MINISTRY", _("Ministry")

    client_id = models.CharField(_("client id"), max_length=80, unique=True)
    secret_hash = models.CharField(_("secret (hash)"), max_length=200)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    province_code = models.CharField(_("province code"), max_length=2, blank=True)
    """For a Sở: the province of the schools it answers for; for a school: its province
    (MA_TINH of its records)."""
    province_office_code = models.CharField(_("Sở code"), max_length=2, blank=True)
    """For a Sở: its own code in the Ministry's dictionary; for a school: the code of its Sở
    (MA_SO_GD of its records)."""
    school_code = models.CharField(_("school code"), max_length=20, blank=True)
    tax_code = models.CharField(_("tax code of the sealing certificate"), max_length=20, blank=True)
    scopes = models.CharField(_("scopes"), max_length=300)
    allowed_ips = models.TextField(
        _("allowed client addresses"), blank=True, help_text=_("one address or network per line")
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("warehouse account")
        verbose_name_plural = _("warehouse accounts")
        ordering = ["client_id"]

    def __str__(self) -> str:
        return f"{self.client_id} ({self.name})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class AccessToken(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.CharField(max_length=300)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("access token")
        verbose_name_plural = _("access tokens")

    def __str__(self) -> str:
        return f"token of {self.account.client_id} until {self.expires_at:%Y-%m-%d %H:%M}"


class ReceivedPackage(models.Model):
    """A package as received; processed by a worker, in one transaction, into one
    acknowledgement per record (DONE) or a refusal of the whole (REJECTED, with `code`).

    An attempt that fails is tried again later, waiting longer each time
    (`WAREHOUSE_RETRY_SECONDS`, doubled); after `WAREHOUSE_PROCESSING_ATTEMPTS` the package is
    answered as a whole with PACKAGE_PROCESSING_FAILED, which the sender takes as "send again
    later", never as a refusal of its records."""

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", _("Received")
        DONE = "DONE", _("Processed")
        REJECTED = "REJECTED", _("Rejected")

    package_id = models.UUIDField(_("package id"))
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="packages")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    code = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    records = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0, db_default=0)
    """Processing attempts begun, counted (and committed) before each one starts: an attempt
    that ends the worker's process counts too."""
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    """Workers leave the package alone until then (set when an attempt begins, for the case
    that it fails)."""
    last_error = models.TextField(_("last processing error"), blank=True, db_default="")
    """What made the last attempt fail (for the warehouse's operators; never sent to the
    sender)."""

    class Meta:
        verbose_name = _("received package")
        verbose_name_plural = _("received packages")
        ordering = ["received_at"]
        constraints = [
            models.UniqueConstraint(fields=["account", "package_id"], name="package_once")
        ]

    def __str__(self) -> str:
        return f"{self.package_id} ({self.status})"

    @property
    def storage_name(self) -> str:
        return f"warehouse/packages/{self.sha256[:2]}/{self.sha256}.xml"


class Ack(models.Model):
    """The answer for one record of a package."""

    class Status(models.TextChoices):
        ACCEPTED = "ACCEPTED", _("Accepted")
        REJECTED = "REJECTED", _("Rejected")

    package = models.ForeignKey(ReceivedPackage, on_delete=models.CASCADE, related_name="acks")
    position = models.PositiveIntegerField()
    record_id = models.CharField(max_length=36)
    version = models.PositiveIntegerField()
    school_code = models.CharField(max_length=20, blank=True)
    province_code = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    code = models.CharField(max_length=40)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["package", "position"]
        constraints = [models.UniqueConstraint(fields=["package", "position"], name="ack_once")]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version}: {self.code}"


class StoredRecord(models.Model):
    """One accepted record version (partitioned by school year on PostgreSQL, see docs).

    Each text field holds whatever the record schema allows in the element it is read from
    (`hocba-record.xsd`): a valid record is never refused by the database."""

    class State(models.TextChoices):
        CURRENT = "CURRENT", _("In force")
        SUPERSEDED = "SUPERSEDED", _("Superseded")
        REVOKED = "REVOKED", _("Revoked")

    record_id = models.UUIDField(_("record id"), db_index=True)
    version = models.PositiveIntegerField(_("version"))
    event = models.CharField(max_length=6)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CURRENT)
    school_year = models.CharField(max_length=9, db_index=True)
    province_code = models.CharField(max_length=2, db_index=True)
    province_office_code = models.CharField(max_length=2)
    district_name = models.CharField(max_length=250, blank=True)
    school_code = models.CharField(max_length=20, db_index=True)
    school_name = models.CharField(max_length=200)
    personal_id = models.CharField(max_length=12, db_index=True)
    xml_sha256 = models.CharField(max_length=64)
    xml_size = models.PositiveIntegerField()
    package = models.ForeignKey(
        ReceivedPackage, on_delete=models.PROTECT, related_name="stored", null=True
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("stored record")
        verbose_name_plural = _("stored records")
        ordering = ["record_id", "version"]
        constraints = [
            models.UniqueConstraint(fields=["record_id", "version"], name="stored_version_once"),
            # at most one version in force per record (the school year, the partition key on
            # PostgreSQL, is one per record id: the version rule refuses another)
            models.UniqueConstraint(
                fields=["record_id", "school_year"],
                condition=models.Q(state="CURRENT"),
                name="stored_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version} ({self.state})"


class RecordHead(models.Model):
    """One row per record id the warehouse has been sent, written (INSERT … ON CONFLICT DO
    NOTHING) before its first version is stored. Processing a package locks the head rows of
    its record ids (SELECT … FOR UPDATE, in record id order, so that two workers never wait on
    each other) before it reads what is stored and applies the version rule: the lock exists
    before the first version does, and it is keyed by the record id alone, whatever school
    year partition the versions land in."""

    record_id = models.UUIDField(_("record id"), primary_key=True)

    class Meta:
        verbose_name = _("record head")
        verbose_name_plural = _("record heads")

    def __str__(self) -> str:
        return str(self.record_id)


class SchoolCount(models.Model):
    """What a school last reported about itself (students expected, records created/issued):
    the report of the newest package, by the time the school made it (`reported_at`)."""

    school_code = models.CharField(max_length=20)
    school_year = models.CharField(max_length=9)
    province_code = models.CharField(max_length=2)
    district_name = models.CharField(max_length=250, blank=True)
    students = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    reported_at = models.DateTimeField()
    """When the school made the package that carried these figures (its THOI_GIAN_TAO): an
    older package processed later changes nothing."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["school_code", "school_year"], name="count_once")
        ]

    def __str__(self) -> str:
        return f"{self.school_code} {self.school_year}"


class CancelRequest(models.Model):
    """A request to withdraw a stored record (needs a reason; approved by the warehouse)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Pending approval")
        APPROVED = "APPROVED", _("Approved")
        REFUSED = "REFUSED", _("Refused")

    request_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    record_id = models.UUIDField()
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.record_id} ({self.status})"
