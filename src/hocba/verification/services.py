"""Public verification: a record version looked up by its id, version and check code (the QR
address), or an uploaded XML / sealed PDF; the report of `contracts/verify.md`, completed with
what only the issuing system knows (a newer version, a revocation), and what a stranger may see.

Lookups need the id *and* the 12-digit check code printed on the record (ids are random UUIDs;
together they cannot be guessed), and a wrong code looks exactly like an unknown record. The
cryptographic report of a stored version is cached for a few minutes (revocation answers can
change); the online status is read each time.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q

from hocba.records.models import Event, Record, RecordVersion, State
from hocba.records.services import read_xml
from hocba.signing import config
from hocba.signing.services import SLOT_NAMES

CODE = re.compile(r"^[0-9a-f]{12}$")
REPORT_SECONDS = 300
MAX_UPLOAD = 8 * 1024 * 1024

VERDICTS = {
    "VALID": "Hợp lệ",
    "TAMPERED": "Đã bị sửa đổi",
    "UNTRUSTED_SIGNER": "Người ký không được tin cậy",
    "REVOKED_CERTIFICATE": "Chứng thư số của người ký đã bị thu hồi",
    "INCOMPLETE": "Chưa đủ chữ ký hoặc sai thứ tự ký",
    "RECORD_REVOKED": "Đã thu hồi",
    "SUPERSEDED": "Đã có phiên bản mới hơn",
    "INDETERMINATE": "Chưa xác định được",
    "MALFORMED": "Không phải học bạ số",
}
EXPLAIN = {
    "VALID": (
        "Học bạ này do nhà trường phát hành, đủ chữ ký số theo đúng thứ tự và chưa bị sửa đổi."
    ),
    "TAMPERED": "Nội dung đã bị thay đổi sau khi ký. Không sử dụng bản này.",
    "UNTRUSTED_SIGNER": (
        "Chữ ký còn nguyên vẹn nhưng người ký không được tin cậy hoặc không đúng vai trò."
    ),
    "REVOKED_CERTIFICATE": "Một chứng thư số đã bị thu hồi trước thời điểm ký.",
    "INCOMPLETE": "Học bạ chưa được ký đủ các bước hoặc ký sai thứ tự.",
    "RECORD_REVOKED": "Nhà trường đã thu hồi học bạ này; nó không còn giá trị.",
    "SUPERSEDED": "Nhà trường đã đính chính học bạ này; hãy dùng phiên bản mới nhất.",
    "INDETERMINATE": "Chữ ký nguyên vẹn nhưng chưa kiểm tra được tình trạng thu hồi chứng thư.",
    "MALFORMED": "Tệp không phải học bạ số hoặc đã hỏng.",
}
CHECKS = {
    "schema": "Cấu trúc tệp theo lược đồ học bạ",
    "signature": "Chữ ký số",
    "certificate": "Chứng thư số",
    "revocation": "Tình trạng thu hồi chứng thư",
    "order": "Thứ tự ký",
    "complete": "Đủ các bước ký",
    "record_status": "Trạng thái học bạ",
    "pdf_signature": "Chữ ký số của nhà trường trên tệp PDF",
    "embedded_xml": "Tệp học bạ XML đính kèm trong PDF",
    "view_matches_xml": "Nội dung PDF khớp với tệp XML",
    "online_status": "Trạng thái trên hệ thống",
}
STATUS = {"PASS": "Đạt", "FAIL": "Không đạt", "UNKNOWN": "Chưa xác định"}


@dataclass
class Result:
    report: dict[str, Any]
    version: RecordVersion | None = None
    current: RecordVersion | None = None

    @property
    def verdict(self) -> str:
        return str(self.report["verdict"])


def _report_of(version: RecordVersion) -> dict[str, Any]:
    key = f"verify:{version.xml_sha256}"
    found = cache.get(key)
    if found is None:
        found = config.verifier().verify(read_xml(version))
        cache.set(key, found, REPORT_SECONDS)
    return found  # type: ignore[no-any-return]


def _online(report: dict[str, Any], version: RecordVersion) -> Result:
    """Add what the issuing system knows: a newer issued version, a revocation."""
    report = {**report, "checks": list(report["checks"])}
    record = version.record
    current = record.versions.filter(state=State.ISSUED).order_by("-version").first()
    revoked = version.state == State.REVOKED or (
        current is not None and current.event == Event.CANCEL
    )
    if revoked:
        report["checks"].append(
            {
                "check": "online_status",
                "status": "FAIL",
                "code": "RECORD_REVOKED",
                "message": "Nhà trường đã thu hồi học bạ này",
            }
        )
        if report["verdict"] in ("VALID", "INDETERMINATE"):
            report["verdict"] = "RECORD_REVOKED"
    elif version.state == State.SUPERSEDED or (current and current.version > version.version):
        report["checks"].append(
            {
                "check": "online_status",
                "status": "FAIL",
                "code": "SUPERSEDED",
                "message": "Đã có phiên bản mới hơn",
            }
        )
        if report["verdict"] in ("VALID", "INDETERMINATE"):
            report["verdict"] = "SUPERSEDED"
    elif version.state != State.ISSUED:
        report["checks"].append(
            {
                "check": "online_status",
                "status": "FAIL",
                "code": "NOT_ISSUED",
                "message": "Học bạ chưa được phát hành",
            }
        )
        if report["verdict"] == "VALID":
            report["verdict"] = "INCOMPLETE"
    else:
        report["checks"].append({"check": "online_status", "status": "PASS"})
    report["valid"] = report["verdict"] == "VALID"
    if report.get("record"):
        report["record"] = {**report["record"], "status": version.state}
    return Result(report, version, current if current and current != version else None)


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
    return _online(_report_of(found), found)


def check_file(data: bytes) -> Result:
    """An uploaded record XML or sealed PDF view; completed online when this system issued it."""
    if data.startswith(b"%PDF"):
        from hocba.documents.pdfcheck import PdfVerifier

        report = PdfVerifier(config.verifier()).verify(data)
    else:
        report = config.verifier().verify(data)
    record = report.get("record") or {}
    known = None
    if record.get("record_id") and record.get("version"):
        try:
            known = (
                RecordVersion.objects.select_related("record__school", "record__student")
                .filter(
                    record__record_id=uuid.UUID(str(record["record_id"])),
                    version=int(record["version"]),
                    state__in=(State.ISSUED, State.SUPERSEDED, State.REVOKED),
                )
                .first()
            )
        except ValueError:
            known = None
    if known is None or report["verdict"] == "TAMPERED":
        return Result(report, known)
    return _online(report, known)


def short_code(version: RecordVersion) -> str:
    return version.xml_sha256[:12]


def public_summary(result: Result) -> dict[str, Any]:
    """The minimum a verifier needs to match the paper in hand: never the personal ID."""
    version = result.version
    record = result.report.get("record") or {}
    summary: dict[str, Any] = {
        "record_id": record.get("record_id", ""),
        "version": record.get("version"),
        "school_year": record.get("school_year", ""),
    }
    if version is not None:
        summary.update(
            student=version.record.student.full_name,
            school=version.record.school.name,
            issued_at=version.issued_at,
        )
    return summary


def explained(report: dict[str, Any]) -> list[dict[str, str]]:
    """Each check in plain Vietnamese."""
    lines = []
    for check in report["checks"]:
        what = CHECKS.get(check["check"], check["check"])
        slot = check.get("slot")
        if slot and slot in SLOT_NAMES:
            what += f" của {SLOT_NAMES[slot]}"
        if check.get("signer"):
            what += f" ({check['signer']})"
        lines.append(
            {
                "what": what,
                "status": check["status"],
                "status_text": STATUS.get(check["status"], check["status"]),
                "message": check.get("message", ""),
                "code": check.get("code", ""),
            }
        )
    return lines
