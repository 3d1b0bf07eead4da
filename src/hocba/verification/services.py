"""Public verification: a record version looked up by its id, version and check code (the QR
address), or an uploaded XML / sealed PDF; the report of `docs/contracts/verify.md`, completed with
what only the issuing system knows (a newer version, a revocation), and what a stranger may see.

Lookups need the id *and* the 12-digit check code printed on the record (ids are random UUIDs;
together they cannot be guessed), and a wrong code looks exactly like an unknown record. An
upload is completed with a stored version's status, student and school only when it proves to
be that version (`stored_version_of`): anything else is answered from the file alone, the same
whether or not a stored record has the id it names. The cryptographic report of a stored
version is cached, but never past the expiry of the revocation answers it rests on (at most
HOCBA_REVOCATION_REFRESH), so a certificate revoked meanwhile shows within that interval on
every process; the online status is read each time.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils.translation import get_language, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from hocba import limits
from hocba.formats.report import (
    VERDICT_EXPLANATIONS,
    VERDICT_WORDS,
    Check,
    CheckName,
    CheckStatus,
    Code,
    Language,
    Report,
    Verdict,
    language_of,
)
from hocba.records.models import Event, Record, RecordVersion, State
from hocba.records.services import read_xml
from hocba.signing import config, revocation
from hocba.signing.verify import signed_content_digest

CODE = re.compile(r"^[0-9a-f]{12}$")
MAX_UPLOAD = limits.VERIFY_UPLOAD_BYTES

# What the page shows, in the reader's language: the verdict's word and explanation and each
# check's message come from the report's catalogue (hocba.formats.report); the API report
# (docs/contracts/verify.md) keeps its codes and its Vietnamese messages.
CHECKS = {
    "schema": _("File structure against the student record schema"),
    "signature": _("Digital signature"),
    "certificate": _("Certificate"),
    "revocation": _("Certificate revocation status"),
    "order": _("Signing order"),
    "complete": _("All signing steps"),
    "record_status": _("Record status"),
    "pdf_signature": _("The school's digital signature on the PDF file"),
    "embedded_xml": _("XML record file attached to the PDF"),
    "view_matches_xml": _("PDF content matches the XML file"),
    "online_status": _("Status on the system"),
}
STATUS = {
    "PASS": pgettext_lazy("check", "Passed"),
    "FAIL": pgettext_lazy("check", "Failed"),
    "UNKNOWN": pgettext_lazy("check", "Not determined"),
}
# "… of the subject teacher" (hocba.signing.services.SLOT_NAMES, in the reader's language)
SLOTS = {
    "GVBM": _("the subject teacher"),
    "GVCN": _("the homeroom teacher"),
    "CBQL": _("the principal"),
    "KY_PHAT_HANH": _("the school"),
}


@dataclass
class Result:
    report: Report
    version: RecordVersion | None = None
    current: RecordVersion | None = None
    keep_until: float = 0.0
    """Until when a page drawn from this result may be kept (seconds since the epoch): the
    cached report's own expiry; 0 when it must not be kept."""

    @property
    def verdict(self) -> Verdict:
        return self.report.verdict


def page_language() -> Language:
    """The report catalogue's language for the page being drawn."""
    return language_of(get_language())


def verdict_word(verdict: Verdict) -> str:
    """The verdict's one word, in the page's language."""
    return VERDICT_WORDS[verdict].text(page_language())


def verdict_explanation(verdict: Verdict) -> str:
    """The sentence under the verdict's word, in the page's language."""
    return VERDICT_EXPLANATIONS[verdict].text(page_language())


def _report_of(version: RecordVersion) -> tuple[Report, float]:
    """The cryptographic report of a stored version, and until when it may be kept (seconds
    since the epoch): shared through the cache, kept no longer than the revocation answers it
    rests on, and never longer than the refresh interval."""
    key = f"verify-report-typed:{version.xml_sha256}"
    found = cache.get(key)
    if found is None:
        with revocation.horizon() as seen:
            report = config.verifier().verify(read_xml(version))
        until = min(seen.until, time.time() + config.revocation_refresh())
        found = (report, until)
        cache.set(key, found, until - time.time())
    return found  # type: ignore[no-any-return]


_ONLINE_PASS = Check(CheckName.ONLINE_STATUS, CheckStatus.PASS)


def _online(report: Report, version: RecordVersion) -> Result:
    """Add what the issuing system knows: a newer issued version, a revocation."""
    record = version.record
    current = record.versions.filter(state=State.ISSUED).order_by("-version").first()
    revoked = version.state == State.REVOKED or (
        current is not None and current.event == Event.CANCEL
    )
    verdict = report.verdict
    if revoked:
        online = Check(CheckName.ONLINE_STATUS, CheckStatus.FAIL, Code.RECORD_REVOKED)
        if verdict in (Verdict.VALID, Verdict.INDETERMINATE):
            verdict = Verdict.RECORD_REVOKED
    elif version.state == State.SUPERSEDED or (current and current.version > version.version):
        online = Check(CheckName.ONLINE_STATUS, CheckStatus.FAIL, Code.SUPERSEDED)
        if verdict in (Verdict.VALID, Verdict.INDETERMINATE):
            verdict = Verdict.SUPERSEDED
    elif version.state != State.ISSUED:
        online = Check(CheckName.ONLINE_STATUS, CheckStatus.FAIL, Code.NOT_ISSUED)
        if verdict is Verdict.VALID:
            verdict = Verdict.INCOMPLETE
    else:
        online = _ONLINE_PASS
    stored = report.record
    completed = Report(
        verdict,
        replace(stored, status=str(version.state)) if stored is not None else None,
        (*report.checks, online),
    )
    return Result(completed, version, current if current and current != version else None)


_STAMP_SQL: str | None = None


def stamp(record_id: str) -> int | None:
    """The latest issued (or closed) version number of the record, None when there is none: what
    a cached page must still agree with. One indexed query, written out (it runs for every
    visit of a QR address)."""
    global _STAMP_SQL
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        return None
    if _STAMP_SQL is None:
        versions, records = RecordVersion._meta.db_table, Record._meta.db_table
        _STAMP_SQL = (
            f"SELECT MAX(v.version) FROM {versions} v JOIN {records} r ON r.id = v.record_id "  # noqa: S608 - table names from the models
            "WHERE r.record_id = %s AND v.state IN (%s, %s, %s)"
        )
    value = Record._meta.get_field("record_id").get_db_prep_value(key, connection)
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL, [value, State.ISSUED, State.SUPERSEDED, State.REVOKED])
        row = cursor.fetchone()
    return None if row is None or row[0] is None else int(row[0])


def lookup(record_id: str, version: int, code: str) -> Result | None:
    """The version with this id, number and check code (None when any of them is wrong)."""
    code = code.strip().lower()
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        return None
    if not CODE.match(code):
        return None
    found = (
        RecordVersion.objects.select_related("record__school", "record__student")
        .filter(record__record_id=key, version=version, xml_sha256__startswith=code)
        .filter(Q(state__in=(State.ISSUED, State.SUPERSEDED, State.REVOKED)))
        .first()
    )
    if found is None:
        return None
    report, until = _report_of(found)
    result = _online(report, found)
    result.keep_until = until
    return result


def check_file(data: bytes) -> Result:
    """An uploaded record XML or sealed PDF view, completed online when it is a version this
    system issued (`stored_version_of`); any other file is judged on the file alone."""
    if data.startswith(b"%PDF"):
        from hocba.documents.pdfcheck import PdfVerifier

        report, xml = PdfVerifier(config.verifier()).verify_view(data)
    else:
        report = config.verifier().verify(data)
        xml = data
    known = stored_version_of(report, xml)
    if known is None:
        return Result(report)
    if report.verdict is Verdict.TAMPERED:
        return Result(report, known)
    return _online(report, known)


def stored_version_of(report: Report, xml: bytes | None) -> RecordVersion | None:
    """The stored version the uploaded record XML `xml` (verified as `report`) proves to be:
    the version with the id and number the file names, if the file is that version's bytes
    (same SHA-256), or carries exactly its signed content (the same canonical `#data`, which
    every signature covers or is inside) with its signatures intact. None otherwise: a file
    that only names a stored record's id and version learns nothing about it."""
    record = report.record
    if xml is None or record is None or not record.record_id or not record.version:
        return None
    try:
        key = uuid.UUID(record.record_id)
    except ValueError:
        return None
    candidate = (
        RecordVersion.objects.select_related("record__school", "record__student")
        .filter(
            record__record_id=key,
            version=record.version,
            state__in=(State.ISSUED, State.SUPERSEDED, State.REVOKED),
        )
        .first()
    )
    if candidate is None:
        return None
    if hashlib.sha256(xml).hexdigest() == candidate.xml_sha256:
        return candidate
    if report.verdict in (Verdict.MALFORMED, Verdict.TAMPERED):
        return None
    digest = signed_content_digest(xml)
    if digest is not None and digest == signed_content_digest(read_xml(candidate)):
        return candidate
    return None


def short_code(version: RecordVersion) -> str:
    return version.xml_sha256[:12]


def public_summary(result: Result) -> dict[str, Any]:
    """The minimum a verifier needs to match the paper in hand: never the personal ID. The
    stored student and school only for a version looked up with its check code or proven by an
    upload (`result.version`); otherwise only what the report read from the file itself."""
    version = result.version
    record = result.report.record
    summary: dict[str, Any] = {
        "record_id": record.record_id if record is not None else "",
        "version": record.version if record is not None else None,
        "school_year": record.school_year if record is not None else "",
    }
    if version is not None:
        # the issuer as the record names it (its name on the record's date), not as it is now
        summary.update(
            student=version.record.student.full_name,
            school=(record.school_name if record is not None else "") or version.record.school.name,
            authority=record.authority_name if record is not None else "",
            issued_at=version.issued_at,
        )
    return summary


def explained(report: Report) -> list[dict[str, str]]:
    """Each check in plain words, in the reader's language, with its code for support."""
    language = page_language()
    lines = []
    for check in report.checks:
        what = str(CHECKS.get(check.check, check.check))
        slot = check.slot
        if slot and slot in SLOTS:
            what = gettext("%(check)s of %(slot)s") % {"check": what, "slot": SLOTS[slot]}
        if check.signer:
            what += f" ({check.signer})"
        lines.append(
            {
                "what": what,
                "status": check.status,
                "status_text": str(STATUS.get(check.status, check.status)),
                "message": check.message(language),
                "code": check.code or "",
            }
        )
    return lines
