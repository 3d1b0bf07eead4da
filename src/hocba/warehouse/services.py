"""Receiving and processing packages: the warehouse's one door for records coming in.

`receive` stores a submitted package as it came (idempotent by the sender's package id) and
answers at once; `process` validates it in the background, in one transaction per package:

1. the package: schema, the seal's cryptography, the sealing certificate (trusted, not revoked,
   the account's own tax code) and the declared sender (the account);
2. each record, on its own: its bytes against the declared hash, the full verification of the
   record (schema, every signature, order, certificates — `hocba.signing.verify`), its id and
   version as declared, every issuer field (school, tax code, province, Sở) against the
   account's reach and the school's registration at this warehouse, and the version rule: a
   higher version supersedes (a CANCEL revokes, for good: nothing after it is taken,
   RECORD_REVOKED), the same version with the same bytes is answered DUPLICATE, anything else
   STALE_VERSION or VERSION_CONFLICT and changes nothing.

One bad record never blocks the others: a record the database refuses is answered
PROCESSING_FAILED (which the sender takes as "send it again later") and the rest of its package
goes in. One bad package never blocks the others: each attempt is counted before it starts, a
failed one (or a crash in the middle, which leaves the package RECEIVED) is tried again from
nothing after a wait that doubles each time, other packages are processed meanwhile, and after
`WAREHOUSE_PROCESSING_ATTEMPTS` the package is answered as a whole PACKAGE_PROCESSING_FAILED.
Each package has a task (`hocba.warehouse.tasks.process_package`, queue `warehouse`, run by
`hocba worker`), enqueued when the package is stored and enqueued again, to run when it is due,
for each attempt that leaves it waiting.
Several workers may process packages at once: the version rule holds the lock of each record id
(its `RecordHead` row) while it decides, so versions of one record in packages processed at the
same time end as if the packages had come one after the other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hocba import blobs
from hocba.formats import RecordFacts, XmlRejected, parse_untrusted
from hocba.formats import package as pkg
from hocba.formats.report import Check, CheckName, CheckStatus, Code, Verdict
from hocba.signing import config
from hocba.signing import package as sealed_package
from hocba.signing.revocation import Status as RevocationStatus
from hocba.warehouse.auth import Caller
from hocba.warehouse.issuers import (
    Issuer,
    Registry,
    differs_from_stored,
    issuer_problem,
    registry,
)
from hocba.warehouse.models import (
    Account,
    Ack,
    CancelRequest,
    ReceivedPackage,
    RecordHead,
    SchoolCount,
    StoredRecord,
)

log = logging.getLogger(__name__)

MESSAGES = {
    "ACCEPTED": "Đã tiếp nhận",
    "DUPLICATE": "Phiên bản này đã được tiếp nhận trước đó; không thay đổi gì",
    "STALE_VERSION": "Kho đã có phiên bản mới hơn của học bạ này; không thay đổi gì",
    "RECORD_REVOKED": "Học bạ đã bị thu hồi; kho không nhận phiên bản mới",
    "VERSION_CONFLICT": "Kho đã có phiên bản này với nội dung khác; không thay đổi gì",
    "RECORD_HASH_MISMATCH": "Nội dung học bạ trong gói tin không khớp mã băm khai báo",
    "RECORD_ID_MISMATCH": "Mã học bạ hoặc phiên bản trong tệp khác với khai báo trong gói tin",
    "UNKNOWN_SCHOOL": "Trường của học bạ chưa được đăng ký với kho",
    "SCHOOL_MISMATCH": "Mã trường (MA_TRUONG) của học bạ không phải trường của tài khoản gửi, "
    "hoặc khác với các phiên bản đã tiếp nhận",
    "TAX_CODE_MISMATCH": "Mã số thuế (MA_SO_THUE) của học bạ khác với mã số thuế của trường "
    "đã đăng ký với kho",
    "PROVINCE_MISMATCH": "Mã tỉnh (MA_TINH) của học bạ không thuộc phạm vi của tài khoản gửi, "
    "hoặc khác với trường đã đăng ký hay các phiên bản đã tiếp nhận",
    "OFFICE_MISMATCH": "Mã Sở GDĐT (MA_SO_GD) của học bạ không phải Sở của tài khoản gửi, "
    "hoặc khác với trường đã đăng ký hay các phiên bản đã tiếp nhận",
    "SCHOOL_YEAR_MISMATCH": "Năm học của phiên bản này khác với các phiên bản đã tiếp nhận "
    "của học bạ",
    "SIGNATURE_INVALID": "Chữ ký số của học bạ không hợp lệ (nội dung đã bị sửa đổi)",
    "SIGNER_UNTRUSTED": "Người ký học bạ không được tin cậy hoặc không đúng vai trò",
    "CERTIFICATE_REVOKED": "Chứng thư số của người ký học bạ đã bị thu hồi",
    "SIGNATURES_INCOMPLETE": "Học bạ chưa đủ chữ ký số theo đúng thứ tự",
    "NOT_ISSUED": "Học bạ chưa được phát hành",
    "PROCESSING_FAILED": "Lỗi xử lý học bạ; hãy gửi lại sau",
    "PACKAGE_PROCESSING_FAILED": "Kho học bạ chưa xử lý được gói tin sau nhiều lần thử (lỗi phía "
    "kho); các học bạ trong gói cần được gửi lại sau",
    "PACKAGE_SENDER_MISMATCH": "Đơn vị gửi khai báo trong gói tin không phải tài khoản gửi",
    "PACKAGE_SIGNER_UNTRUSTED": "Chứng thư số ký gói tin không được tin cậy",
    "PACKAGE_SIGNER_REVOKED": "Chứng thư số ký gói tin đã bị thu hồi",
    "PACKAGE_NOT_SEALED_BY_SENDER": "Gói tin không được ký bằng chứng thư số của đơn vị gửi",
}

VERDICT_CODES = {
    "MALFORMED": None,  # the schema check's own code (XML_MALFORMED, XML_SCHEMA_INVALID, …)
    "TAMPERED": "SIGNATURE_INVALID",
    "UNTRUSTED_SIGNER": "SIGNER_UNTRUSTED",
    "REVOKED_CERTIFICATE": "CERTIFICATE_REVOKED",
    "INCOMPLETE": "SIGNATURES_INCOMPLETE",
    "DRAFT": "NOT_ISSUED",
}


class ReceiveError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# --- receiving ---------------------------------------------------------------------------


def _package_id(data: bytes) -> str:
    try:
        return pkg.package_id_of(data)
    except pkg.PackageRejected as rejected:
        raise ReceiveError(rejected.code, rejected.message) from None


def receive(caller: Caller, data: bytes, inline: bool = True) -> tuple[ReceivedPackage, bool]:
    """Store a submitted package (once per sender and package id); (package, newly stored)."""
    caller.require("packages:submit")
    if len(data) > pkg.MAX_PACKAGE_BYTES:
        raise ReceiveError(
            "PACKAGE_TOO_LARGE", f"Gói tin quá lớn (tối đa {pkg.MAX_PACKAGE_BYTES} byte)", 413
        )
    package_id = _package_id(data)
    existing = ReceivedPackage.objects.filter(account=caller.account, package_id=package_id).first()
    if existing is not None:
        return existing, False
    digest = hashlib.sha256(data).hexdigest()
    try:
        with transaction.atomic():
            row = ReceivedPackage.objects.create(
                package_id=package_id, account=caller.account, sha256=digest, size=len(data)
            )
            blobs.put(blobs.Kind.RECEIVED_PACKAGE, data, sha256=digest)
    except IntegrityError:  # the same package, submitted twice at the same moment
        return ReceivedPackage.objects.get(account=caller.account, package_id=package_id), False
    if inline:  # the caller processes it otherwise (the embedded client does, at once)
        from hocba.jobs.services import enqueue_on_commit
        from hocba.warehouse.tasks import process_package

        enqueue_on_commit(process_package, row.pk)
    return row, True


def refuse_out_of_reach(record_id: uuid.UUID) -> None:
    """403 for a stored record outside the caller's reach (record ids are random UUIDs, so
    saying that it exists tells nothing that the id did not)."""
    if StoredRecord.objects.filter(record_id=record_id).exists():
        raise ReceiveError("OUT_OF_REACH", "Học bạ này ngoài phạm vi của tài khoản", 403)


def request_cancellation(caller: Caller, record_id: uuid.UUID, reason: str) -> CancelRequest:
    """A request to withdraw a stored record in the caller's reach, waiting for approval."""
    caller.require("records:cancel")
    if not StoredRecord.objects.filter(caller.reach(), record_id=record_id).exists():
        refuse_out_of_reach(record_id)
        raise ReceiveError("NOT_FOUND", "Không tìm thấy học bạ", 404)
    if not reason.strip():
        raise ReceiveError("REASON_REQUIRED", "Cần ghi rõ lý do", 422)
    return CancelRequest.objects.create(
        account=caller.account, record_id=record_id, reason=reason.strip()
    )


# --- processing --------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    code: str
    message: str
    school_code: str = ""
    province_code: str = ""


def _rejected(code: str, message: str | None = None, **where: str) -> Outcome:
    return Outcome(Ack.Status.REJECTED, code, message or MESSAGES.get(code, code), **where)


def process_pending(limit: int | None = None) -> int:
    """Process the received packages that are due, oldest first, until none is left (or `limit`
    were taken); how many this call took (processed, or answered after their last failed
    attempt). Several workers may run at once: each takes a package nobody else holds
    (SELECT … FOR UPDATE SKIP LOCKED on PostgreSQL). A package whose attempt fails waits for its
    next attempt, and the others are processed meanwhile."""
    done = 0
    while (limit is None or done < limit) and process_next():
        done += 1
    return done


def process_next() -> bool:
    """Take the oldest due package nobody else is processing; False when there is none."""
    taken = _take(ReceivedPackage.objects.all())
    if taken is None:
        return False
    _attempt(taken)
    return True


def process(pk: int) -> None:
    """Process one package if it is still waiting, due, and nobody else is processing it."""
    taken = _take(ReceivedPackage.objects.filter(pk=pk))
    if taken is not None:
        _attempt(taken)


def _due(now: dt.datetime) -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after attempt `attempts` failed: WAREHOUSE_RETRY_SECONDS, doubled after each
    attempt, at most an hour."""
    first = float(settings.WAREHOUSE_RETRY_SECONDS)
    return dt.timedelta(seconds=min(first * 2 ** min(max(attempts - 1, 0), 20), 3600.0))


def _locked(packages: QuerySet[ReceivedPackage]) -> QuerySet[ReceivedPackage]:
    if connection.features.has_select_for_update_skip_locked:
        return packages.select_for_update(skip_locked=True, of=("self",))
    return packages


def _take(packages: QuerySet[ReceivedPackage]) -> ReceivedPackage | None:
    """Begin an attempt at the oldest due package of `packages` that nobody else holds: count
    it and set when the next one may begin, committed before the work starts, so that an
    attempt that ends the worker's process counts too. A package whose attempts are used up is
    answered PACKAGE_PROCESSING_FAILED instead (its status then says so)."""
    now = timezone.now()
    with transaction.atomic():
        query = packages.filter(_due(now), status=ReceivedPackage.Status.RECEIVED).order_by(
            "received_at", "pk"
        )
        row = _locked(query).first()
        if row is None:
            return None
        if row.attempts >= settings.WAREHOUSE_PROCESSING_ATTEMPTS:
            _give_up(row, now)
            return row
        row.attempts += 1
        row.next_attempt_at = now + retry_delay(row.attempts)
        row.save(update_fields=["attempts", "next_attempt_at"])
    return row


def _attempt(taken: ReceivedPackage) -> None:
    """One attempt at a package begun by `_take`, in one transaction; a failure is noted and
    leaves the package waiting for its next attempt (or answers it, after the last)."""
    if taken.status != ReceivedPackage.Status.RECEIVED:
        return
    try:
        with transaction.atomic():
            query = ReceivedPackage.objects.select_related("account").filter(
                pk=taken.pk, status=ReceivedPackage.Status.RECEIVED, attempts=taken.attempts
            )
            row = _locked(query).first()
            if row is not None:  # else another worker began a later attempt meanwhile
                _process(row)
    except Exception as error:  # one package's failure never stops the worker
        log.exception("package %s, attempt %s", taken.package_id, taken.attempts)
        _failed(taken, error)


def _failed(taken: ReceivedPackage, error: Exception) -> None:
    now = timezone.now()
    with transaction.atomic():
        query = ReceivedPackage.objects.filter(
            pk=taken.pk, status=ReceivedPackage.Status.RECEIVED, attempts=taken.attempts
        )
        row = _locked(query).first()
        if row is None:
            return
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if row.attempts >= settings.WAREHOUSE_PROCESSING_ATTEMPTS:
            _give_up(row, now)
        else:
            row.save(update_fields=["last_error"])


def _give_up(row: ReceivedPackage, now: dt.datetime) -> None:
    """Answer the package as a whole: the sender sends its records again later (inside the
    transaction that holds `row`)."""
    log.error(
        "package %s answered PACKAGE_PROCESSING_FAILED after %s attempts: %s",
        row.package_id,
        row.attempts,
        row.last_error,
    )
    row.status = ReceivedPackage.Status.REJECTED
    row.code = "PACKAGE_PROCESSING_FAILED"
    row.message = MESSAGES["PACKAGE_PROCESSING_FAILED"]
    row.processed_at = now
    row.next_attempt_at = None
    row.save(
        update_fields=["status", "code", "message", "processed_at", "next_attempt_at", "last_error"]
    )


def _process(row: ReceivedPackage) -> None:
    """Inside the transaction that holds `row`."""
    data = blobs.get(row.blob)
    try:
        package = sealed_package.read(data)
        _check_sender(row.account, package)
    except pkg.PackageRejected as rejected:
        row.status, row.code, row.message = (
            ReceivedPackage.Status.REJECTED,
            rejected.code,
            rejected.message,
        )
        row.processed_at = timezone.now()
        row.save(update_fields=["status", "code", "message", "processed_at"])
        return
    registered = None if row.account.kind == Account.Kind.SCHOOL else registry()
    outcomes: list[Outcome | Candidate] = []
    for position, entry in enumerate(package.entries):
        problem = package.entry_problems.get(position)
        if problem is not None:
            outcomes.append(_rejected(*problem))
            continue
        try:
            outcomes.append(_check_record(row.account, entry, registered))
        except Exception:  # one record's failure never blocks the others
            log.exception("record %s v%s", entry.record_id, entry.version)
            outcomes.append(_rejected("PROCESSING_FAILED"))
    try:
        with transaction.atomic():  # a savepoint: what one record's writes break is undone alone
            final = _apply(row, outcomes)
    except Exception:
        log.exception("package %s: the version rule again, record by record", row.package_id)
        final = _apply_each(row, outcomes)
    acks = [
        Ack(
            package=row,
            position=position,
            record_id=entry.record_id,
            version=entry.version,
            school_code=outcome.school_code,
            province_code=outcome.province_code,
            status=outcome.status,
            code=outcome.code,
            message=outcome.message,
        )
        for position, (entry, outcome) in enumerate(zip(package.entries, final, strict=True))
    ]
    Ack.objects.bulk_create(acks)
    row.status = ReceivedPackage.Status.DONE
    row.records = len(acks)
    row.processed_at = timezone.now()
    row.save(update_fields=["status", "records", "processed_at"])
    _report_counts(row.account, package)  # last: the count rows are held only until the commit


def _check_sender(account: Account, package: pkg.Package) -> None:
    cert = package.seal_certificate
    assert cert is not None and package.seal_time is not None
    facts = config.verifier().facts(cert)
    if facts.chain is None or not facts.can_sign:
        raise pkg.PackageRejected("PACKAGE_SIGNER_UNTRUSTED", MESSAGES["PACKAGE_SIGNER_UNTRUSTED"])
    if not all(start <= package.seal_time <= end for start, end in facts.windows):
        raise pkg.PackageRejected("PACKAGE_SIGNER_UNTRUSTED", MESSAGES["PACKAGE_SIGNER_UNTRUSTED"])
    if not account.tax_code or facts.tax_code != account.tax_code:
        raise pkg.PackageRejected(
            "PACKAGE_NOT_SEALED_BY_SENDER", MESSAGES["PACKAGE_NOT_SEALED_BY_SENDER"]
        )
    if len(facts.chain) >= 2:
        answer = config.verifier().revocation.status(cert, facts.chain[1])
        if answer.status is RevocationStatus.REVOKED:
            raise pkg.PackageRejected("PACKAGE_SIGNER_REVOKED", MESSAGES["PACKAGE_SIGNER_REVOKED"])
    sender = package.sender
    expected_kind = "TRUONG" if account.kind == Account.Kind.SCHOOL else "SO"
    expected_code = {
        Account.Kind.SCHOOL: account.school_code,
        Account.Kind.PROVINCE: account.province_office_code,
    }.get(Account.Kind(account.kind))
    if (
        sender.kind != expected_kind
        or sender.tax_code != account.tax_code
        or (expected_code is not None and sender.code != expected_code)
    ):
        raise pkg.PackageRejected("PACKAGE_SENDER_MISMATCH", MESSAGES["PACKAGE_SENDER_MISMATCH"])


def _report_counts(account: Account, package: pkg.Package) -> None:
    """Keep what the package's schools report about themselves, the newest report winning
    (by the time the package was made, whatever order packages are processed in). Written at
    the end of the package's transaction, so that its count rows are held from there to the
    commit only: packages of one school are processed side by side. Each row is written
    without reading it first (insert if missing, then one conditional update), in one order,
    so two workers never wait on each other in a circle."""
    made = package.created_at
    for count in sorted(package.counts, key=lambda c: (c.school_code, c.school_year)):
        if account.kind == Account.Kind.SCHOOL and count.school_code != account.school_code:
            continue
        key = {"school_code": count.school_code, "school_year": count.school_year}
        values = {
            "province_code": account.province_code,
            "students": count.students,
            "created": count.created,
            "issued": count.issued,
            "reported_at": made,
        }
        SchoolCount.objects.bulk_create([SchoolCount(**key, **values)], ignore_conflicts=True)
        SchoolCount.objects.filter(**key, reported_at__lte=made).update(**values)


def _where(facts: RecordFacts) -> dict[str, str]:
    """Where a record comes from, as its acknowledgement keeps it."""
    return {"school_code": facts.school_code, "province_code": facts.province_code}


def _issuer(facts: RecordFacts) -> Issuer:
    return Issuer(
        facts.school_code, facts.tax_code, facts.province_code, facts.province_office_code
    )


@dataclass
class Candidate:
    """A record whose checks all passed; the version rule decides (against the database)."""

    entry: pkg.Entry
    facts: RecordFacts
    revocation_unknown: bool


def _check_record(
    account: Account, entry: pkg.Entry, registry: Registry | None
) -> Outcome | Candidate:
    """Every check of one record that needs no database."""
    try:
        root = parse_untrusted(entry.content, keep_whitespace=True)
    except XmlRejected as rejected:
        return _rejected(rejected.code, rejected.message)
    # the facts as verification read them (None only for a MALFORMED report)
    report, facts = config.verifier().verify_read(root, entry.content)
    if report.verdict is Verdict.MALFORMED or facts is None:
        why = report.unusable()  # the schema check's own code (XML_MALFORMED, …)
        if why is None or why.code is None:
            why = Check(CheckName.SCHEMA, CheckStatus.FAIL, Code.XML_MALFORMED)
        return _rejected(str(why.code), why.message())
    where = _where(facts)
    if (
        facts.record_id != entry.record_id
        or facts.version != entry.version
        or facts.event != entry.event
    ):
        return _rejected("RECORD_ID_MISMATCH", **where)
    problem = issuer_problem(account, _issuer(facts), registry)
    if problem is not None:
        return _rejected(problem, **where)
    verdict = report.verdict
    code = None if verdict in ("SUPERSEDED", "RECORD_REVOKED") else VERDICT_CODES.get(verdict)
    if verdict == "RECORD_REVOKED" and facts.event != "CANCEL":
        code = "NOT_ISSUED"
    if code is not None:
        return _rejected(code, **where)
    unknown = any(c.status is CheckStatus.UNKNOWN for c in report.checks)
    return Candidate(entry, facts, unknown)


def lock_records(record_ids: set[str]) -> None:
    """Hold the version rule's lock of each record id until the transaction ends: its head row,
    written first if the warehouse has never been sent the id (a row another transaction is
    writing makes this one wait until that one ends), then locked. Both steps go in record id
    order, so two packages sharing record ids never wait on each other in a circle."""
    ordered = sorted(uuid.UUID(record_id) for record_id in record_ids)
    RecordHead.objects.bulk_create(
        [RecordHead(record_id=record_id) for record_id in ordered], ignore_conflicts=True
    )
    heads = RecordHead.objects.filter(record_id__in=ordered).order_by("record_id")
    list(heads.select_for_update().values_list("record_id", flat=True))


def _apply(row: ReceivedPackage, outcomes: list[Outcome | Candidate]) -> list[Outcome]:
    """The version rule for the package's candidates, in package order: the records' locks
    first, then one query to read what is stored (read after the locks are held, so it sees
    whatever a worker that held them before has committed) and bulk writes for what changes."""
    candidates = [c for c in outcomes if isinstance(c, Candidate)]
    stored: dict[str, list[StoredRecord]] = defaultdict(list)
    if candidates:
        record_ids = {c.entry.record_id for c in candidates}
        lock_records(record_ids)
        for existing in StoredRecord.objects.filter(record_id__in=record_ids).order_by("version"):
            stored[str(existing.record_id)].append(existing)
    created: list[StoredRecord] = []
    changed: dict[int, str] = {}
    forward: list[Candidate] = []
    final: list[Outcome] = []
    for outcome in outcomes:
        if not isinstance(outcome, Candidate):
            final.append(outcome)
            continue
        entry, facts = outcome.entry, outcome.facts
        where = _where(facts)
        rows = stored[entry.record_id]
        digest = entry.sha256
        same = next((r for r in rows if r.version == entry.version), None)
        differs = differs_from_stored(rows[0], facts) if rows else None
        if differs is not None:
            final.append(_rejected(differs, **where))
        elif same is not None:
            final.append(
                Outcome(Ack.Status.ACCEPTED, "DUPLICATE", MESSAGES["DUPLICATE"], **where)
                if same.xml_sha256 == digest
                else _rejected("VERSION_CONFLICT", **where)
            )
        elif rows and rows[-1].version > entry.version:
            final.append(_rejected("STALE_VERSION", **where))
        elif any(r.event == "CANCEL" for r in rows):
            # a revocation is final: the school never builds a version after it
            final.append(_rejected("RECORD_REVOKED", **where))
        else:
            blobs.put(blobs.Kind.RECORD_XML, entry.content, sha256=digest)
            revoking = entry.event == "CANCEL"
            for previous in rows:
                if previous.state == StoredRecord.State.CURRENT:
                    previous.state = (
                        StoredRecord.State.REVOKED if revoking else StoredRecord.State.SUPERSEDED
                    )
                    if previous.pk is not None:
                        changed[previous.pk] = previous.state
            new = StoredRecord(
                record_id=entry.record_id,
                version=entry.version,
                event=entry.event,
                state=StoredRecord.State.REVOKED if revoking else StoredRecord.State.CURRENT,
                school_year=facts.school_year,
                province_code=facts.province_code,
                province_office_code=facts.province_office_code,
                district_name=facts.district_name,
                school_code=facts.school_code,
                school_name=facts.school_name,
                personal_id=facts.student_personal_id,
                xml_sha256=digest,
                xml_size=len(entry.content),
                package=row,
            )
            rows.append(new)
            created.append(new)
            forward.append(outcome)
            message = MESSAGES["ACCEPTED"] + (
                " (chưa xác định được tình trạng thu hồi chứng thư)"
                if outcome.revocation_unknown
                else ""
            )
            final.append(Outcome(Ack.Status.ACCEPTED, "ACCEPTED", message, **where))
    # close the versions a new one replaces before storing it: at most one is in force at any
    # moment (the database refuses a second, `stored_one_current`)
    for state in set(changed.values()):
        StoredRecord.objects.filter(pk__in=[k for k, v in changed.items() if v == state]).update(
            state=state
        )
    StoredRecord.objects.bulk_create(created)
    if forward and settings.WAREHOUSE_CODE and settings.UPSTREAM_URL not in ("", "embedded"):
        from hocba.exchange.services import enqueue_forward

        for candidate in forward:
            enqueue_forward(candidate.entry, candidate.facts)
    return final


def _apply_each(row: ReceivedPackage, outcomes: list[Outcome | Candidate]) -> list[Outcome]:
    """The version rule for a package whose writes failed together: each record on its own, in
    a savepoint (after the locks of all its record ids, taken in order as `_apply` takes them),
    so that a record the database refuses is answered PROCESSING_FAILED and the others go in."""
    candidates = [c for c in outcomes if isinstance(c, Candidate)]
    if candidates:
        lock_records({c.entry.record_id for c in candidates})
    final: list[Outcome] = []
    for outcome in outcomes:
        if not isinstance(outcome, Candidate):
            final.append(outcome)
            continue
        try:
            with transaction.atomic():
                final.extend(_apply(row, [outcome]))
        except Exception:
            log.exception("record %s v%s", outcome.entry.record_id, outcome.entry.version)
            final.append(_rejected("PROCESSING_FAILED", **_where(outcome.facts)))
    return final


# --- the task of each package ---------------------------------------------------------------


def run_package(pk: int) -> dt.datetime | None:
    """What the task of package `pk` does (`hocba.warehouse.tasks.process_package`): an attempt
    if the package is due and nobody else holds it; then, if it still waits (the attempt failed,
    it was not due yet, or a worker died in the middle of it), when its next attempt is due, so
    that the task is run again then. None when it is answered, or when another worker holds it
    (that worker's task sees to what follows)."""
    process(pk)
    with transaction.atomic():
        row = _locked(
            ReceivedPackage.objects.filter(pk=pk, status=ReceivedPackage.Status.RECEIVED)
        ).first()
        if row is None:
            return None
        return row.next_attempt_at or timezone.now()


def schedule(pk: int, when: dt.datetime | None = None) -> None:
    """Enqueue the task of package `pk` (to run from `when`, on a queue that can wait; a queue
    that cannot, such as the test suite's, leaves the next attempt to the next call)."""
    from hocba.warehouse.tasks import process_package

    if when is None:
        process_package.enqueue(pk)
    elif process_package.get_backend().supports_defer:
        process_package.using(run_after=when).enqueue(pk)


def enqueue_waiting() -> int:
    """Enqueue the task of every package still waiting (received by an earlier release, or
    whose task was set aside); how many. A package's task run twice does its work once."""
    count = 0
    now = timezone.now()
    waiting = ReceivedPackage.objects.filter(status=ReceivedPackage.Status.RECEIVED)
    for pk, due in waiting.order_by("received_at", "pk").values_list("pk", "next_attempt_at"):
        schedule(pk, due if due is not None and due > now else None)
        count += 1
    return count


FORGOTTEN_AFTER = dt.timedelta(seconds=60)
"""A package due this long with no task waiting or running for it has lost its task."""


def enqueue_forgotten(now: dt.datetime) -> int:
    """`hocba worker`'s sweep (registered in `WarehouseConfig.ready`): enqueue the task of each
    package that is due for an attempt but has no task in the queue (its task was set aside
    after its workers died under it, or its enqueueing was lost); how many. Nothing on a queue
    that cannot be read (RQ: `hocba warehouse enqueue` does it by hand)."""
    from hocba.jobs.services import live_arguments
    from hocba.warehouse.tasks import process_package

    live = live_arguments(process_package)
    if live is None:
        return 0
    queued = {args[0] for args, _kwargs in live if args}
    cutoff = now - FORGOTTEN_AFTER
    forgotten = (
        ReceivedPackage.objects.filter(
            status=ReceivedPackage.Status.RECEIVED, received_at__lt=cutoff
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=cutoff))
        .exclude(pk__in=queued)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )
    count = 0
    for pk in forgotten:
        log.warning("package %s was waiting with no task; enqueuing it", pk)
        schedule(pk)
        count += 1
    return count


def read_stored(stored: StoredRecord) -> bytes:
    """A stored record's bytes, checked against its hash (`BlobError`)."""
    return blobs.get(blobs.BlobRef(blobs.Kind.RECORD_XML, stored.xml_sha256))


def acks_of(row: ReceivedPackage) -> list[dict[str, Any]]:
    return [
        {
            "record_id": a.record_id,
            "version": a.version,
            "status": a.status,
            "code": a.code,
            "message": a.message,
        }
        for a in row.acks.all()
    ]
