"""The doors through which records change: build drafts from the grade book, correct and revoke
issued records by new versions, and close versions when a later one is issued. Each checks
permission, writes the version, its file (by hash) and the audit event in one transaction."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from hocba import blobs
from hocba.audit.services import Entry as AuditEntry
from hocba.audit.services import record_event, record_events
from hocba.blobs import BlobRef, Kind
from hocba.formats import build, parse, parse_untrusted, validate
from hocba.formats.model import Envelope, Slots
from hocba.organizations.models import ClassGroup, School, SchoolYear
from hocba.organizations.permissions import Permission, can
from hocba.records.assemble import ClassStaff, NotReady, assemble, circular_for
from hocba.records.models import Event, ExternalRecord, Record, RecordVersion, State
from hocba.records.signals import record_issued
from hocba.students.models import Student
from hocba.students.services import review_students


class RecordError(ValueError):
    """A state change that cannot happen; the message is Vietnamese."""


class IdentityProblems(RecordError):
    """The student's identity has open problems (rà soát): a record would carry wrong or
    invented data, so none is written. `problems` is the list building reports for them."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class BuildReport:
    created: list[RecordVersion] = field(default_factory=list)
    updated: list[RecordVersion] = field(default_factory=list)
    skipped: list[tuple[Student, str]] = field(default_factory=list)
    refused: list[tuple[Student, list[str]]] = field(default_factory=list)


def visible_record(user: Any, record_id: str) -> Record:
    """The record with this id if `user` may read it (Http404 for an unknown or malformed id,
    PermissionDenied outside the user's scope) — for pages and the API alike."""
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        raise Http404 from None
    record = (
        Record.objects.select_related("student", "school", "school_year", "class_group")
        .filter(record_id=key)
        .first()
    )
    if record is None:
        raise Http404
    if not can(user, Permission.RECORD_READ, record):
        raise PermissionDenied
    return record


def store_xml(content: bytes) -> str:
    """Save bytes under their SHA-256 (once) and return the hash."""
    return blobs.put(Kind.RECORD_XML, content).sha256


def read_xml(version: RecordVersion) -> bytes:
    """The version's bytes, checked against the hash the database holds (`blobs.BlobError`
    when they are missing or do not match)."""
    return blobs.get(BlobRef(Kind.RECORD_XML, version.xml_sha256))


def read_external_xml(record: ExternalRecord) -> bytes:
    """The exact bytes another system issued, as imported, checked against their SHA-256
    (`blobs.BlobError` when they are missing or do not match)."""
    return blobs.get(BlobRef(Kind.RECORD_XML, record.xml_sha256))


def identity_problems(students: Iterable[Student]) -> dict[int, list[str]]:
    """The identity review's messages by student id, for the students that have problems."""
    problems: dict[int, list[str]] = {}
    for found in review_students(Student.objects.filter(pk__in=[s.pk for s in students])):
        problems.setdefault(found.student_id, []).append(found.problem.message)
    return problems


def _new_version(
    record: Record, number: int, event: str, status: int, content: bytes, user: Any, reason: str
) -> RecordVersion:
    validate(parse_untrusted(content))
    digest = store_xml(content)
    return RecordVersion.objects.create(
        record=record, version=number, event=event, status=status, xml_sha256=digest,
        xml_size=len(content), reason=reason, created_by=user,
    )  # fmt: skip


def build_records(
    user: Any,
    school: School,
    school_year: SchoolYear,
    class_groups: Iterable[ClassGroup] | None = None,
    request: HttpRequest | None = None,
) -> BuildReport:
    """Draft records for the students of the classes (every class of the year by default).

    Students with an open identity problem or incomplete results are refused and listed; the
    others get version 1 (or their draft rebuilt from the current data)."""
    if not can(user, Permission.RECORD_BUILD, school):
        raise PermissionDenied("Chỉ hiệu trưởng, phó hiệu trưởng mới được lập học bạ")
    classes = list(
        class_groups
        if class_groups is not None
        else ClassGroup.objects.filter(school=school, school_year=school_year)
    )
    if any(c.school_id != school.pk or c.school_year_id != school_year.pk for c in classes):
        raise RecordError("Lớp không thuộc trường hoặc năm học đã chọn")
    report = BuildReport()
    today = timezone.localdate()
    for class_group in sorted(classes, key=lambda c: (c.grade, c.name)):
        students = list(
            Student.objects.filter(enrolments__class_group=class_group)
            .order_by("full_name", "student_code")
            .distinct()
        )
        problems = identity_problems(students)
        staff = ClassStaff.of(class_group, [s for s in students if s.pk not in problems])
        for student in students:
            if student.pk in problems:
                report.refused.append((student, problems[student.pk]))
                continue
            with transaction.atomic():
                _build_one(user, student, class_group, staff, school_year, today, report, request)
    return report


def _build_one(
    user: Any, student: Student, class_group: ClassGroup, staff: ClassStaff,
    school_year: SchoolYear, today: Any, report: BuildReport, request: HttpRequest | None,
) -> None:  # fmt: skip
    record = Record.objects.filter(student=student, school_year=school_year).first()
    latest = record.latest() if record else None
    if latest is not None and latest.state != State.DRAFT:
        report.skipped.append((student, f"Đã có học bạ ({latest.get_state_display()})"))
        return
    if latest is not None and latest.event == Event.CANCEL:
        # a revocation keeps the issued content; it is never rebuilt from the grade book
        report.skipped.append((student, "Bản thu hồi đang chờ hiệu trưởng ký"))
        return
    record_id = str(record.record_id) if record else None
    number = latest.version if latest else 1
    envelope = Envelope(
        record_id=record_id or "00000000-0000-0000-0000-000000000000",
        version=number, event=latest.event if latest else Event.NEW,
        status=1, circular=circular_for(class_group), school_year=school_year.name,
        reason=latest.reason if latest else "",
        replaces_version=number - 1 if latest and latest.event != Event.NEW else None,
    )  # fmt: skip
    try:
        assembled = assemble(student, class_group, envelope, today, staff)
    except NotReady as not_ready:
        report.refused.append((student, not_ready.reasons))
        return
    if record is None:
        record = Record.objects.create(
            student=student, school=class_group.school, school_year=school_year,
            class_group=class_group,
        )  # fmt: skip
        assembled = dataclasses.replace(
            assembled, envelope=dataclasses.replace(envelope, record_id=str(record.record_id))
        )
    content = build(assembled)
    if latest is None:
        version = _new_version(record, 1, Event.NEW, 1, content, user, "")
        report.created.append(version)
        action = "records.build"
    else:
        validate(parse_untrusted(content))
        if hashlib.sha256(content).hexdigest() == latest.xml_sha256:
            report.skipped.append((student, "Bản nháp không thay đổi"))
            return
        latest.xml_sha256, latest.xml_size = store_xml(content), len(content)
        latest.save(update_fields=["xml_sha256", "xml_size"])
        version = latest
        report.updated.append(version)
        action = "records.rebuild_draft"
    record_event(
        user, action, version, summary=f"{student.full_name} {school_year.name} v{version.version}",
        new={"sha256": version.xml_sha256}, request=request,
    )  # fmt: skip


def _latest_issued(record: Record) -> RecordVersion:
    latest = record.latest()
    if latest is None or latest.state != State.ISSUED:
        state = latest.get_state_display() if latest else "chưa có"
        raise RecordError(
            f"Chỉ điều chỉnh hoặc thu hồi được học bạ đã phát hành (phiên bản mới nhất: {state})"
        )
    return latest


def correct_record(
    user: Any, record: Record, reason: str, request: HttpRequest | None = None
) -> RecordVersion:
    """Start version n+1 (event UPDATE) from the current grade-book data, with the reason.

    Refused like building (`IdentityProblems`, nothing written) while the student's identity
    has open problems: a correction carries the identity as it is now."""
    if not can(user, Permission.RECORD_CORRECT, record):
        raise PermissionDenied("Chỉ hiệu trưởng, phó hiệu trưởng mới được điều chỉnh học bạ")
    if not reason.strip():
        raise RecordError("Cần ghi rõ lý do điều chỉnh")
    with transaction.atomic():
        issued = _latest_issued(Record.objects.select_for_update().get(pk=record.pk))
        problems = identity_problems([record.student]).get(record.student_id)
        if problems:
            raise IdentityProblems(problems)
        envelope = Envelope(
            record_id=str(record.record_id), version=issued.version + 1, event=Event.UPDATE,
            status=1, circular=circular_for(record.class_group),
            school_year=record.school_year.name, reason=reason.strip(),
            replaces_version=issued.version,
        )  # fmt: skip
        try:
            assembled = assemble(record.student, record.class_group, envelope, timezone.localdate())
        except NotReady as not_ready:
            raise RecordError("; ".join(not_ready.reasons)) from None
        version = _new_version(
            record, issued.version + 1, Event.UPDATE, 1, build(assembled), user, reason.strip()
        )
        record_event(
            user, "records.correct", version, old={"version": issued.version},
            new={"version": version.version, "sha256": version.xml_sha256},
            reason=reason.strip(), request=request,
        )  # fmt: skip
    return version


def revoke_record(
    user: Any, record: Record, reason: str, request: HttpRequest | None = None
) -> RecordVersion:
    """Start the revocation: version n+1 with the issued content, status 2, event CANCEL."""
    if not can(user, Permission.RECORD_REVOKE, record):
        raise PermissionDenied("Chỉ hiệu trưởng mới được thu hồi học bạ")
    if not reason.strip():
        raise RecordError("Cần ghi rõ lý do thu hồi")
    with transaction.atomic():
        issued = _latest_issued(Record.objects.select_for_update().get(pk=record.pk))
        current = parse(read_xml(issued))
        revoked = dataclasses.replace(
            current,
            envelope=dataclasses.replace(
                current.envelope, version=issued.version + 1, event=Event.CANCEL, status=2,
                reason=reason.strip(), replaces_version=issued.version,
            ),
            slots=Slots(),
        )  # fmt: skip
        version = _new_version(
            record, issued.version + 1, Event.CANCEL, 2, build(revoked), user, reason.strip()
        )
        record_event(
            user, "records.revoke", version, old={"version": issued.version},
            new={"version": version.version, "status": 2}, reason=reason.strip(),
            request=request,
        )  # fmt: skip
    return version


def mark_issued(version: RecordVersion, user: Any, request: HttpRequest | None = None) -> None:
    """The last signature makes a version ISSUED; the version it replaces is closed
    (SUPERSEDED by a correction, REVOKED by a revocation); `record_issued` is sent in the same
    transaction (the exchange puts the version in its outbox). Called by the signing service."""
    issue_versions([version], user, request)


def issue_versions(
    versions: list[RecordVersion], user: Any, request: HttpRequest | None = None
) -> None:
    """`mark_issued` for the versions of a signing batch, in a few queries: each becomes
    ISSUED, each record's earlier issued version is closed, `record_issued` is sent for each
    and one audit event per version is appended. Refuses (changing nothing) when one of them is
    not waiting for signatures."""
    for version in versions:
        if version.state not in (State.DRAFT, State.SIGNING):
            raise RecordError(f"Phiên bản {version.version} đã ở trạng thái {version.state}")
    if not versions:
        return
    now = timezone.now()
    with transaction.atomic():
        RecordVersion.objects.filter(pk__in=[v.pk for v in versions]).update(
            state=State.ISSUED, issued_at=now
        )
        by_record = {v.record_id: v for v in versions}
        closing: dict[str, list[int]] = {State.REVOKED: [], State.SUPERSEDED: []}
        for pk, record_id, number in RecordVersion.objects.filter(
            record_id__in=list(by_record), state=State.ISSUED
        ).values_list("pk", "record_id", "version"):
            version = by_record[record_id]
            if number < version.version:
                closed = State.REVOKED if version.event == Event.CANCEL else State.SUPERSEDED
                closing[closed].append(pk)
        for state, pks in closing.items():
            if pks:
                RecordVersion.objects.filter(pk__in=pks).close(state, now)
        for version in versions:
            version.state, version.issued_at = State.ISSUED, now
            record_issued.send(sender=RecordVersion, version=version)
        record_events(
            user,
            [
                AuditEntry("records.issue", v, new={"version": v.version, "sha256": v.xml_sha256})
                for v in versions
            ],
            request=request,
        )
