"""Writing and checking the audit chain. `record_event` must run inside the transaction of the
change it records, so the change and its evidence commit together or not at all."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.http import HttpRequest
from django.utils import timezone

from hocba import ratelimit
from hocba.audit.models import GENESIS, AuditEvent, AuditHead


def _plain(value: Any) -> Any:
    """JSON-ready values, as they will read back from the database."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def client_address(request: HttpRequest | None) -> str | None:
    """Where a change came from: the client's address, behind trusted proxies too."""
    if request is None:
        return None
    return ratelimit.client_address(request.META) or None


def record_event(
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str | None = None,
    object_id: str | int | None = None,
    summary: str = "",
    old: Any = None,
    new: Any = None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> AuditEvent:
    """Append one event to the chain (call inside the transaction of the change)."""
    entry = Entry(action, obj, object_type, object_id, summary, old, new, reason)
    return record_events(actor, [entry], request=request)[0]


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of `record_events`, with the meaning of `record_event`'s arguments."""

    action: str
    obj: models.Model | None = None
    object_type: str | None = None
    object_id: str | int | None = None
    summary: str = ""
    old: Any = None
    new: Any = None
    reason: str = ""


def record_events(
    actor: Any, entries: list[Entry], request: HttpRequest | None = None
) -> list[AuditEvent]:
    """Append events to the chain in their order, by one actor, under one lock of the chain's
    head and in one insert (a batch that changes many rows; call inside its transaction)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change")
    if not entries:
        return []
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
    user = actor if getattr(actor, "is_authenticated", False) else None
    actor_name = (user.get_username() if user is not None else str(actor or "system"))[:150]
    address = client_address(request)
    at = timezone.now()
    previous = head.last_hash
    events = []
    for entry in entries:
        obj = entry.obj
        event = AuditEvent(
            at=at,
            actor=user,
            actor_name=actor_name,
            action=entry.action,
            object_type=entry.object_type or (obj._meta.label if obj is not None else ""),
            object_id=str(
                entry.object_id if entry.object_id is not None else getattr(obj, "pk", "")
            ),
            summary=entry.summary[:300],
            old=_plain(entry.old),
            new=_plain(entry.new),
            reason=entry.reason,
            client_address=address,
            prev_hash=previous,
        )
        event.hash = previous = event.compute_hash()
        events.append(event)
    if len(events) == 1:
        events[0].save()
    else:
        AuditEvent.objects.bulk_create(events)
    AuditHead.objects.filter(pk=head.pk).update(last_hash=previous, count=head.count + len(events))
    return events


@dataclass(frozen=True, slots=True)
class ChainReport:
    intact: bool
    events: int
    first_bad: AuditEvent | None = None
    problem: str = ""


def verify_chain() -> ChainReport:
    """Walk every event in order: each hash must match its content and the previous hash."""
    previous = GENESIS
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if event.prev_hash != previous:
            return ChainReport(False, count, event, "does not follow the previous event")
        if event.compute_hash() != event.hash:
            return ChainReport(False, count, event, "content does not match its hash")
        previous = event.hash
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.last_hash != previous or head.count != count):
        return ChainReport(False, count, None, "events are missing from the end of the chain")
    return ChainReport(True, count)
