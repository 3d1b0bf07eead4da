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
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from hocba import limits
from hocba.records.models import Event, Record, RecordVersion, State
from hocba.records.services import read_xml
from hocba.signing import config, revocation
from hocba.signing.verify import signed_content_digest

CODE = re.compile(r"^[0-9a-f]{12}$")
MAX_UPLOAD = limits.VERIFY_UPLOAD_BYTES

# What the page shows, in the reader's language; the API report (docs/contracts/verify.md) keeps its
# codes and its Vietnamese messages.
VERDICTS = {
    "VALID": _("Valid"),
    "TAMPERED": _("Tampered with"),
    "UNTRUSTED_SIGNER": _("The signer is not trusted"),
    "REVOKED_CERTIFICATE": _("The signer's certificate has been revoked"),
    "INCOMPLETE": _("Signatures missing or out of order"),
    "RECORD_REVOKED": _("Revoked"),
    "SUPERSEDED": _("A newer version exists"),
    "INDETERMINATE": _("Could not be determined"),
    "MALFORMED": _("Not a digital student record"),
}
EXPLAIN = {
    "VALID": _(
        "This record was issued by the school, carries every digital signature in the right "
        "order and has not been altered."
    ),
    "TAMPERED": _("The content was changed after signing. Do not use this copy."),
    "UNTRUSTED_SIGNER": _(
        "The signature is intact but the signer is not trusted or does not hold the right role."
    ),
    "REVOKED_CERTIFICATE": _("A certificate was revoked before the time of signing."),
    "INCOMPLETE": _("The record has not been through every signing step, or in the wrong order."),
    "RECORD_REVOKED": _("The school has revoked this record; it is no longer valid."),
    "SUPERSEDED": _("The school has corrected this record; use the latest version."),
    "INDETERMINATE": _(
        "The signature is intact but the revocation status of the certificate could not be checked."
    ),
    "MALFORMED": _("The file is not a digital student record, or it is damaged."),
}
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
# The check messages the page knows, by their Vietnamese text in the report (hocba.signing.verify,
# hocba.documents.pdfcheck and _online below); any other message is shown as it is.
MESSAGES = {
    "Tệp không đúng lược đồ học bạ": _("The file does not follow the student record schema"),
    "Tệp không phải học bạ số": _("The file is not a digital student record"),
    "Chữ ký số không đúng cấu trúc": _("The digital signature is not well formed"),
    "Chữ ký không ký đúng phần dữ liệu của vị trí này": _(
        "The signature does not cover the data of its place"
    ),
    "Tài liệu có phần tử trùng định danh (dấu hiệu tấn công bọc chữ ký)": _(
        "The document has elements with the same id (a sign of a signature wrapping attack)"
    ),
    "Nội dung đã bị thay đổi sau khi ký": _("The content was changed after signing"),
    "Chứng thư số không khớp với chứng thư đã ký": _(
        "The certificate does not match the signed certificate"
    ),
    "Giá trị chữ ký số không hợp lệ": _("The digital signature value is invalid"),
    "Có chữ ký nằm ngoài các vị trí ký của học bạ": _(
        "There is a signature outside the record's signing places"
    ),
    "Chứng thư số không thuộc tổ chức cung cấp dịch vụ chứng thực được tin cậy": _(
        "The certificate does not belong to a trusted certification service provider"
    ),
    "Chứng thư số hết hạn hoặc chưa có hiệu lực tại thời điểm ký": _(
        "The certificate had expired or was not yet valid at the time of signing"
    ),
    "Chứng thư số không được phép dùng để ký số": _(
        "The certificate may not be used for digital signatures"
    ),
    "Chứng thư số không phải của người (hoặc trường) ghi ở vị trí ký này": _(
        "The certificate does not belong to the person (or school) named at this signing place"
    ),
    "Chứng thư số đã bị thu hồi trước thời điểm ký": _(
        "The certificate was revoked before the time of signing"
    ),
    "Không kiểm tra được tình trạng thu hồi của chứng thư số": _(
        "The revocation status of the certificate could not be checked"
    ),
    "Không kết nối được dịch vụ kiểm tra trạng thái chứng thư (OCSP) hay CRL": _(
        "Could not reach the certificate status service (OCSP) or the CRL"
    ),
    "Các bước ký không đúng thứ tự": _("The signing steps are out of order"),
    "Học bạ chưa có đủ chữ ký": _("The record does not have all its signatures"),
    "Học bạ đã bị thu hồi": _("The record has been revoked"),
    "Đã có phiên bản mới hơn của học bạ này": _("There is a newer version of this record"),
    "Không đọc được tệp PDF": _("The PDF file cannot be read"),
    "Tệp PDF không có chữ ký số của nhà trường (chữ ký đã bị gỡ bỏ?)": _(
        "The PDF file has no digital signature of the school (was it removed?)"
    ),
    "Chữ ký số trên tệp PDF không hợp lệ: nội dung đã bị thay đổi": _(
        "The digital signature on the PDF file is invalid: the content was changed"
    ),
    "Tệp PDF đã bị sửa đổi sau khi nhà trường ký số": _(
        "The PDF file was altered after the school signed it"
    ),
    "Chữ ký số trên tệp PDF không thuộc tổ chức được tin cậy": _(
        "The digital signature on the PDF file does not belong to a trusted organisation"
    ),
    "Chữ ký số trên tệp PDF không phải của trường ghi trong học bạ": _(
        "The digital signature on the PDF file is not that of the school named in the record"
    ),
    "Tệp PDF không kèm tệp XML học bạ đã ký": _(
        "The PDF file does not carry the signed XML record file"
    ),
    "Tệp XML đính kèm đã bị thay thế sau khi nhà trường ký số": _(
        "The attached XML file was replaced after the school signed"
    ),
    "Nội dung hiển thị không khớp với tệp XML học bạ đính kèm": _(
        "The displayed content does not match the attached XML record file"
    ),
    "Bản thể hiện ghi một mẫu trình bày mà hệ thống không dựng lại được, nên không chứng minh "
    "được trang hiển thị đúng với tệp XML; hãy dùng tệp XML đính kèm": _(
        "The view names a layout this system cannot draw, so its pages cannot be shown to match "
        "the XML file; use the attached XML file instead"
    ),
    "Mã QR trên bản thể hiện dẫn tới một trang không phải trang xác minh học bạ được công nhận": _(
        "The QR code on the view leads to a site that is not a known verification site"
    ),
    "Không so sánh nội dung hiển thị với tệp XML vì chữ ký số trên tệp PDF không đạt": _(
        "The displayed content was not compared with the XML file because the digital signature "
        "on the PDF file did not pass"
    ),
    "Tệp PDF có dữ liệu nằm sau điểm kết thúc của lần cập nhật cuối cùng "
    "(trình đọc PDF có thể hiển thị nội dung khác)": _(
        "The PDF file holds data after the end of its last update (a PDF reader may show other "
        "content)"
    ),
    "Tệp PDF có dữ liệu ẩn không được khai báo trong bảng tham chiếu "
    "(trình đọc PDF có thể hiển thị nội dung khác)": _(
        "The PDF file holds hidden data that its cross-reference table does not list (a PDF "
        "reader may show other content)"
    ),
    "Chứng thư số của chữ ký trên tệp PDF đã bị thu hồi trước thời điểm ký": _(
        "The certificate of the digital signature on the PDF file was revoked before the time "
        "of signing"
    ),
    "Không kiểm tra được tình trạng thu hồi chứng thư số của chữ ký trên tệp PDF": _(
        "The revocation status of the certificate of the digital signature on the PDF file could "
        "not be checked"
    ),
    "Tệp PDF có dữ liệu nén giải ra quá lớn (vượt giới hạn cho phép)": _(
        "The PDF file holds compressed data that inflates beyond the allowed limit"
    ),
    "Tệp PDF có quá nhiều lần cập nhật": _("The PDF file has too many updates"),
    "Tệp PDF được mã hóa, không phải bản thể hiện học bạ": _(
        "The PDF file is encrypted; it is not a record view"
    ),
    "Vùng dữ liệu được ký của chữ ký số trên tệp PDF không hợp lệ": _(
        "The signed byte range of the digital signature on the PDF file is invalid"
    ),
    "Tệp PDF có thêm chữ ký số khác ngoài chữ ký của nhà trường": _(
        "The PDF file carries another digital signature besides the school's"
    ),
    "Tệp XML đính kèm giải nén ra quá lớn (vượt giới hạn một học bạ)": _(
        "The attached XML file inflates beyond the size of a record"
    ),
    "Tệp PDF đã bị thêm, bớt hoặc thay trang sau khi dựng bản thể hiện": _(
        "Pages were added, removed or replaced after the view was drawn"
    ),
    "Nội dung trang đã bị vẽ thêm hoặc thay thế sau khi dựng bản thể hiện": _(
        "Page content was drawn over or replaced after the view was drawn"
    ),
    "Có chữ ký hiện trên trang được thêm sau khi dựng bản thể hiện": _(
        "A signature that shows on a page was added after the view was drawn"
    ),
    "Có chú thích, con dấu hoặc ô nhập liệu được thêm lên trang": _(
        "An annotation, stamp or input field was added to a page"
    ),
    "Có ô biểu mẫu được thêm vào tệp PDF sau khi dựng bản thể hiện": _(
        "A form field was added to the PDF file after the view was drawn"
    ),
    "Cấu trúc tệp PDF (hành động tự chạy, tệp đính kèm…) đã bị thay đổi": _(
        "The structure of the PDF file (actions run on opening, attachments…) was changed"
    ),
    "Tiêu đề, từ khóa hoặc tác giả ghi trong tệp PDF đã bị thay đổi": _(
        "The title, keywords or author written in the PDF file were changed"
    ),
    "Tệp PDF có phần cập nhật không được phép sau khi dựng bản thể hiện": _(
        "The PDF file has an update that is not allowed after the view was drawn"
    ),
    "Nhà trường đã thu hồi học bạ này": _("The school has revoked this record"),
    "Đã có phiên bản mới hơn": _("A newer version exists"),
    "Học bạ chưa được phát hành": _("The record has not been issued"),
    "Vị trí ký chứa nội dung không phải chữ ký số": _(
        "A signing place holds something other than digital signatures"
    ),
    "Tệp có thuộc tính hoặc văn bản nằm ngoài phần được ký": _(
        "The file has attributes or text outside what was signed"
    ),
    "Tệp XML chứa chú thích (<!-- … -->), không được phép": _(
        "The XML file contains a comment (<!-- … -->), which is not allowed"
    ),
    "Tệp XML chứa đoạn CDATA (<![CDATA[ … ]]>), không được phép": _(
        "The XML file contains a CDATA section (<![CDATA[ … ]]>), which is not allowed"
    ),
    "Tệp XML chứa thực thể hoặc chỉ thị xử lý": _(
        "The XML file contains an entity or a processing instruction"
    ),
    "Tệp XML phải mã hóa UTF-8": _("The XML file must be encoded in UTF-8"),
    (
        "Chứng thư số đã bị thu hồi vì lộ khóa hoặc không nêu lý do: thời điểm ký do người ký tự "
        "ghi không chứng minh được chữ ký có trước khi thu hồi"
    ): _(
        "The certificate was revoked because its key may be in other hands, or with no reason "
        "given: the signing time, written by the signer, does not prove the signature came "
        "before the revocation"
    ),
    "Tệp khai báo không gian tên XML không thuộc học bạ số": _(
        "The file declares an XML namespace that does not belong to a digital student record"
    ),
    "Không đọc được học bạ để kiểm tra (tệp có phần hỏng hoặc không hỗ trợ)": _(
        "The record cannot be read for checking (part of the file is damaged or not supported)"
    ),
}
# "… : CBQL trước GVCN" (the order check names the steps it found out of order)
_BEFORE = re.compile(r"^(\w+) trước (\w+)$")


@dataclass
class Result:
    report: dict[str, Any]
    version: RecordVersion | None = None
    current: RecordVersion | None = None
    keep_until: float = 0.0
    """Until when a page drawn from this result may be kept (seconds since the epoch): the
    cached report's own expiry; 0 when it must not be kept."""

    @property
    def verdict(self) -> str:
        return str(self.report["verdict"])


def _report_of(version: RecordVersion) -> tuple[dict[str, Any], float]:
    """The cryptographic report of a stored version, and until when it may be kept (seconds
    since the epoch): shared through the cache, kept no longer than the revocation answers it
    rests on, and never longer than the refresh interval."""
    key = f"verify-report:{version.xml_sha256}"
    found = cache.get(key)
    if found is None:
        with revocation.horizon() as seen:
            report = config.verifier().verify(read_xml(version))
        until = min(seen.until, time.time() + config.revocation_refresh())
        found = (report, until)
        cache.set(key, found, until - time.time())
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
    if report["verdict"] == "TAMPERED":
        return Result(report, known)
    return _online(report, known)


def stored_version_of(report: dict[str, Any], xml: bytes | None) -> RecordVersion | None:
    """The stored version the uploaded record XML `xml` (verified as `report`) proves to be:
    the version with the id and number the file names, if the file is that version's bytes
    (same SHA-256), or carries exactly its signed content (the same canonical `#data`, which
    every signature covers or is inside) with its signatures intact. None otherwise: a file
    that only names a stored record's id and version learns nothing about it."""
    record = report.get("record") or {}
    if xml is None or not record.get("record_id") or not record.get("version"):
        return None
    try:
        key = uuid.UUID(str(record["record_id"]))
    except ValueError:
        return None
    candidate = (
        RecordVersion.objects.select_related("record__school", "record__student")
        .filter(
            record__record_id=key,
            version=int(record["version"]),
            state__in=(State.ISSUED, State.SUPERSEDED, State.REVOKED),
        )
        .first()
    )
    if candidate is None:
        return None
    if hashlib.sha256(xml).hexdigest() == candidate.xml_sha256:
        return candidate
    if report["verdict"] in ("MALFORMED", "TAMPERED"):
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


def _message(text: str) -> str:
    """A check's message in the reader's language when the page knows it; a known message may
    be followed by ": " and details (the missing signatures, the steps out of order)."""
    known = MESSAGES.get(text)
    if known is not None:
        return str(known)
    head, sep, details = text.partition(": ")
    known = MESSAGES.get(head)
    if not sep or known is None:
        return text
    before = _BEFORE.match(details)
    if before is not None:
        details = gettext("%(later)s before %(earlier)s") % {
            "later": before.group(1),
            "earlier": before.group(2),
        }
    return f"{known}: {details}"


def explained(report: dict[str, Any]) -> list[dict[str, str]]:
    """Each check in plain words, in the reader's language."""
    lines = []
    for check in report["checks"]:
        what = str(CHECKS.get(check["check"], check["check"]))
        slot = check.get("slot")
        if slot and slot in SLOTS:
            what = gettext("%(check)s of %(slot)s") % {"check": what, "slot": SLOTS[slot]}
        if check.get("signer"):
            what += f" ({check['signer']})"
        lines.append(
            {
                "what": what,
                "status": check["status"],
                "status_text": str(STATUS.get(check["status"], check["status"])),
                "message": _message(check.get("message", "")),
                "code": check.get("code", ""),
            }
        )
    return lines
