"""Signing records in batches, in order: every subject teacher (GVBM) → the homeroom teacher
(GVCN) → the principal (CBQL) → the school's organisation certificate (KY_PHAT_HANH), which
issues the record. A revocation needs only the principal.

One authorisation (one PIN entry, one remote-signing approval) covers a whole batch. Records
are prepared, signed and saved in chunks; a failure on one record leaves the others signed and
the batch can simply be run again: slots already signed are skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.utils import timezone
from lxml import etree

from hocba.audit.services import Entry as AuditEntry
from hocba.audit.services import record_events
from hocba.blobs import BlobError
from hocba.formats import Slot, XmlRejected, parse_untrusted, slots_of
from hocba.formats.builder import serialize
from hocba.gradebook.models import ClassSubject
from hocba.organizations.permissions import Permission, can
from hocba.records.models import Event, RecordVersion, State
from hocba.records.services import RecordError, issue_versions, read_xml, store_xml
from hocba.signing import config, profile
from hocba.signing.certs import can_sign_documents, personal_id_of, tax_code_of, valid_at
from hocba.signing.revocation import Status
from hocba.signing.signers import Signer, algorithm_of

SLOTS = tuple(Slot)
SLOT_NAMES = {slot: slot.label.lower() for slot in Slot}
"""Who signs each step, as a sentence names them ("Đã có chữ ký của hiệu trưởng")."""


class SigningRefused(Exception):
    """Nothing was signed; `code` is stable, the message Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass
class SignReport:
    signed: list[RecordVersion] = field(default_factory=list)
    signatures: int = 0
    issued: list[RecordVersion] = field(default_factory=list)
    skipped: list[tuple[RecordVersion, str]] = field(default_factory=list)
    failed: list[tuple[RecordVersion, str, str]] = field(default_factory=list)


def check_certificate(signer: Signer, slot: str, user: Any, now: dt.datetime) -> None:
    """The signer's certificate may sign for this user in this slot, now."""
    cert = signer.certificate
    chain = config.trust_store().chain(cert)
    if chain is None:
        raise SigningRefused(
            "CHAIN_UNTRUSTED", "Chứng thư số không thuộc tổ chức chứng thực được tin cậy"
        )
    if not all(valid_at(c, now) for c in chain):
        raise SigningRefused("CERT_NOT_VALID", "Chứng thư số đã hết hạn hoặc chưa có hiệu lực")
    if not can_sign_documents(cert):
        raise SigningRefused("KEY_USAGE", "Chứng thư số không được phép dùng để ký số")
    if len(chain) > 1:
        answer = config.revocation_checker().status(cert, chain[1])
        if answer.status is Status.REVOKED:
            raise SigningRefused("CERT_REVOKED", "Chứng thư số đã bị thu hồi")
    if slot != "KY_PHAT_HANH":
        staff = getattr(user, "staff", None)
        if staff is None or personal_id_of(cert) != staff.personal_id:
            raise SigningRefused(
                "CERT_NOT_YOURS", "Chứng thư số không mang số định danh cá nhân của người ký"
            )
    elif tax_code_of(cert) is None:
        raise SigningRefused("NOT_ORGANISATION", "Chứng thư số không phải chứng thư số của tổ chức")


@dataclass
class _Job:
    version: RecordVersion
    root: etree._Element
    sha256: str
    prepared: list[profile.Prepared] = field(default_factory=list)
    issues: bool = False


def _subject_code(slot_target: str) -> str:
    return slot_target.removeprefix("mon-")


class _Allowed:
    """Permission answers for one batch (the same classes come back record after record)."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.answers: dict[tuple[str, str, int], bool] = {}
        self.subjects: dict[tuple[int, str], ClassSubject | None] = {}

    def __call__(self, permission: Permission, obj: Any) -> bool:
        key = (permission.value, type(obj).__name__, obj.pk)
        if key not in self.answers:
            self.answers[key] = can(self.user, permission, obj)
        return self.answers[key]

    def subject(self, class_group_id: int, code: str) -> ClassSubject | None:
        key = (class_group_id, code)
        if key not in self.subjects:
            self.subjects[key] = ClassSubject.objects.filter(
                class_group_id=class_group_id, subject_code=code
            ).first()
        return self.subjects[key]


def _plan(
    allowed: _Allowed,
    version: RecordVersion,
    slot: str,
    subject_code: str | None,
    cert: x509.Certificate,
    now: dt.datetime,
) -> _Job:
    """Prepare the signatures one record needs from this signer, or say why not."""
    record = version.record
    if version.state not in (State.DRAFT, State.SIGNING):
        raise SigningRefused(
            "NOT_SIGNABLE", f"Học bạ đang ở trạng thái {version.get_state_display()}"
        )
    content = read_xml(version)
    root = parse_untrusted(content, keep_whitespace=True)
    slots = slots_of(root)
    cancel = version.event == Event.CANCEL
    job = _Job(version, root, version.xml_sha256)
    algorithm = algorithm_of(cert)
    if slot == "GVBM":
        if cancel:
            raise SigningRefused("NOT_NEEDED", "Bản thu hồi chỉ cần chữ ký của hiệu trưởng")
        own = personal_id_of(cert)
        codes = (
            [subject_code]
            if subject_code
            else [_subject_code(s.target) for s in slots.subject_teachers]
        )
        targets = []
        for code in codes:
            teacher_slot = slots.subject_teacher(code)
            if teacher_slot is None:
                raise SigningRefused("NO_SUCH_SUBJECT", f"Học bạ không có môn {code}")
            if teacher_slot.person != own or teacher_slot.signed:
                continue
            class_subject = allowed.subject(record.class_group_id, code)
            if class_subject is None or not allowed(Permission.SIGN_SUBJECT, class_subject):
                continue
            assert teacher_slot.expected is not None  # the record names its teacher
            targets.append((teacher_slot.element, teacher_slot.expected, f"sig-gvbm-{code}"))
        if not targets:
            raise SigningRefused(
                "NOTHING_TO_SIGN", "Không có môn nào của thầy/cô chờ ký trong học bạ này"
            )
        for element, subject, sig_id in targets:
            job.prepared.append(profile.prepare(element, subject, cert, now, sig_id, algorithm))
        return job
    step = slots.step(Slot(slot))
    element = step.element
    if step.signed:
        raise SigningRefused("ALREADY_SIGNED", f"Đã có chữ ký của {SLOT_NAMES[slot]}")
    if slot == "GVCN":
        if cancel:
            raise SigningRefused("NOT_NEEDED", "Bản thu hồi chỉ cần chữ ký của hiệu trưởng")
        if not allowed(Permission.SIGN_HOMEROOM, record.class_group):
            raise PermissionDenied("Chỉ giáo viên chủ nhiệm của lớp được ký bước này")
        if step.person != personal_id_of(cert):
            raise SigningRefused("SIGNER_MISMATCH", "Học bạ ghi một giáo viên chủ nhiệm khác")
        waiting = [_subject_code(s.target) for s in slots.subject_teachers if not s.signed]
        if waiting:
            raise SigningRefused(
                "ORDER", f"Còn môn chưa được giáo viên bộ môn ký: {', '.join(waiting)}"
            )
    elif slot == "CBQL":
        if not allowed(Permission.SIGN_PRINCIPAL, record.school):
            raise PermissionDenied("Chỉ hiệu trưởng được ký bước này")
        if step.person != personal_id_of(cert):
            raise SigningRefused("SIGNER_MISMATCH", "Học bạ ghi một hiệu trưởng khác")
        if not cancel and not slots.homeroom.signed:
            raise SigningRefused("ORDER", "Giáo viên chủ nhiệm chưa ký")
        job.issues = cancel
    else:
        if cancel:
            raise SigningRefused("NOT_NEEDED", "Bản thu hồi chỉ cần chữ ký của hiệu trưởng")
        if not allowed(Permission.SIGN_SEAL, record.school):
            raise PermissionDenied("Chỉ văn thư hoặc hiệu trưởng được ký phát hành")
        if tax_code_of(cert) != record.school.tax_code or not record.school.tax_code:
            raise SigningRefused(
                "SIGNER_MISMATCH", "Chứng thư số không phải của trường này (mã số thuế)"
            )
        if not slots.principal.signed:
            raise SigningRefused("ORDER", "Hiệu trưởng chưa ký")
        job.issues = True
    target = step.expected
    assert target is not None
    job.prepared.append(
        profile.prepare(element, target, cert, now, f"sig-{slot.lower()}", algorithm)
    )
    return job


def _note_refusal(report: SignReport, version: RecordVersion, refused: Exception) -> None:
    """A version that cannot be signed now: skipped when there is nothing to do, else failed."""
    code = getattr(refused, "code", None) or (
        "FORBIDDEN" if isinstance(refused, PermissionDenied) else "RECORD_UNREADABLE"
    )
    message = getattr(refused, "message", None) or str(refused)
    if code in ("ALREADY_SIGNED", "NOTHING_TO_SIGN", "NOT_SIGNABLE"):
        report.skipped.append((version, message))
    else:
        report.failed.append((version, code, message))


def sign_records(
    user: Any,
    versions: Iterable[RecordVersion],
    slot: str,
    signer: Signer,
    subject_code: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    request: HttpRequest | None = None,
    chunk: int = 250,
    now: dt.datetime | None = None,
) -> SignReport:
    """Sign `slot` of every record in `versions` with `signer`, under one authorisation per
    chunk. Refuses the whole batch when the certificate cannot sign for this user; skips or
    lists each record that cannot be signed now, with the reason. `now` is the signing time
    (a browser signing in two steps prepares and completes with the same time, so the digests
    it signed are the ones embedded)."""
    if slot not in SLOTS:
        raise SigningRefused("UNKNOWN_SLOT", f"Vị trí ký “{slot}” không tồn tại")
    now = now or timezone.now()
    check_certificate(signer, slot, user, now)
    report = SignReport()
    allowed = _Allowed(user)
    pending = list(versions)
    done = 0
    for start in range(0, len(pending), chunk):
        jobs: list[_Job] = []
        for version in pending[start : start + chunk]:
            try:
                jobs.append(_plan(allowed, version, slot, subject_code, signer.certificate, now))
            except (
                SigningRefused,
                PermissionDenied,
                RecordError,
                BlobError,
                XmlRejected,
            ) as refused:
                _note_refusal(report, version, refused)
        digests = [p.digest for job in jobs for p in job.prepared]
        values = iter(signer.sign_digests(digests)) if digests else iter(())
        for job in jobs:
            for prepared in job.prepared:
                profile.embed(prepared, next(values))
        if jobs:
            _save(user, jobs, slot, request, report)
        done += len(pending[start : start + chunk])
        if progress:
            progress(done, len(pending))
    return report


CONCURRENT = "Học bạ vừa được người khác ký; hãy ký lại"


def _save(user: Any, jobs: list[_Job], slot: str, request: HttpRequest | None,
          report: SignReport) -> None:  # fmt: skip
    """Store the signed XML of a chunk's records in one transaction: each version that nobody
    changed since it was prepared gets its new XML, one audit event, and is issued when this
    was its last step; a version changed meanwhile is listed as failed and left as it is."""
    contents = {job.version.pk: serialize(job.root) for job in jobs}
    saved: list[_Job] = []
    rows: list[tuple[str, int, str, int]] = []
    with transaction.atomic():
        current = {
            pk: (sha256, state)
            for pk, sha256, state in RecordVersion.objects.select_for_update()
            .filter(pk__in=list(contents))
            .values_list("pk", "xml_sha256", "state")
        }
        for job in jobs:
            sha256, state = current.get(job.version.pk, ("", ""))
            if sha256 != job.sha256 or state not in (State.DRAFT, State.SIGNING):
                report.failed.append((job.version, "CONCURRENT_UPDATE", CONCURRENT))
                continue
            content = contents[job.version.pk]
            version = job.version
            version.xml_sha256, version.xml_size = store_xml(content), len(content)
            version.state = State.SIGNING
            rows.append((version.xml_sha256, version.xml_size, version.state, version.pk))
            saved.append(job)
        _update_signed(rows)
        record_events(
            user,
            [
                AuditEntry(
                    f"records.sign.{slot.lower()}",
                    version,
                    summary=f"{slot} ký {len(job.prepared)} chữ ký",
                    new={"sha256": version.xml_sha256, "signatures": len(job.prepared)},
                )
                for job in saved
                for version in [job.version]
            ],
            request=request,
        )
        issuing = [job.version for job in saved if job.issues]
        prefetch_related_objects(issuing, "record__school", "record__school_year")
        issue_versions(issuing, user, request)
    for job in saved:
        report.signed.append(job.version)
        report.signatures += len(job.prepared)
        if job.issues:
            report.issued.append(job.version)


def _update_signed(rows: list[tuple[str, int, str, int]]) -> None:
    """Write (xml_sha256, xml_size, state, pk) of versions waiting for signatures in one
    statement run for each row. Django's `bulk_update` builds a CASE expression per field and
    row in Python, which cost more than the signatures of a batch; the condition on the state
    keeps the guard of `RecordVersion.save` (an issued version never changes)."""
    table = RecordVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET xml_sha256 = %s, xml_size = %s, state = %s "  # noqa: S608
            f"WHERE id = %s AND state IN ('{State.DRAFT}', '{State.SIGNING}')",
            rows,
        )


def prepare_batch(
    user: Any,
    versions: Iterable[RecordVersion],
    slot: str,
    certificate: x509.Certificate,
    now: dt.datetime,
    subject_code: str | None = None,
) -> tuple[dict[int, list[bytes]], SignReport]:
    """What a signer outside the server must sign for `versions` (digests per version id), and
    the records that cannot be signed now, without changing anything."""
    if slot not in SLOTS:
        raise SigningRefused("UNKNOWN_SLOT", f"Vị trí ký “{slot}” không tồn tại")
    report = SignReport()
    allowed = _Allowed(user)
    digests: dict[int, list[bytes]] = {}
    for version in versions:
        try:
            job = _plan(allowed, version, slot, subject_code, certificate, now)
        except (SigningRefused, PermissionDenied, RecordError, BlobError, XmlRejected) as refused:
            _note_refusal(report, version, refused)
            continue
        digests[version.pk] = [p.digest for p in job.prepared]
    return digests, report


def pending_slots(version: RecordVersion) -> dict[str, Any]:
    """Which steps of a draft version are still unsigned: {"GVBM": [subject codes], "GVCN":
    bool, "CBQL": bool, "KY_PHAT_HANH": bool} (True: waiting)."""
    slots = slots_of(parse_untrusted(read_xml(version), keep_whitespace=True))
    return {
        "GVBM": [_subject_code(s.target) for s in slots.subject_teachers if not s.signed],
        "GVCN": not slots.homeroom.signed,
        "CBQL": not slots.principal.signed,
        "KY_PHAT_HANH": not slots.seal.signed,
    }
