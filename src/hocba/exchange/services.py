"""Sending issued records upward: outbox → sealed packages → submission → acknowledgements.

Every step is a transaction or an idempotent call, so a sender killed at any point and started
again (or a warehouse that went away and came back) ends with every record answered exactly
once:

- `enqueue` writes the outbox row inside the transaction that issues the version (it listens
  to `records.signals.record_issued`), and enqueues a round of sending for when it commits
  (`send_soon`; a round is a task, `send_round`, run by `hocba worker`, which enqueues the next
  round while anything is on its way);
- `pack` builds and seals a package and marks its rows in one transaction; a package is never
  larger than the sender's limit (`EXCHANGE_PACKAGE_BYTES`, counted on the sealed bytes), nor
  than what the warehouse was found to take;
- `submit` posts a built package (a round posts each as soon as it is sealed); the warehouse
  keeps one package per id, so posting again after a lost answer is harmless;
- `poll` asks for the answers and records them (DUPLICATE counts as accepted: the warehouse
  already holds exactly these bytes; a transient answer such as PROCESSING_FAILED, or none,
  puts the row back in the outbox to be sent again after a wait, longer each time);
- `resend` puts rejected rows back in the outbox (after the cause was fixed).

Only the warehouse's answer for a record rejects that record, and not an answer the warehouse
documents as transient (its own failure: `formats.package.TRANSIENT_CODES`). Everything else
leaves the rows waiting, with the reason visible:

- no answer of the warehouse's own (a broken connection, a 5xx, 429, a proxy's HTML page, a
  2xx that is not a receipt): the same package is posted again later, waiting
  `EXCHANGE_BACKOFF_SECONDS`, doubled each time, at most `EXCHANGE_BACKOFF_MAX_SECONDS`;
- refused for its size (413): unless the warehouse turns out to hold it already, the package is
  retired and its rows go back to the outbox, to leave in packages half its size (the size is
  remembered for the sender);
- refused as a whole (the seal, the sender, the package itself; or the account): the rows go
  back to the outbox with the warehouse's reason (or the package waits, for an account
  problem), and sending for that sender pauses (`SenderState`): it tries again with a package of
  one record, waiting longer each time, until a package is answered record by record. Fixing the
  cause and pressing "send now" (`retry_now`) tries at once.

A retired package is never posted again, and its rows travel in new packages only after it was
retired in the same transaction, so no record is accepted from two packages.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from hocba import blobs
from hocba.blobs import BlobRef, Kind
from hocba.exchange.client import Client, Refused, TooLarge, TransportError
from hocba.exchange.models import Credential, OutboxItem, OutgoingPackage, SenderState
from hocba.formats import package as pkg
from hocba.signing import keys
from hocba.signing.package import seal as seal_package
from hocba.signing.signers import SignerError

log = logging.getLogger(__name__)

IN_FLIGHT = (OutgoingPackage.State.BUILT, OutgoingPackage.State.SUBMITTED)
FINISHED = (OutgoingPackage.State.DONE, OutgoingPackage.State.REPACKED)
MESSAGES = {
    "PACKAGE_TOO_LARGE": "Kho học bạ từ chối gói tin vì quá lớn; học bạ được đóng gói lại nhỏ hơn",
    "RECORD_TOO_LARGE": (
        "Kho học bạ từ chối cả gói tin chỉ có học bạ này vì quá lớn; học bạ chờ đến khi kho "
        "nhận gói tin cỡ này"
    ),
    "NO_ANSWER": "Kho học bạ chưa trả lời cho học bạ này; học bạ được gửi lại",
    "PACKAGE_REFUSED": "Kho học bạ từ chối cả gói tin",
    "NOT_A_RECEIPT": "Câu trả lời không phải biên nhận gói tin của kho học bạ",
}
SENT_AGAIN_LATER = "học bạ sẽ được gửi lại"
"""Added to the warehouse's message for a transient answer."""


# --- filling the outbox ----------------------------------------------------------------------


def enqueue(version: Any) -> OutboxItem:
    """The outbox row for an issued version (called inside the issuing transaction). Rows are
    written whether or not an upstream is configured yet: configuring one later sends them.
    With an upstream, a round of sending is enqueued for when the transaction commits."""
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
    send_soon()
    return item


def enqueue_issued(sender: Any, version: Any, **kwargs: Any) -> None:
    """`records.signals.record_issued`: the version goes in the outbox in the issuing
    transaction (connected in `ExchangeConfig.ready`)."""
    enqueue(version)


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
    send_soon()
    return item


# --- who seals ---------------------------------------------------------------------------


def sender_for(sender_code: str) -> tuple[pkg.Sender, Any]:
    """The package sender and the signer holding its organisation key."""
    from hocba.organizations.models import School

    school = School.objects.filter(code=sender_code).first()
    if school is not None:
        return pkg.Sender("TRUONG", school.code, school.tax_code), keys.school_signer(school)
    if sender_code and sender_code == settings.WAREHOUSE_CODE:
        from hocba.signing.certs import tax_code_of

        try:
            signer = keys.forwarding_signer()
        except keys.NoKey as missing:
            raise Refused(missing.code, missing.message) from None
        return pkg.Sender("SO", sender_code, tax_code_of(signer.certificate) or ""), signer
    raise Refused("UNKNOWN_SENDER", f"Không biết đơn vị gửi {sender_code}")


def _counts(school_codes: Iterable[tuple[str, str]]) -> list[pkg.SchoolCount]:
    """The sending schools' own figures for the years of a package."""
    from hocba.organizations.models import School
    from hocba.records.figures import school_figures

    counts = []
    for code, year in sorted(set(school_codes)):
        school = School.objects.filter(code=code).first()
        if school is not None:
            counts.append(pkg.SchoolCount(code, year, *school_figures(school, year)))
    return counts


def _forwarded_counts(pairs: Iterable[tuple[str, str]]) -> list[pkg.SchoolCount]:
    """What the schools of a forwarded package last reported to this warehouse (the
    warehouse's answer, named by the setting EXCHANGE_FORWARDED_COUNTS)."""
    reported = import_string(settings.EXCHANGE_FORWARDED_COUNTS)
    return [pkg.SchoolCount(*figures) for figures in reported(pairs)]


def read_content(item: OutboxItem) -> bytes:
    return blobs.get(BlobRef(Kind.RECORD_XML, item.xml_sha256))


# --- the sender's steps ----------------------------------------------------------------------


def package_bytes_for(sender_code: str) -> int:
    """The largest package `sender_code` builds: the setting, or less if the warehouse was
    found to take less."""
    learnt = (
        SenderState.objects.filter(sender_code=sender_code)
        .values_list("package_bytes", flat=True)
        .first()
    )
    limit = int(settings.EXCHANGE_PACKAGE_BYTES)
    return min(limit, learnt) if learnt else limit


def pack(
    sender_code: str, limit: int | None = None, now: dt.datetime | None = None
) -> OutgoingPackage | None:
    """Seal one package of waiting rows of `sender_code` that are due (None when none is)."""
    limit = limit or settings.EXCHANGE_PACKAGE_RECORDS
    now = now or timezone.now()
    max_bytes = package_bytes_for(sender_code)
    sender, signer = sender_for(sender_code)
    try:
        with transaction.atomic():
            items = list(
                OutboxItem.objects.select_for_update()
                .filter(_due(now), state=OutboxItem.State.PENDING, sender_code=sender_code)
                .order_by("created_at", "pk")[:limit]
            )
            if not items:
                return None
            contents, size = [], pkg.ENVELOPE_BYTES
            for item in items:
                content = read_content(item)
                size += pkg.entry_bytes(len(content))
                if contents and size > max_bytes:
                    break
                contents.append(content)
            return _seal(sender_code, sender, signer, items[: len(contents)], contents, max_bytes)
    finally:
        signer.close()


def _seal(
    sender_code: str,
    sender: pkg.Sender,
    signer: Any,
    items: Sequence[OutboxItem],
    contents: Sequence[bytes],
    max_bytes: int,
) -> OutgoingPackage:
    """Build, seal and keep the package of `items`, no larger than `max_bytes` (fewer records
    if the estimate was short; always at least one); mark the rows it carries."""
    while True:
        entries = [
            pkg.Entry(str(i.record_id), i.version, i.event, c)
            for i, c in zip(items, contents, strict=True)
        ]
        pairs = [(i.school_code, i.school_year) for i in items]
        counts = _counts(pairs) if sender.kind == "TRUONG" else _forwarded_counts(pairs)
        package = OutgoingPackage(sender_code=sender_code, state=OutgoingPackage.State.BUILT)
        root = pkg.build(sender, entries, counts, package_id=str(package.package_id))
        data = seal_package(root, signer)
        if len(data) <= max_bytes or len(items) == 1:
            break
        keep = max(1, min(len(items) - 1, len(items) * max_bytes // len(data)))
        items, contents = items[:keep], contents[:keep]
    package.sha256 = blobs.put(Kind.SENT_PACKAGE, data).sha256
    package.size = len(data)
    package.records = len(items)
    package.save()
    OutboxItem.objects.filter(pk__in=[i.pk for i in items]).update(
        state=OutboxItem.State.SENT,
        package=package,
        code="",
        message="",
        sends=F("sends") + 1,
    )
    return package


def _delay(attempts: int, retry_after: float | None = None) -> dt.timedelta:
    """The wait before attempt `attempts + 1`: doubled each time up to the most, less a random
    fifth (so that many senders refused at once do not come back at once), and never less than
    the server asked for."""
    first = float(settings.EXCHANGE_BACKOFF_SECONDS)
    seconds = min(first * 2 ** min(max(attempts - 1, 0), 30), settings.EXCHANGE_BACKOFF_MAX_SECONDS)
    seconds *= random.uniform(0.8, 1.0)  # noqa: S311 - spreading retries, not a secret
    if retry_after:
        seconds = max(seconds, min(retry_after, 3600.0))
    return dt.timedelta(seconds=seconds)


def _backoff(
    package: OutgoingPackage, error: str, now: dt.datetime, retry_after: float | None = None
) -> None:
    package.attempts += 1
    package.next_attempt_at = now + _delay(package.attempts, retry_after)
    package.last_error = error[:2000]
    package.save(update_fields=["attempts", "next_attempt_at", "last_error"])


def _due(now: dt.datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def pause_sending(sender_code: str, code: str, message: str, now: dt.datetime) -> SenderState:
    """Sending for `sender_code` waits (the reason shown on the outbox page), longer each time."""
    state, _ = SenderState.objects.get_or_create(sender_code=sender_code)
    state.attempts += 1
    state.code, state.message = code[:40], message
    state.paused_at = state.paused_at or now
    state.next_attempt_at = now + _delay(state.attempts)
    state.save()
    log.warning("sending for %s paused: %s %s", sender_code, code, message)
    return state


def _paused(sender_code: str) -> bool:
    return SenderState.objects.filter(sender_code=sender_code).exclude(code="").exists()


def _resume(sender_code: str) -> None:
    SenderState.objects.filter(sender_code=sender_code).exclude(code="").update(
        code="", message="", paused_at=None, attempts=0, next_attempt_at=None
    )


def retry_now(sender_code: str | None = None) -> None:
    """Someone fixed the cause: the next round tries at once (a paused sender with its probe,
    waiting packages without their wait) and with the configured package size again."""
    states = SenderState.objects.all()
    packages = OutgoingPackage.objects.filter(state__in=IN_FLIGHT)
    if sender_code is not None:
        states = states.filter(sender_code=sender_code)
        packages = packages.filter(sender_code=sender_code)
    states.update(next_attempt_at=None, package_bytes=0)
    packages.update(next_attempt_at=None)
    items = OutboxItem.objects.filter(state=OutboxItem.State.PENDING, next_attempt_at__isnull=False)
    if sender_code is not None:
        items = items.filter(sender_code=sender_code)
    items.update(next_attempt_at=None)


def _retire(package: OutgoingPackage, code: str, message: str, now: dt.datetime) -> bool:
    """The package will not be taken as it is: its rows go back to the outbox with the reason
    and it is never posted again (one transaction). False if someone else already did."""
    with transaction.atomic():
        locked = OutgoingPackage.objects.select_for_update().filter(pk=package.pk).first()
        if locked is None or locked.state in FINISHED:
            return False
        locked.items.update(
            state=OutboxItem.State.PENDING, package=None, code=code, message=message
        )
        locked.state = OutgoingPackage.State.REPACKED
        locked.code, locked.message = code[:40], message
        locked.done_at = now
        locked.save(update_fields=["state", "code", "message", "done_at"])
    package.refresh_from_db()
    return True


def _mark_submitted(package: OutgoingPackage, now: dt.datetime) -> None:
    package.state = OutgoingPackage.State.SUBMITTED
    package.submitted_at = now
    package.attempts = 0
    package.next_attempt_at = None
    package.last_error = ""
    package.save(
        update_fields=["state", "submitted_at", "attempts", "next_attempt_at", "last_error"]
    )


def _too_large(client: Client, package: OutgoingPackage, now: dt.datetime) -> None:
    """413: split, unless an earlier attempt got the package through after all."""
    try:
        held = client.status(package.sender_code, str(package.package_id))
    except (TransportError, Refused) as error:
        _backoff(package, f"413, không kiểm tra được gói tin đã đến kho chưa: {error}", now)
        return
    if held is not None:
        _mark_submitted(package, now)
        return
    if package.records <= 1:
        # nothing to split: it waits (not rejected), trying at the longest interval, until the
        # warehouse takes a package this size
        package.items.update(code="RECORD_TOO_LARGE", message=MESSAGES["RECORD_TOO_LARGE"])
        longest = float(settings.EXCHANGE_BACKOFF_MAX_SECONDS)
        _backoff(package, f"RECORD_TOO_LARGE: {MESSAGES['RECORD_TOO_LARGE']}", now, longest)
        return
    state, _ = SenderState.objects.get_or_create(sender_code=package.sender_code)
    half = max(1, package.size // 2)
    if not state.package_bytes or half < state.package_bytes:
        state.package_bytes = half
        state.save(update_fields=["package_bytes"])
    _retire(package, "PACKAGE_TOO_LARGE", MESSAGES["PACKAGE_TOO_LARGE"], now)


def _refused(
    package: OutgoingPackage, code: str, message: str, now: dt.datetime, judged: bool
) -> None:
    """The warehouse refused the package as a whole (`judged`: for what it holds, its seal or
    its sender), or refused the sender's account. Nothing is rejected: the rows wait with the
    reason, and sending pauses."""
    message = message or MESSAGES["PACKAGE_REFUSED"]
    with transaction.atomic():  # never rows given back without the pause that holds them
        if judged:
            # these bytes will never be taken: the rows go in a new package, sealed anew
            _retire(package, code, message, now)
        else:
            # who sends (account, token, address): the same package goes once that is fixed
            _backoff(package, f"{code}: {message}", now)
            package.items.update(code=code[:40], message=message)
        pause_sending(package.sender_code, code, message, now)


def submit(client: Client, package: OutgoingPackage, now: dt.datetime | None = None) -> bool:
    """Post a built package; True once the warehouse holds it."""
    now = now or timezone.now()
    data = blobs.get(package.blob)
    try:
        receipt = client.submit(package.sender_code, data)
    except TooLarge:
        _too_large(client, package, now)
        return False
    except TransportError as error:
        _backoff(package, str(error), now, error.retry_after)
        return False
    except Refused as refused:
        judged = refused.code.startswith("PACKAGE_")
        _refused(package, refused.code, refused.message, now, judged)
        return False
    if receipt.get("package_id") != str(package.package_id):
        _backoff(package, f"NOT_A_RECEIPT: {MESSAGES['NOT_A_RECEIPT']}", now)
        return False
    _mark_submitted(package, now)
    return True


def _answers(acks: Any) -> dict[tuple[str, int], dict[str, str]]:
    """The well-formed per-record answers of a package's status, by (record id, version)."""
    found: dict[tuple[str, int], dict[str, str]] = {}
    for ack in acks if isinstance(acks, list) else []:
        if not isinstance(ack, dict) or ack.get("status") not in ("ACCEPTED", "REJECTED"):
            continue
        try:
            key = (str(ack["record_id"]), int(ack["version"]))
        except (KeyError, TypeError, ValueError):
            continue
        found[key] = {
            "status": str(ack["status"]),
            "code": str(ack.get("code", ""))[:40],
            "message": str(ack.get("message", "")),
        }
    return found


def poll(client: Client, package: OutgoingPackage, now: dt.datetime | None = None) -> bool:
    """Record the answers if the warehouse has them; True when the package is answered."""
    now = now or timezone.now()
    try:
        body = client.status(package.sender_code, str(package.package_id))
    except TransportError as error:
        _backoff(package, str(error), now, error.retry_after)
        return False
    except Refused as refused:
        _backoff(package, str(refused), now)
        pause_sending(package.sender_code, refused.code, refused.message, now)
        return False
    if body is None:  # the warehouse does not have it (lost before it was kept): post again
        package.state = OutgoingPackage.State.BUILT
        package.save(update_fields=["state"])
        return False
    status = body.get("status")
    if status == "REJECTED":
        code = str(body.get("code") or "PACKAGE_REFUSED")
        _refused(package, code, str(body.get("message") or ""), now, judged=True)
        return True
    if status == "RECEIVED":
        return False
    if status != "DONE":
        _backoff(package, f"NOT_A_RECEIPT: trạng thái {status!r}", now)
        return False
    answers = _answers(body.get("acks"))
    with transaction.atomic():
        locked = OutgoingPackage.objects.select_for_update().filter(pk=package.pk).first()
        if locked is None or locked.state != OutgoingPackage.State.SUBMITTED:
            return True
        for item in package.items.select_for_update():
            answer = answers.get((str(item.record_id), item.version))
            if answer is None:
                # no answer is not a rejection: the record goes in another package
                _send_again_later(item, "NO_ANSWER", MESSAGES["NO_ANSWER"], now)
            elif answer["status"] == "REJECTED" and answer["code"] in pkg.TRANSIENT_CODES:
                # the warehouse's own failure, not the record's
                message = f"{answer['message']} ({SENT_AGAIN_LATER})"
                _send_again_later(item, answer["code"], message, now)
            else:
                accepted = answer["status"] == "ACCEPTED"
                item.state = OutboxItem.State.ACCEPTED if accepted else OutboxItem.State.REJECTED
                item.code, item.message = answer["code"], answer["message"]
                item.answered_at = now
            item.save(
                update_fields=[
                    "state",
                    "package",
                    "code",
                    "message",
                    "answered_at",
                    "retries",
                    "next_attempt_at",
                ]
            )
        package.state = OutgoingPackage.State.DONE
        package.done_at = now
        package.save(update_fields=["state", "done_at"])
        _resume(package.sender_code)
    return True


def _send_again_later(item: OutboxItem, code: str, message: str, now: dt.datetime) -> None:
    """Back to the outbox, packed again once its wait is over (doubled each time)."""
    item.state, item.package = OutboxItem.State.PENDING, None
    item.code, item.message = code[:40], message
    item.retries += 1
    item.next_attempt_at = now + _delay(item.retries)


@dataclass
class Round:
    packed: int = 0
    submitted: int = 0
    answered: int = 0
    waiting: int = 0
    """Packages built or submitted, not answered yet."""
    ready: int = 0
    """Rows waiting in the outbox of senders that are not paused, due to be packed."""
    paused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        """Nothing more will happen without waiting (paused senders wait for their time)."""
        return not self.waiting and not self.ready


def _submit_packed(
    client: Client, package: OutgoingPackage, now: dt.datetime, result: Round
) -> bool:
    """Post a package just sealed; True if the warehouse holds it."""
    result.packed += 1
    if submit(client, package, now):
        result.submitted += 1
        return True
    if package.last_error:
        result.errors.append(f"{package.package_id}: {package.last_error}")
    return False


def _pack_sender(client: Client, sender_code: str, now: dt.datetime, result: Round) -> None:
    """Pack the sender's waiting rows, posting each package as soon as it is sealed (the
    warehouse starts on the first while the next is being sealed). A refusal that pauses the
    sender ends the packing: the rows left wait in the outbox with the reason."""
    state = SenderState.objects.filter(sender_code=sender_code).first()
    try:
        if state is None or not state.paused:
            while (package := pack(sender_code, now=now)) is not None:
                submitted = _submit_packed(client, package, now, result)
                if not submitted and _paused(sender_code):
                    return  # refused: the rows left wait with the reason
            return
        result.paused.append(sender_code)
        due = state.next_attempt_at is None or state.next_attempt_at <= now
        in_flight = OutgoingPackage.objects.filter(
            sender_code=sender_code, state__in=IN_FLIGHT
        ).exists()
        if due and not in_flight:
            package = pack(sender_code, limit=1, now=now)
            if package is not None:  # one record tries the way again
                _submit_packed(client, package, now, result)
    except (Refused, SignerError) as error:
        pause_sending(sender_code, error.code, error.message, now)
        result.errors.append(f"{sender_code}: {error}")


def run_once(client: Client, now: dt.datetime | None = None) -> Round:
    """One round: pack what waits, posting each package as it is sealed; post what was built
    before and is due; poll what was submitted."""
    now = now or timezone.now()
    result = Round()
    senders = (
        OutboxItem.objects.filter(state=OutboxItem.State.PENDING)
        .values_list("sender_code", flat=True)
        .distinct()
    )
    for sender_code in sorted(set(senders)):
        _pack_sender(client, sender_code, now, result)
    built = OutgoingPackage.objects.filter(_due(now), state=OutgoingPackage.State.BUILT)
    for package in built:
        if submit(client, package, now):
            result.submitted += 1
        elif package.last_error:
            result.errors.append(f"{package.package_id}: {package.last_error}")
    submitted = OutgoingPackage.objects.filter(_due(now), state=OutgoingPackage.State.SUBMITTED)
    for package in submitted:
        if poll(client, package, now):
            result.answered += 1
    result.waiting = OutgoingPackage.objects.filter(state__in=IN_FLIGHT).count()
    paused = SenderState.objects.exclude(code="").values_list("sender_code", flat=True)
    result.ready = (
        OutboxItem.objects.filter(_due(now), state=OutboxItem.State.PENDING)
        .exclude(sender_code__in=list(paused))
        .count()
    )
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
    send_soon()
    return OutboxItem.objects.filter(pk__in=pks, state=OutboxItem.State.REJECTED).update(
        state=OutboxItem.State.PENDING, package=None, next_attempt_at=None
    )


# --- rounds as tasks (`hocba worker`) ----------------------------------------------------------

POLL_SECONDS = 2.0
"""How soon a round asks again about packages the warehouse has not answered yet."""
QUEUED_KEY = "exchange:round-queued"
PLANNED_KEY = "exchange:round-planned"


def send_soon() -> None:
    """Enqueue a round of sending (`hocba.exchange.tasks.send_outbox`) for when the current
    transaction commits, if an upstream is configured: a batch that issues many records
    enqueues one round, not one per record (until a round starts, another is not enqueued)."""
    if settings.UPSTREAM_URL:
        transaction.on_commit(_enqueue_round, robust=True)


def send_now() -> None:
    """A round for someone who asked for one (the outbox page's "Gửi ngay"), when the current
    transaction commits, even if one is already queued: that one may be waiting its time."""
    from hocba.exchange.tasks import send_outbox

    if settings.UPSTREAM_URL:
        transaction.on_commit(send_outbox.enqueue, robust=True)


def _enqueue_round() -> None:
    from django.core.cache import cache

    from hocba.exchange.tasks import send_outbox

    if cache.add(QUEUED_KEY, 1, timeout=600):
        send_outbox.enqueue()


def send_round() -> Round | None:
    """What the task does: one round with the upstream warehouse (None without one), and the
    next round scheduled while packages are on their way or rows wait for their time."""
    from django.core.cache import cache

    cache.delete(QUEUED_KEY)  # what is issued from now on enqueues another round
    client = _kept_client()
    if client is None:
        return None
    result = run_once(client)
    when = next_round_at()
    if when is not None:
        plan_round(when)
    return result


_CLIENT: tuple[str, Client] | None = None


def _kept_client() -> Client | None:
    """This process's client of the upstream warehouse, kept from round to round (with its
    connections and access tokens: a round every few seconds does not sign in every time)."""
    from hocba.exchange.client import upstream_client

    global _CLIENT
    if _CLIENT is None or _CLIENT[0] != settings.UPSTREAM_URL:
        client = upstream_client()
        if client is None:
            return None
        _CLIENT = (settings.UPSTREAM_URL, client)
    return _CLIENT[1]


def next_round_at(now: dt.datetime | None = None) -> dt.datetime | None:
    """When a round has something to do next: soon while the warehouse has packages to
    answer or rows are due, else when the first wait ends (None: nothing waits)."""
    now = now or timezone.now()
    soon = now + dt.timedelta(seconds=POLL_SECONDS)
    in_flight = OutgoingPackage.objects.filter(state__in=IN_FLIGHT)
    if in_flight.filter(_due(now)).exists():
        return soon
    paused = list(SenderState.objects.exclude(code="").values_list("sender_code", flat=True))
    pending = OutboxItem.objects.filter(state=OutboxItem.State.PENDING)
    if pending.filter(_due(now)).exclude(sender_code__in=paused).exists():
        return soon
    waits = [
        *in_flight.values_list("next_attempt_at", flat=True),
        *pending.exclude(sender_code__in=paused).values_list("next_attempt_at", flat=True),
        *SenderState.objects.exclude(code="").values_list("next_attempt_at", flat=True),
    ]
    later = [w for w in waits if w is not None]
    if pending.filter(sender_code__in=paused).exists() and not later:
        return soon
    return max(min(later), soon) if later else None


def enqueue_forgotten_round(now: dt.datetime) -> int:
    """`hocba worker`'s sweep (registered in `ExchangeConfig.ready`): when the outbox has
    something due and no round is waiting or running (the round that would have planned the
    next was set aside, or its enqueueing was lost), enqueue one; 1 if it did. Nothing without
    an upstream, or on a queue that cannot be read (RQ)."""
    from hocba.exchange.tasks import send_outbox
    from hocba.jobs.services import live_arguments

    if not settings.UPSTREAM_URL:
        return 0
    when = next_round_at(now)
    if when is None or when > now + dt.timedelta(seconds=POLL_SECONDS):
        return 0
    live = live_arguments(send_outbox)
    if live is None or live:
        return 0
    log.warning("the outbox was waiting with no round of sending; enqueuing one")
    send_outbox.enqueue()
    return 1


def plan_round(when: dt.datetime) -> None:
    """Enqueue a round to run at `when`, unless one is already planned before it (on a queue
    that cannot wait, such as the test suite's, nothing is planned)."""
    from django.core.cache import cache

    from hocba.exchange.tasks import send_outbox

    if not send_outbox.get_backend().supports_defer:
        return
    planned = cache.get(PLANNED_KEY)
    now = timezone.now().timestamp()
    if isinstance(planned, float) and now < planned <= when.timestamp():
        return
    cache.set(PLANNED_KEY, when.timestamp(), timeout=int(when.timestamp() - now) + 60)
    send_outbox.using(run_after=when).enqueue()
