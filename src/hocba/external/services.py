"""Records issued by another system, imported as they are: when a school changes vendor, its
earlier years come as the other vendor's signed record XML. Each file is verified by the verifier
of the public portal (`signing.config.verifier()`, the one `verification.services.check_file`
asks: schema, signatures, chain to the trusted roots, revocation), matched to one of the school's
students, and kept byte for byte in the blob store (`records.ExternalRecord`). Nothing is
re-signed, sent or corrected here.

A batch is all or nothing: one file refused refuses the batch, and every refusal is listed
with its code and a Vietnamese reason. Importing a file already imported changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from hocba import blobs, limits
from hocba.audit.services import Entry, record_events
from hocba.blobs import Kind
from hocba.formats import RecordFacts, facts_of, parse_untrusted
from hocba.formats.report import VERDICT_WORDS, CheckStatus, Report, Verdict, as_json
from hocba.organizations.models import School
from hocba.organizations.permissions import Permission, can
from hocba.records.models import ExternalRecord, Record
from hocba.signing import config
from hocba.students.models import Student

NAME_SHOWN = 120
"""Characters of a file's name repeated in a message (a ZIP entry's name is the sender's)."""

_ARCHIVE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


@dataclass(frozen=True)
class Incoming:
    """One file given for import: its name (as uploaded, or its path in a ZIP) and its bytes."""

    name: str
    content: bytes


@dataclass(frozen=True)
class Refusal:
    """Why one file (or the whole upload) is refused."""

    name: str
    """The file's name ("" for the upload as a whole)."""
    code: str
    """Stable, UPPER_SNAKE: EXTERNAL_NOT_A_RECORD, EXTERNAL_NOT_VERIFIED, …"""
    message: str
    """Vietnamese, naming the file."""
    detail: str = ""
    """The verification code behind it (XML_DTD_FORBIDDEN, CHAIN_UNTRUSTED, …), for support."""


class ImportRefused(Exception):
    """The batch is refused and nothing was written; `refusals` says why, file by file."""

    def __init__(self, refusals: Sequence[Refusal]) -> None:
        super().__init__("; ".join(f"{r.code}: {r.message}" for r in refusals))
        self.refusals = list(refusals)


@dataclass
class ImportReport:
    imported: list[ExternalRecord] = field(default_factory=list)
    """Records written by this import."""
    unchanged: list[ExternalRecord] = field(default_factory=list)
    """Files imported before (the same bytes): nothing changed for them."""


def shown_name(name: str) -> str:
    return name if len(name) <= NAME_SHOWN else name[: NAME_SHOWN - 1] + "…"


# --- reading what was given: files, ZIP archives ------------------------------------------


def _is_zip(name: str, content: bytes) -> bool:
    return content.startswith((b"PK\x03\x04", b"PK\x05\x06")) or name.lower().endswith(".zip")


def _archive_refusal(name: str, why: str) -> Refusal:
    return Refusal(
        shown_name(name), "EXTERNAL_ARCHIVE_REFUSED", f"Tệp nén {shown_name(name)}: {why}"
    )


def _entries(name: str, content: bytes) -> list[Incoming]:
    """The files of a ZIP, each checked against the limits before it is unpacked (entry count,
    declared sizes, stored or deflated without a password), and unpacked no further than its
    declared size: a bomb is refused unread."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise ImportRefused([_archive_refusal(name, "không đọc được tệp ZIP")]) from None
    with archive:
        infos = [
            i
            for i in archive.infolist()
            if not i.is_dir() and not i.filename.startswith("__MACOSX/")
        ]
        if len(archive.infolist()) > limits.EXTERNAL_FILES:
            raise ImportRefused(
                [_archive_refusal(name, f"có hơn {limits.EXTERNAL_FILES} tệp")]
            ) from None
        if sum(i.file_size for i in infos) > limits.EXTERNAL_UNPACKED_BYTES:
            raise ImportRefused(
                [_archive_refusal(name, "dung lượng sau khi giải nén vượt quá giới hạn")]
            )
        for info in infos:
            if info.flag_bits & 0x1 or info.compress_type not in _ARCHIVE_METHODS:
                raise ImportRefused(
                    [_archive_refusal(name, f"tệp {shown_name(info.filename)} có mật khẩu "
                                            "hoặc nén theo cách không hỗ trợ")]
                )  # fmt: skip
            if info.file_size > limits.RECORD_XML_BYTES:
                raise ImportRefused(
                    [_archive_refusal(name, f"tệp {shown_name(info.filename)} lớn hơn "
                                            "giới hạn của một tệp học bạ (2 MB)")]
                )  # fmt: skip
        found = []
        for info in infos:
            try:
                with archive.open(info) as handle:
                    data = handle.read(info.file_size + 1)
            except Exception:  # whatever the unpacking meets, the archive is damaged
                raise ImportRefused(
                    [_archive_refusal(name, f"tệp {shown_name(info.filename)} bị hỏng")]
                ) from None
            if len(data) > info.file_size:
                raise ImportRefused(
                    [_archive_refusal(name, f"tệp {shown_name(info.filename)} bị hỏng")]
                )
            found.append(Incoming(f"{name}/{info.filename}", data))
    return found


def expand(files: Iterable[Incoming]) -> list[Incoming]:
    """The record files among `files`, each ZIP replaced by its entries; ImportRefused for a
    ZIP that cannot be read within the limits, or more files than one import takes."""
    found: list[Incoming] = []
    for incoming in files:
        if _is_zip(incoming.name, incoming.content):
            found.extend(_entries(incoming.name, incoming.content))
        else:
            found.append(incoming)
        if len(found) > limits.EXTERNAL_FILES:
            break
    if not found:
        raise ImportRefused([Refusal("", "EXTERNAL_NO_FILES", "Chưa có tệp học bạ nào để nhập")])
    if len(found) > limits.EXTERNAL_FILES:
        raise ImportRefused(
            [
                Refusal(
                    "", "EXTERNAL_TOO_MANY_FILES",
                    f"Mỗi lần nhập tối đa {limits.EXTERNAL_FILES} tệp học bạ",
                )
            ]
        )  # fmt: skip
    return found


# --- one file ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Accepted:
    incoming: Incoming
    sha256: str
    report: Report
    facts: RecordFacts
    student: Student


def _first_problem(report: Report) -> tuple[str, str]:
    """The code and Vietnamese message of the check that explains the verdict."""
    check = report.unusable() if report.verdict is Verdict.MALFORMED else None
    if check is None:
        check = next(
            (c for c in report.checks if c.status is not CheckStatus.PASS and c.code), None
        )
    if check is None or check.code is None:
        return "", ""
    return str(check.code), check.message("vi")


def _verified(incoming: Incoming) -> tuple[Report, RecordFacts] | Refusal:
    """The file's report from the public portal's verifier, and its facts when it is VALID."""
    name = shown_name(incoming.name)
    if incoming.content.startswith(b"%PDF"):
        return Refusal(
            name, "EXTERNAL_NOT_A_RECORD",
            f"Tệp {name} là tệp PDF; hãy nhập tệp XML học bạ số đã ký (PDF chỉ là bản thể hiện)",
        )  # fmt: skip
    # the verifier of `verification.services.check_file`; whether the file is one of this
    # system's versions is asked below of every record id at once
    report = config.verifier().verify(incoming.content)
    code, why = _first_problem(report)
    if report.verdict is Verdict.MALFORMED:
        return Refusal(
            name, "EXTERNAL_NOT_A_RECORD", f"Tệp {name} không phải học bạ số: {why}", code
        )
    if report.verdict is not Verdict.VALID:
        word = VERDICT_WORDS[report.verdict].text("vi")
        return Refusal(
            name, "EXTERNAL_NOT_VERIFIED",
            f"Tệp {name} không xác minh được ({word}): {why}", code,
        )  # fmt: skip
    return report, facts_of(parse_untrusted(incoming.content))


@dataclass
class _Batch:
    """What one import checks every file against, read in a few queries for the whole batch."""

    school: School
    by_personal_id: dict[str, Student]
    by_code: dict[str, Student]
    issued_here: set[str]
    """Record ids (canonical UUID text) among the batch's that name this system's records."""
    imported: set[tuple[str, int]]
    """(record id, version) of the school's imported records among the batch's."""

    @classmethod
    def read(cls, school: School, verified: list[tuple[Incoming, Report, RecordFacts]]) -> _Batch:
        students = list(Student.objects.filter(enrolments__class_group__school=school).distinct())
        ids = {f.record_id for _, _, f in verified}
        keys = [k for k in map(_uuid_or_none, ids) if k is not None]
        return cls(
            school,
            {s.personal_id: s for s in students if s.personal_id},
            {s.student_code: s for s in students},
            {
                str(k)
                for k in Record.objects.filter(record_id__in=keys).values_list(
                    "record_id", flat=True
                )
            },
            set(
                ExternalRecord.objects.filter(school=school, record_id__in=ids).values_list(
                    "record_id", "version"
                )
            ),
        )

    def student_of(self, facts: RecordFacts) -> Student | tuple[str, str]:
        """The school's student the record names, or why none (a code and a Vietnamese
        message). A personal ID in the record must be a student's; a student code too, when it
        names one, must be the same student's; then the full name and the date of birth must be
        the student's. A record is never attached to a pupil by the code alone when its personal
        ID names nobody."""
        by_id = (
            self.by_personal_id.get(facts.student_personal_id)
            if facts.student_personal_id
            else None
        )
        by_code = self.by_code.get(facts.student_code) if facts.student_code else None
        student = by_id or by_code
        if student is None or (facts.student_personal_id and by_id is None):
            return "EXTERNAL_STUDENT_UNKNOWN", _(
                "the school %(school)s has no student with personal ID %(personal_id)s or "
                "student code %(code)s (%(name)s)"
            ) % {
                "school": self.school.name,
                "personal_id": facts.student_personal_id or "—",
                "code": facts.student_code or "—",
                "name": facts.student_name,
            }
        if by_id is not None and by_code is not None and by_id != by_code:
            return "EXTERNAL_STUDENT_CODE_DIFFERS", _(
                "the personal ID %(personal_id)s is the student %(student)s's, the student code "
                "%(code)s another student's (%(other)s)"
            ) % {
                "personal_id": facts.student_personal_id,
                "student": str(by_id),
                "code": facts.student_code,
                "other": str(by_code),
            }
        if _name_key(facts.student_name) != _name_key(student.full_name):
            return "EXTERNAL_STUDENT_NAME_DIFFERS", _(
                "the record names the student %(name)s, the school's student is %(student)s"
            ) % {"name": facts.student_name, "student": str(student)}
        born, known = facts.student_date_of_birth, student.date_of_birth
        if born is not None and known is not None and born != known:
            return "EXTERNAL_STUDENT_BIRTH_DATE_DIFFERS", _(
                "the record gives the date of birth %(record)s, the school's student %(student)s "
                "was born on %(known)s"
            ) % {
                "record": born.strftime("%d/%m/%Y"),
                "student": str(student),
                "known": known.strftime("%d/%m/%Y"),
            }
        return student


def _name_key(name: str) -> str:
    """A full name as compared: Unicode NFC, case and runs of spaces aside."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _judge(
    batch: _Batch, incoming: Incoming, report: Report, facts: RecordFacts
) -> _Accepted | Refusal:
    name = shown_name(incoming.name)
    key = _uuid_or_none(facts.record_id)
    if key is not None and str(key) in batch.issued_here:
        return Refusal(
            name, "EXTERNAL_ISSUED_HERE",
            f"Tệp {name} là học bạ do chính hệ thống này cấp (mã học bạ {facts.record_id}); "
            "không nhập như học bạ của hệ thống khác",
        )  # fmt: skip
    student = batch.student_of(facts)
    if isinstance(student, tuple):
        code, why = student
        return Refusal(name, code, f"Tệp {name}: {why}")
    sha256 = hashlib.sha256(incoming.content).hexdigest()
    return _Accepted(incoming, sha256, report, facts, student)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- the batch ----------------------------------------------------------------------------


def import_external(
    user: Any, school: School, files: Iterable[Incoming], request: HttpRequest | None = None
) -> ImportReport:
    """Import the record files (ZIPs are opened) issued by another system for `school`'s
    students: all of them, or none (ImportRefused lists every file refused, with its code).
    A file whose bytes were imported before changes nothing and is reported as unchanged."""
    if not can(user, Permission.RECORD_IMPORT, school):
        raise PermissionDenied("Chỉ hiệu trưởng mới được nhập học bạ do hệ thống khác cấp")
    given: dict[str, Incoming] = {}  # by SHA-256: the same bytes twice are one file
    for incoming in expand(files):
        given.setdefault(hashlib.sha256(incoming.content).hexdigest(), incoming)
    try:
        return _import(user, school, given, request)
    except IntegrityError:
        # the same record written by another import since this one read the school's (a form
        # sent twice): judged again, what the other wrote is now imported before
        return _import(user, school, given, request)


def _import(
    user: Any, school: School, given: dict[str, Incoming], request: HttpRequest | None
) -> ImportReport:
    report = ImportReport()
    before = {
        r.xml_sha256: r
        for r in ExternalRecord.objects.filter(
            school=school, xml_sha256__in=list(given)
        ).select_related("student")
    }
    report.unchanged = list(before.values())
    refusals: list[Refusal] = []
    verified: list[tuple[Incoming, Report, RecordFacts]] = []
    for sha256, incoming in given.items():
        if sha256 in before:
            continue
        outcome = _verified(incoming)
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
        else:
            verified.append((incoming, *outcome))
    batch = _Batch.read(school, verified)
    accepted: list[_Accepted] = []
    for incoming, file_report, facts in verified:
        judged = _judge(batch, incoming, file_report, facts)
        if isinstance(judged, Refusal):
            refusals.append(judged)
        else:
            accepted.append(judged)
    refusals.extend(_conflicts(batch, accepted))
    if refusals:
        raise ImportRefused(refusals)
    if not accepted:
        return report
    now = timezone.now()
    with transaction.atomic():
        # bytes first (content-addressed: a rolled-back import leaves only unreferenced copies)
        report.imported = ExternalRecord.objects.bulk_create(
            [_row(user, school, one, now) for one in accepted]
        )
        record_events(
            user,
            [
                Entry(
                    "records.import_external",
                    row,
                    summary=f"{row.student.full_name} {row.school_year} ({row.issuer_name})",
                    new={
                        "record_id": row.record_id,
                        "version": row.version,
                        "sha256": row.xml_sha256,
                        "verdict": row.verdict,
                    },
                )
                for row in report.imported
            ],
            request=request,
        )
    return report


def _conflicts(batch: _Batch, accepted: list[_Accepted]) -> list[Refusal]:
    """Two different files for the same record and version (in this batch, or one imported
    before): which is the record cannot be decided here."""
    refusals = []
    seen: set[tuple[str, int]] = set()
    for one in accepted:
        key = (one.facts.record_id, one.facts.version)
        name = shown_name(one.incoming.name)
        if key in batch.imported or key in seen:
            refusals.append(
                Refusal(
                    name,
                    "EXTERNAL_CONFLICT",
                    f"Tệp {name}: học bạ {key[0]} phiên bản {key[1]} đã có một tệp khác "
                    "(đã nhập trước đây hoặc trong cùng lần nhập); tệp nào đúng phải hỏi "
                    "nơi cấp",
                )
            )
        seen.add(key)
    return refusals


def _row(user: Any, school: School, one: _Accepted, now: Any) -> ExternalRecord:
    """The row of an accepted file, its bytes stored."""
    ref = blobs.put(Kind.RECORD_XML, one.incoming.content, one.sha256)
    facts = one.facts
    return ExternalRecord(
        student=one.student, school=school, record_id=facts.record_id, version=facts.version,
        issuer_code=facts.school_code, issuer_name=facts.school_name,
        school_year=facts.school_year, grade=facts.grade, class_name=facts.class_name,
        issued_on=facts.issued_on, xml_sha256=ref.sha256, xml_size=len(one.incoming.content),
        verdict=str(one.report.verdict), report=as_json(one.report), verified_at=now,
        imported_by=user,
    )  # fmt: skip
