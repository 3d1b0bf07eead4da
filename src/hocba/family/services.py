"""Who may see which record, and share links."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from hocba.audit.services import record_event
from hocba.family.models import ShareLink, StudentAccess
from hocba.records.models import ExternalRecord, Record

MAX_DAYS = 90


class ShareError(ValueError):
    pass


def own_records(user: Any) -> QuerySet[Record]:
    students = StudentAccess.objects.filter(user=user).values("student")
    return Record.objects.filter(student__in=students).select_related(
        "student", "school", "school_year", "class_group"
    )


def own_external_records(user: Any) -> QuerySet[ExternalRecord]:
    """The records other systems issued to the user's own students (imported by a school)."""
    students = StudentAccess.objects.filter(user=user).values("student")
    return ExternalRecord.objects.filter(student__in=students).select_related("student")


def own_record(user: Any, record_id: str) -> Record:
    """The user's own (or their child's) record; 403 for someone else's, 404 for none."""
    try:
        key = uuid.UUID(str(record_id))
    except ValueError:
        raise Http404 from None
    record = own_records(user).filter(record_id=key).first()
    if record is None:
        if Record.objects.filter(record_id=key).exists():
            raise PermissionDenied(_("This is not your record or your child's"))
        raise Http404
    return record


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(
    user: Any, record: Record, recipient: str, days: int, request: HttpRequest | None = None
) -> tuple[str, ShareLink]:
    recipient = recipient.strip()
    if not recipient:
        raise ShareError(
            _("Say whom you share with (for example: … High School – admissions board)")
        )
    if not 1 <= days <= MAX_DAYS:
        raise ShareError(_("The link lasts from 1 to %(max)d days") % {"max": MAX_DAYS})
    token = secrets.token_urlsafe(24)
    with transaction.atomic():
        link = ShareLink.objects.create(
            record=record,
            token_hash=token_hash(token),
            recipient=recipient[:200],
            created_by=user,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        record_event(
            user, "family.share.create", link, new={"recipient": link.recipient, "days": days},
            request=request,
        )  # fmt: skip
    return token, link


def revoke_link(user: Any, link: ShareLink, request: HttpRequest | None = None) -> None:
    if link.revoked_at is None:
        with transaction.atomic():
            link.revoked_at = timezone.now()
            link.save(update_fields=["revoked_at"])
            record_event(user, "family.share.revoke", link, request=request)


def open_link(token: str, request: HttpRequest | None = None) -> ShareLink | None:
    """The link if it is valid (None: unknown); raises ShareError when expired or revoked. Each
    successful opening is counted and written to the audit log."""
    link = (
        ShareLink.objects.select_related("record__student", "record__school")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        return None
    if link.revoked_at is not None:
        raise ShareError(_("The person who shared this link has revoked it"))
    if link.expires_at <= timezone.now():
        raise ShareError(_("The link has expired"))
    with transaction.atomic():
        ShareLink.objects.filter(pk=link.pk).update(
            opened=link.opened + 1, last_opened_at=timezone.now()
        )
        record_event(
            f"liên kết chia sẻ ({link.recipient})", "family.share.open", link,
            new={"recipient": link.recipient}, request=request,
        )  # fmt: skip
    return link
