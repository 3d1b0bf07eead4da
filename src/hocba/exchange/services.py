"""Sending issued records upward: outbox → sealed packages → submission → acknowledgements.

Every step is a transaction or an idempotent call, so a sender killed at any point and started
again (or a warehouse that went away and came back) ends with every record answered exactly
once:

- `enqueue` writes the outbox row inside the transaction that issues the version;
- `pack` builds and seals a package and marks its rows in one transaction;
- `submit` posts a built package; the warehouse keeps one package per id, so posting again after
  a lost answer is harmless; failures wait with exponential backoff;
- `poll` asks for the answers and records them (DUPLICATE counts as accepted: the warehouse
  already holds exactly these bytes);
- `resend` puts rejected rows back in the outbox (after the cause was fixed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hocba.exchange import package as pkg
from hocba.exchange.client import Client, Refused, TransportError
from hocba.exchange.models import Credential, OutboxItem, OutgoingPackage
from hocba.records.models import storage_name

log = logging.getLogger(__name__)

RETRYABLE_REFUSALS = frozenset(
    {"invalid_client", "invalid_token", "NO_CREDENTIAL", "access_denied"}
)


# --- filling the outbox ----------------------------------------------------------------------


def enqueue(version: Any) -> OutboxItem:
    """The outbox row for an issued version (called inside the issuing transaction). Rows are
    written whether or not an upstream is configured yet: configuring one later sends them."""
    record = version.record
    item, _ = OutboxItem.objects.get_or_create(
        record_id=record.record_id,
        version=version.version,
        sender_code=record.school.code,
        defaults={
            "event": version.event,
            "xml_sha256": version.xml_sha256,
            "school_code": record.school.code,
            "school_year": record.school_year.name,
        },
    )
    return item


def enqueue_forward(entry: pkg.Entry, facts: Any) -> OutboxItem:
    """A record this warehouse accepted, to be forwarded under the warehouse's own account."""
    item, _ = OutboxItem.objects.get_or_create(
        record_id=entry.record_id,
        version=entry.version,
        sender_code=settings.WAREHOUSE_CODE,
        defaults={
            "event": entry.event,
            "xml_sha256": entry.sha256,
            "school_code": facts.school_code,
            "school_year": facts.school_year,
        },
    )
    return item


# --- who seals ---------------------------------------------------------------------------


def sender_for(sender_code: str) -> tuple[pkg.Sender, Any]:
    """The package sender and the signer holding its organisation key."""
    from hocba.organizations.models import School

    school = School.objects.filter(code=sender_code).first()
    if school is not None:
        from hocba.signing.devpki import org_label, token_signer

        return pkg.Sender("TRUONG", school.code, school.tax_code), token_signer(
            school, org_label(school)
        )
    if sender_code and sender_code == settings.WAREHOUSE_CODE:
        from pathlib import Path

        from hocba.signing.certs import tax_code_of
        from hocba.signing.signers import Pkcs12Signer

        path = os.environ.get("HOCBA_UPSTREAM_P12", "")
        if not path:
            raise Refused("NO_SEAL_KEY", "Chưa cấu hình chứng thư số của Sở (HOCBA_UPSTREAM_P12)")
        signer = Pkcs12Signer.from_file(
            Path(path), os.environ.get("HOCBA_UPSTREAM_P12_PASSWORD", "")
        )
        return pkg.Sender("SO", sender_code, tax_code_of(signer.certificate) or ""), signer
    raise Refused("UNKNOWN_SENDER", f"Không biết đơn vị gửi {sender_code}")


def _counts(school_codes: Iterable[tuple[str, str]]) -> list[pkg.SchoolCount]:
    """The sending schools' own figures for the years of a package."""
    from hocba.organizations.models import School
    from hocba.warehouse.stats import school_figures

    counts = []
    for code, year in sorted(set(school_codes)):
        school = School.objects.filter(code=code).first()
        if school is not None:
            counts.append(pkg.SchoolCount(code, year, *school_figures(school, year)))
    return counts


def _forwarded_counts(pairs: Iterable[tuple[str, str]]) -> list[pkg.SchoolCount]:
    """What the schools of a forwarded package last reported to this warehouse."""
    from hocba.warehouse.models import SchoolCount

    counts = []
    for code, year in sorted(set(pairs)):
        row = SchoolCount.objects.filter(school_code=code, school_year=year).first()
        if row is not None:
            counts.append(pkg.SchoolCount(code, year, row.students, row.created, row.issued))
    return counts


def read_content(item: OutboxItem) -> bytes:
    with default_storage.open(storage_name(item.xml_sha256), "rb") as handle:
        data: bytes = handle.read()
    if hashlib.sha256(data).hexdigest() != item.xml_sha256:
        raise RuntimeError(f"stored XML of {item.record_id} v{item.version} does not match")
    return data


# --- the sender's steps ----------------------------------------------------------------------


def pack(sender_code: str, limit: int | None = None) -> OutgoingPackage | None:
    """Seal one package of waiting rows of `sender_code` (None when nothing waits)."""
    limit = limit or settings.EXCHANGE_PACKAGE_RECORDS
    sender, signer = sender_for(sender_code)
    try:
        with transaction.atomic():
            items = list(
                OutboxItem.objects.select_for_update()
                .filter(state=OutboxItem.State.PENDING, sender_code=sender_code)
                .order_by("created_at", "pk")[:limit]
            )
            if not items:
                return None
            entries, size = [], 0
            for item in items:
                content = read_content(item)
                if entries and size + len(content) * 4 // 3 > settings.EXCHANGE_PACKAGE_BYTES:
                    break
                size += len(content) * 4 // 3
                entries.append(pkg.Entry(str(item.record_id), item.version, item.event, content))
            items = items[: len(entries)]
            pairs = [(i.school_code, i.school_year) for i in items]
            counts = _counts(pairs) if sender.kind == "TRUONG" else _forwarded_counts(pairs)
            package = OutgoingPackage(sender_code=sender_code, state=OutgoingPackage.State.BUILT)
            root = pkg.build(sender, entries, counts, package_id=str(package.package_id))
            data = pkg.seal(root, signer)
            package.sha256 = hashlib.sha256(data).hexdigest()
            package.size = len(data)
            package.records = len(items)
            if not default_storage.exists(package.storage_name):
                default_storage.save(package.storage_name, ContentFile(data))
            package.save()
            OutboxItem.objects.filter(pk__in=[i.pk for i in items]).update(
                state=OutboxItem.State.SENT,
                package=package,
                code="",
                message="",
                sends=F("sends") + 1,
            )
            return package
    finally:
        signer.close()


def _backoff(package: OutgoingPackage, error: str, now: dt.datetime) -> None:
    package.attempts += 1
    delay = min(settings.EXCHANGE_BACKOFF_SECONDS * 2 ** (package.attempts - 1), 600)
    package.next_attempt_at = now + dt.timedelta(seconds=delay)
    package.last_error = error[:2000]
    package.save(update_fields=["attempts", "next_attempt_at", "last_error"])


def _due(now: dt.datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def submit(client: Client, package: OutgoingPackage, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    with default_storage.open(package.storage_name, "rb") as handle:
        data = handle.read()
    try:
        client.submit(package.sender_code, data)
    except TransportError as error:
        _backoff(package, str(error), now)
        return False
    except Refused as refused:
        if refused.code in RETRYABLE_REFUSALS:
            _backoff(package, str(refused), now)
            return False
        _finish_refused(package, refused.code, refused.message)
        return True
    package.state = OutgoingPackage.State.SUBMITTED
    package.submitted_at = now
    package.attempts = 0
    package.next_attempt_at = None
    package.last_error = ""
    package.save(
        update_fields=["state", "submitted_at", "attempts", "next_attempt_at", "last_error"]
    )
    return True


def _finish_refused(package: OutgoingPackage, code: str, message: str) -> None:
    with transaction.atomic():
        package.items.update(
            state=OutboxItem.State.REJECTED, code=code, message=message, answered_at=timezone.now()
        )
        package.state = OutgoingPackage.State.DONE
        package.code, package.message = code, message
        package.done_at = timezone.now()
        package.save(update_fields=["state", "code", "message", "done_at"])


def poll(client: Client, package: OutgoingPackage, now: dt.datetime | None = None) -> bool:
    """Record the answers if the warehouse has them; True when the package is answered."""
    now = now or timezone.now()
    try:
        body = client.status(package.sender_code, str(package.package_id))
    except TransportError as error:
        _backoff(package, str(error), now)
        return False
    except Refused as refused:
        _backoff(package, str(refused), now)
        return False
    if body is None:  # the warehouse does not have it (lost before it was kept): post again
        package.state = OutgoingPackage.State.BUILT
        package.save(update_fields=["state"])
        return False
    status = body.get("status")
    if status == "REJECTED":
        _finish_refused(package, str(body.get("code", "")), str(body.get("message", "")))
        return True
    if status != "DONE":
        return False
    answers = {(a["record_id"], int(a["version"])): a for a in body.get("acks", [])}
    with transaction.atomic():
        for item in package.items.select_for_update():
            answer = answers.get((str(item.record_id), item.version))
            if answer is None:
                item.state, item.code = OutboxItem.State.REJECTED, "NO_ANSWER"
                item.message = "Kho học bạ không trả lời cho học bạ này"
            else:
                accepted = answer["status"] == "ACCEPTED"
                item.state = OutboxItem.State.ACCEPTED if accepted else OutboxItem.State.REJECTED
                item.code, item.message = answer["code"], answer["message"]
            item.answered_at = now
            item.save(update_fields=["state", "code", "message", "answered_at"])
        package.state = OutgoingPackage.State.DONE
        package.done_at = now
        package.save(update_fields=["state", "done_at"])
    return True


@dataclass
class Round:
    packed: int = 0
    submitted: int = 0
    answered: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return (
            not self.waiting
            and not OutboxItem.objects.filter(state=OutboxItem.State.PENDING).exists()
        )


def run_once(client: Client, now: dt.datetime | None = None) -> Round:
    """One round: pack what waits, submit what is built and due, poll what was submitted."""
    now = now or timezone.now()
    result = Round()
    senders = (
        OutboxItem.objects.filter(state=OutboxItem.State.PENDING)
        .values_list("sender_code", flat=True)
        .distinct()
    )
    for sender_code in sorted(set(senders)):
        try:
            while pack(sender_code) is not None:
                result.packed += 1
        except Refused as refused:
            result.errors.append(f"{sender_code}: {refused}")
    for package in OutgoingPackage.objects.filter(_due(now), state=OutgoingPackage.State.BUILT):
        if submit(client, package, now):
            result.submitted += 1
        elif package.last_error:
            result.errors.append(f"{package.package_id}: {package.last_error}")
    for package in OutgoingPackage.objects.filter(_due(now), state=OutgoingPackage.State.SUBMITTED):
        if poll(client, package, now):
            result.answered += 1
    result.waiting = OutgoingPackage.objects.exclude(state=OutgoingPackage.State.DONE).count()
    return result


def send_all(client: Client, rounds: int = 50, pause: float = 0.2) -> Round:
    """Rounds until nothing waits (or `rounds` ran); the last round's summary."""
    import time

    result = Round()
    for _ in range(rounds):
        result = run_once(client)
        if result.idle:
            break
        time.sleep(pause)
    return result


def set_credential(sender_code: str, client_id: str, secret: str) -> Credential:
    """How `sender_code` (a school, or this Sở) signs in at the upstream warehouse."""
    credential, _ = Credential.objects.update_or_create(
        sender_code=sender_code, defaults={"client_id": client_id, "client_secret": secret}
    )
    return credential


def resend(items: Iterable[OutboxItem]) -> int:
    """Put rejected rows back in the outbox (a new package carries them)."""
    pks = [i.pk for i in items if i.state == OutboxItem.State.REJECTED]
    return OutboxItem.objects.filter(pk__in=pks, state=OutboxItem.State.REJECTED).update(
        state=OutboxItem.State.PENDING, package=None
    )
