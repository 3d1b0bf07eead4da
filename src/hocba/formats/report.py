"""The verification report (`docs/contracts/verify.md`) as values: what holds and why.

The XML verifier (`hocba.signing.verify`), the PDF view verifier (`hocba.documents.pdfcheck`)
and the online completion (`hocba.verification.services`) build a `Report` of `Check`s; the
command line, the API and the pages turn it into words or JSON at their edge (`as_json`,
`Check.message`, `VERDICT_WORDS`). Every code a check can carry is a member of `Code`, and its
message, in Vietnamese and in English, is written once, in `MESSAGES`: changing a message is one
edit, and a code without a message fails the tests.

Pure: no Django, checked with `mypy --strict`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

Language = Literal["vi", "en"]


class Verdict(StrEnum):
    """One word for people: what the report says of the record as a whole."""

    VALID = "VALID"
    TAMPERED = "TAMPERED"
    UNTRUSTED_SIGNER = "UNTRUSTED_SIGNER"
    REVOKED_CERTIFICATE = "REVOKED_CERTIFICATE"
    INCOMPLETE = "INCOMPLETE"
    RECORD_REVOKED = "RECORD_REVOKED"
    SUPERSEDED = "SUPERSEDED"
    INDETERMINATE = "INDETERMINATE"
    MALFORMED = "MALFORMED"


class CheckStatus(StrEnum):
    """The outcome of one check; UNKNOWN when it could not be decided (a revocation source
    nobody reached, a view not compared)."""

    PASS = "PASS"  # noqa: S105 - a check's outcome, not a password
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"


class CheckName(StrEnum):
    """What a check looked at."""

    SCHEMA = "schema"
    SIGNATURE = "signature"
    CERTIFICATE = "certificate"
    REVOCATION = "revocation"
    ORDER = "order"
    COMPLETE = "complete"
    RECORD_STATUS = "record_status"
    PDF_SIGNATURE = "pdf_signature"
    EMBEDDED_XML = "embedded_xml"
    VIEW_MATCHES_XML = "view_matches_xml"
    ONLINE_STATUS = "online_status"


class Code(StrEnum):
    """Why a check did not pass: stable identifiers (UPPER_SNAKE) that outside tools rely on."""

    # reading the record XML (hocba.formats.safe, hocba.formats.parser)
    XML_NOT_BYTES = "XML_NOT_BYTES"
    XML_TOO_LARGE = "XML_TOO_LARGE"
    XML_ENCODING_FORBIDDEN = "XML_ENCODING_FORBIDDEN"
    XML_DTD_FORBIDDEN = "XML_DTD_FORBIDDEN"
    XML_DECLARATION_FORBIDDEN = "XML_DECLARATION_FORBIDDEN"
    XML_COMMENT_FORBIDDEN = "XML_COMMENT_FORBIDDEN"
    XML_CDATA_FORBIDDEN = "XML_CDATA_FORBIDDEN"
    XML_MALFORMED = "XML_MALFORMED"
    XML_SCHEMA_INVALID = "XML_SCHEMA_INVALID"
    XML_UNEXPECTED_CONTENT = "XML_UNEXPECTED_CONTENT"
    XML_NAMESPACE_FORBIDDEN = "XML_NAMESPACE_FORBIDDEN"
    XML_UNREADABLE = "XML_UNREADABLE"
    # the signatures of the record
    MALFORMED_SIGNATURE = "MALFORMED_SIGNATURE"
    WRONG_TARGET = "WRONG_TARGET"
    DUPLICATE_ID = "DUPLICATE_ID"
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    CERT_DIGEST_MISMATCH = "CERT_DIGEST_MISMATCH"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    UNEXPECTED_SIGNATURE = "UNEXPECTED_SIGNATURE"
    UNEXPECTED_CONTENT = "UNEXPECTED_CONTENT"
    # the signers' certificates
    CHAIN_UNTRUSTED = "CHAIN_UNTRUSTED"
    CERT_NOT_VALID_AT_SIGNING = "CERT_NOT_VALID_AT_SIGNING"
    KEY_USAGE = "KEY_USAGE"
    SIGNER_MISMATCH = "SIGNER_MISMATCH"
    CERT_REVOKED = "CERT_REVOKED"
    CERT_REVOKED_UNSAFE_REASON = "CERT_REVOKED_UNSAFE_REASON"
    REVOCATION_UNKNOWN = "REVOCATION_UNKNOWN"
    OCSP_UNREACHABLE = "OCSP_UNREACHABLE"
    # the signing steps and the record's status
    ORDER_VIOLATION = "ORDER_VIOLATION"
    MISSING_SIGNATURE = "MISSING_SIGNATURE"
    RECORD_REVOKED = "RECORD_REVOKED"
    SUPERSEDED = "SUPERSEDED"
    NOT_ISSUED = "NOT_ISSUED"
    # the sealed PDF view
    PDF_UNREADABLE = "PDF_UNREADABLE"
    PDF_DECODE_LIMIT = "PDF_DECODE_LIMIT"
    PDF_TOO_MANY_REVISIONS = "PDF_TOO_MANY_REVISIONS"
    PDF_ENCRYPTED = "PDF_ENCRYPTED"
    PDF_BYTE_RANGE_INVALID = "PDF_BYTE_RANGE_INVALID"
    PDF_NOT_SEALED = "PDF_NOT_SEALED"
    PDF_SIGNATURE_INVALID = "PDF_SIGNATURE_INVALID"
    PDF_SIGNER_UNTRUSTED = "PDF_SIGNER_UNTRUSTED"
    PDF_SIGNER_MISMATCH = "PDF_SIGNER_MISMATCH"
    PDF_SIGNER_REVOKED = "PDF_SIGNER_REVOKED"
    PDF_SIGNER_REVOCATION_UNKNOWN = "PDF_SIGNER_REVOCATION_UNKNOWN"
    PDF_OTHER_SIGNATURE = "PDF_OTHER_SIGNATURE"
    EMBEDDED_XML_MISSING = "EMBEDDED_XML_MISSING"
    EMBEDDED_XML_TOO_LARGE = "EMBEDDED_XML_TOO_LARGE"
    EMBEDDED_XML_REPLACED = "EMBEDDED_XML_REPLACED"
    VIEW_MISMATCH = "VIEW_MISMATCH"
    VIEW_LAYOUT_UNKNOWN = "VIEW_LAYOUT_UNKNOWN"
    VIEW_ADDRESS_UNKNOWN = "VIEW_ADDRESS_UNKNOWN"
    VIEW_NOT_COMPARED = "VIEW_NOT_COMPARED"
    PDF_TRAILING_DATA = "PDF_TRAILING_DATA"
    PDF_UNLISTED_OBJECT = "PDF_UNLISTED_OBJECT"
    PDF_PAGE_ADDED = "PDF_PAGE_ADDED"
    PDF_PAGE_CONTENT_CHANGED = "PDF_PAGE_CONTENT_CHANGED"
    PDF_VISIBLE_SIGNATURE = "PDF_VISIBLE_SIGNATURE"
    PDF_ANNOTATION_ADDED = "PDF_ANNOTATION_ADDED"
    PDF_FORM_FIELD_ADDED = "PDF_FORM_FIELD_ADDED"
    PDF_CATALOG_CHANGED = "PDF_CATALOG_CHANGED"
    PDF_METADATA_CHANGED = "PDF_METADATA_CHANGED"
    PDF_UPDATE_NOT_ALLOWED = "PDF_UPDATE_NOT_ALLOWED"


# --- words ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One message in both languages."""

    vi: str
    """Vietnamese, what the report and the pages say by default."""
    en: str
    """English, for pages shown in English."""
    vi_with: str | None = None
    """Vietnamese with the check's parameters (`{name}` placeholders), used when the check has
    parameters."""
    en_with: str | None = None
    """English with the same parameters."""

    def text(self, language: Language = "vi", params: Mapping[str, str] | None = None) -> str:
        """The message in `language`, with `params` when it has a form for them (and all of
        them are given; otherwise the message without them)."""
        english = language == "en"
        if params:
            template = self.en_with if english else self.vi_with
            if template is not None:
                try:
                    return template.format_map(params)
                except KeyError:
                    pass
        return self.en if english else self.vi


def language_of(code: str | None) -> Language:
    """The catalogue's language for a page's language code ("en", "en-us", "vi", …): English
    for English, Vietnamese for everything else."""
    return "en" if code is not None and code.lower().startswith("en") else "vi"


_SIGNED_AFTER = "sau khi dựng bản thể hiện"
_DRAWN_AFTER = "after the view was drawn"

MESSAGES: dict[Code, Message] = {
    Code.XML_NOT_BYTES: Message("Dữ liệu XML phải là chuỗi byte", "XML data must be bytes"),
    Code.XML_TOO_LARGE: Message(
        "Tệp XML quá lớn",
        "The XML file is too large",
        "Tệp XML quá lớn ({size} byte, tối đa {limit} byte)",
        "The XML file is too large ({size} bytes, at most {limit} bytes)",
    ),
    Code.XML_ENCODING_FORBIDDEN: Message(
        "Tệp XML phải mã hóa UTF-8", "The XML file must be encoded in UTF-8"
    ),
    Code.XML_DTD_FORBIDDEN: Message(
        "Tệp XML chứa DTD, không được phép",
        "The XML file contains a DTD, which is not allowed",
        "Tệp XML chứa khai báo <!{kind}>, không được phép",
        "The XML file contains a <!{kind}> declaration, which is not allowed",
    ),
    Code.XML_DECLARATION_FORBIDDEN: Message(
        "Tệp XML chứa thực thể hoặc chỉ thị xử lý",
        "The XML file contains an entity or a processing instruction",
        "Tệp XML chứa khai báo <!{kind}>, không được phép",
        "The XML file contains a <!{kind}> declaration, which is not allowed",
    ),
    Code.XML_COMMENT_FORBIDDEN: Message(
        "Tệp XML chứa chú thích (<!-- … -->), không được phép",
        "The XML file contains a comment (<!-- … -->), which is not allowed",
    ),
    Code.XML_CDATA_FORBIDDEN: Message(
        "Tệp XML chứa đoạn CDATA (<![CDATA[ … ]]>), không được phép",
        "The XML file contains a CDATA section (<![CDATA[ … ]]>), which is not allowed",
    ),
    Code.XML_MALFORMED: Message(
        "Tệp XML không đúng cú pháp",
        "The XML file is not well formed",
        "Tệp XML không đúng cú pháp: {error}",
        "The XML file is not well formed: {error}",
    ),
    Code.XML_SCHEMA_INVALID: Message(
        "Tệp không đúng lược đồ học bạ",
        "The file does not follow the student record schema",
        "Tệp không đúng lược đồ học bạ: {errors}",
        "The file does not follow the student record schema: {errors}",
    ),
    Code.XML_UNEXPECTED_CONTENT: Message(
        "Tệp có thuộc tính hoặc văn bản nằm ngoài phần được ký",
        "The file has attributes or text outside what was signed",
    ),
    Code.XML_NAMESPACE_FORBIDDEN: Message(
        "Tệp khai báo không gian tên XML không thuộc học bạ số",
        "The file declares an XML namespace that does not belong to a digital student record",
    ),
    Code.XML_UNREADABLE: Message(
        "Không đọc được học bạ để kiểm tra (tệp có phần hỏng hoặc không hỗ trợ)",
        "The record cannot be read for checking (part of the file is damaged or not supported)",
    ),
    Code.MALFORMED_SIGNATURE: Message(
        "Chữ ký số không đúng cấu trúc", "The digital signature is not well formed"
    ),
    Code.WRONG_TARGET: Message(
        "Chữ ký không ký đúng phần dữ liệu của vị trí này",
        "The signature does not cover the data of its place",
    ),
    Code.DUPLICATE_ID: Message(
        "Tài liệu có phần tử trùng định danh (dấu hiệu tấn công bọc chữ ký)",
        "The document has elements with the same id (a sign of a signature wrapping attack)",
    ),
    Code.DIGEST_MISMATCH: Message(
        "Nội dung đã bị thay đổi sau khi ký", "The content was changed after signing"
    ),
    Code.CERT_DIGEST_MISMATCH: Message(
        "Chứng thư số không khớp với chứng thư đã ký",
        "The certificate does not match the signed certificate",
    ),
    Code.SIGNATURE_INVALID: Message(
        "Giá trị chữ ký số không hợp lệ", "The digital signature value is invalid"
    ),
    Code.UNEXPECTED_SIGNATURE: Message(
        "Có chữ ký nằm ngoài các vị trí ký của học bạ",
        "There is a signature outside the record's signing places",
    ),
    Code.UNEXPECTED_CONTENT: Message(
        "Vị trí ký chứa nội dung không phải chữ ký số",
        "A signing place holds something other than digital signatures",
    ),
    Code.CHAIN_UNTRUSTED: Message(
        "Chứng thư số không thuộc tổ chức cung cấp dịch vụ chứng thực được tin cậy",
        "The certificate does not belong to a trusted certification service provider",
    ),
    Code.CERT_NOT_VALID_AT_SIGNING: Message(
        "Chứng thư số hết hạn hoặc chưa có hiệu lực tại thời điểm ký",
        "The certificate had expired or was not yet valid at the time of signing",
    ),
    Code.KEY_USAGE: Message(
        "Chứng thư số không được phép dùng để ký số",
        "The certificate may not be used for digital signatures",
    ),
    Code.SIGNER_MISMATCH: Message(
        "Chứng thư số không phải của người (hoặc trường) ghi ở vị trí ký này",
        "The certificate does not belong to the person (or school) named at this signing place",
    ),
    Code.CERT_REVOKED: Message(
        "Chứng thư số đã bị thu hồi trước thời điểm ký",
        "The certificate was revoked before the time of signing",
    ),
    Code.CERT_REVOKED_UNSAFE_REASON: Message(
        "Chứng thư số đã bị thu hồi vì lộ khóa hoặc không nêu lý do: thời điểm ký do người ký tự "
        "ghi không chứng minh được chữ ký có trước khi thu hồi",
        "The certificate was revoked because its key may be in other hands, or with no reason "
        "given: the signing time, written by the signer, does not prove the signature came "
        "before the revocation",
    ),
    Code.REVOCATION_UNKNOWN: Message(
        "Không kiểm tra được tình trạng thu hồi của chứng thư số",
        "The revocation status of the certificate could not be checked",
    ),
    Code.OCSP_UNREACHABLE: Message(
        "Không kết nối được dịch vụ kiểm tra trạng thái chứng thư (OCSP) hay CRL",
        "Could not reach the certificate status service (OCSP) or the CRL",
    ),
    Code.ORDER_VIOLATION: Message(
        "Các bước ký không đúng thứ tự",
        "The signing steps are out of order",
        "Các bước ký không đúng thứ tự: {later} trước {earlier}",
        "The signing steps are out of order: {later} before {earlier}",
    ),
    Code.MISSING_SIGNATURE: Message(
        "Học bạ chưa có đủ chữ ký",
        "The record does not have all its signatures",
        "Học bạ chưa có đủ chữ ký: {missing}",
        "The record does not have all its signatures: {missing}",
    ),
    Code.RECORD_REVOKED: Message("Học bạ đã bị thu hồi", "The record has been revoked"),
    Code.SUPERSEDED: Message(
        "Đã có phiên bản mới hơn của học bạ này", "There is a newer version of this record"
    ),
    Code.NOT_ISSUED: Message("Học bạ chưa được phát hành", "The record has not been issued"),
    Code.PDF_UNREADABLE: Message("Không đọc được tệp PDF", "The PDF file cannot be read"),
    Code.PDF_DECODE_LIMIT: Message(
        "Tệp PDF có dữ liệu nén giải ra quá lớn (vượt giới hạn cho phép)",
        "The PDF file holds compressed data that inflates beyond the allowed limit",
    ),
    Code.PDF_TOO_MANY_REVISIONS: Message(
        "Tệp PDF có quá nhiều lần cập nhật", "The PDF file has too many updates"
    ),
    Code.PDF_ENCRYPTED: Message(
        "Tệp PDF được mã hóa, không phải bản thể hiện học bạ",
        "The PDF file is encrypted; it is not a record view",
    ),
    Code.PDF_BYTE_RANGE_INVALID: Message(
        "Vùng dữ liệu được ký của chữ ký số trên tệp PDF không hợp lệ",
        "The signed byte range of the digital signature on the PDF file is invalid",
    ),
    Code.PDF_NOT_SEALED: Message(
        "Tệp PDF không có chữ ký số của nhà trường (chữ ký đã bị gỡ bỏ?)",
        "The PDF file has no digital signature of the school (was it removed?)",
    ),
    Code.PDF_SIGNATURE_INVALID: Message(
        "Chữ ký số trên tệp PDF không hợp lệ: nội dung đã bị thay đổi",
        "The digital signature on the PDF file is invalid: the content was changed",
    ),
    Code.PDF_SIGNER_UNTRUSTED: Message(
        "Chữ ký số trên tệp PDF không thuộc tổ chức được tin cậy",
        "The digital signature on the PDF file does not belong to a trusted organisation",
    ),
    Code.PDF_SIGNER_MISMATCH: Message(
        "Chữ ký số trên tệp PDF không phải của trường ghi trong học bạ",
        "The digital signature on the PDF file is not that of the school named in the record",
    ),
    Code.PDF_SIGNER_REVOKED: Message(
        "Chứng thư số của chữ ký trên tệp PDF đã bị thu hồi trước thời điểm ký",
        "The certificate of the digital signature on the PDF file was revoked before the time "
        "of signing",
    ),
    Code.PDF_SIGNER_REVOCATION_UNKNOWN: Message(
        "Không kiểm tra được tình trạng thu hồi chứng thư số của chữ ký trên tệp PDF",
        "The revocation status of the certificate of the digital signature on the PDF file "
        "could not be checked",
    ),
    Code.PDF_OTHER_SIGNATURE: Message(
        "Tệp PDF có thêm chữ ký số khác ngoài chữ ký của nhà trường",
        "The PDF file carries another digital signature besides the school's",
    ),
    Code.EMBEDDED_XML_MISSING: Message(
        "Tệp PDF không kèm tệp XML học bạ đã ký",
        "The PDF file does not carry the signed XML record file",
    ),
    Code.EMBEDDED_XML_TOO_LARGE: Message(
        "Tệp XML đính kèm giải nén ra quá lớn (vượt giới hạn một học bạ)",
        "The attached XML file inflates beyond the size of a record",
    ),
    Code.EMBEDDED_XML_REPLACED: Message(
        "Tệp XML đính kèm đã bị thay thế sau khi nhà trường ký số",
        "The attached XML file was replaced after the school signed",
    ),
    Code.VIEW_MISMATCH: Message(
        "Nội dung hiển thị không khớp với tệp XML học bạ đính kèm",
        "The displayed content does not match the attached XML record file",
    ),
    Code.VIEW_LAYOUT_UNKNOWN: Message(
        "Bản thể hiện ghi một mẫu trình bày mà hệ thống không dựng lại được, nên không chứng minh "
        "được trang hiển thị đúng với tệp XML; hãy dùng tệp XML đính kèm",
        "The view names a layout this system cannot draw, so its pages cannot be shown to match "
        "the XML file; use the attached XML file instead",
    ),
    Code.VIEW_ADDRESS_UNKNOWN: Message(
        "Mã QR trên bản thể hiện dẫn tới một trang không phải trang xác minh học bạ được công nhận",
        "The QR code on the view leads to a site that is not a known verification site",
    ),
    Code.VIEW_NOT_COMPARED: Message(
        "Không so sánh nội dung hiển thị với tệp XML vì chữ ký số trên tệp PDF không đạt",
        "The displayed content was not compared with the XML file because the digital "
        "signature on the PDF file did not pass",
    ),
    Code.PDF_TRAILING_DATA: Message(
        "Tệp PDF có dữ liệu nằm sau điểm kết thúc của lần cập nhật cuối cùng "
        "(trình đọc PDF có thể hiển thị nội dung khác)",
        "The PDF file holds data after the end of its last update (a PDF reader may show "
        "other content)",
    ),
    Code.PDF_UNLISTED_OBJECT: Message(
        "Tệp PDF có dữ liệu ẩn không được khai báo trong bảng tham chiếu "
        "(trình đọc PDF có thể hiển thị nội dung khác)",
        "The PDF file holds hidden data that its cross-reference table does not list (a PDF "
        "reader may show other content)",
    ),
    Code.PDF_PAGE_ADDED: Message(
        f"Tệp PDF đã bị thêm, bớt hoặc thay trang {_SIGNED_AFTER}",
        f"Pages were added, removed or replaced {_DRAWN_AFTER}",
    ),
    Code.PDF_PAGE_CONTENT_CHANGED: Message(
        f"Nội dung trang đã bị vẽ thêm hoặc thay thế {_SIGNED_AFTER}",
        f"Page content was drawn over or replaced {_DRAWN_AFTER}",
    ),
    Code.PDF_VISIBLE_SIGNATURE: Message(
        f"Có chữ ký hiện trên trang được thêm {_SIGNED_AFTER}",
        f"A signature that shows on a page was added {_DRAWN_AFTER}",
    ),
    Code.PDF_ANNOTATION_ADDED: Message(
        "Có chú thích, con dấu hoặc ô nhập liệu được thêm lên trang",
        "An annotation, stamp or input field was added to a page",
    ),
    Code.PDF_FORM_FIELD_ADDED: Message(
        f"Có ô biểu mẫu được thêm vào tệp PDF {_SIGNED_AFTER}",
        f"A form field was added to the PDF file {_DRAWN_AFTER}",
    ),
    Code.PDF_CATALOG_CHANGED: Message(
        "Cấu trúc tệp PDF (hành động tự chạy, tệp đính kèm…) đã bị thay đổi",
        "The structure of the PDF file (actions run on opening, attachments…) was changed",
    ),
    Code.PDF_METADATA_CHANGED: Message(
        "Tiêu đề, từ khóa hoặc tác giả ghi trong tệp PDF đã bị thay đổi",
        "The title, keywords or author written in the PDF file were changed",
    ),
    Code.PDF_UPDATE_NOT_ALLOWED: Message(
        f"Tệp PDF có phần cập nhật không được phép {_SIGNED_AFTER}",
        f"The PDF file has an update that is not allowed {_DRAWN_AFTER}",
    ),
}
"""The message of every code, by code: the one place to change what a check says."""

VERDICT_WORDS: dict[Verdict, Message] = {
    Verdict.VALID: Message("Hợp lệ", "Valid"),
    Verdict.TAMPERED: Message("Đã bị sửa đổi", "Tampered with"),
    Verdict.UNTRUSTED_SIGNER: Message("Người ký không được tin cậy", "The signer is not trusted"),
    Verdict.REVOKED_CERTIFICATE: Message(
        "Chứng thư số của người ký đã bị thu hồi", "The signer's certificate has been revoked"
    ),
    Verdict.INCOMPLETE: Message(
        "Chưa đủ chữ ký hoặc sai thứ tự ký", "Signatures missing or out of order"
    ),
    Verdict.RECORD_REVOKED: Message("Đã thu hồi", "Revoked"),
    Verdict.SUPERSEDED: Message("Đã có phiên bản mới hơn", "A newer version exists"),
    Verdict.INDETERMINATE: Message("Chưa xác định được", "Could not be determined"),
    Verdict.MALFORMED: Message("Không phải học bạ số", "Not a digital student record"),
}
"""The one word the pages and the command print first for each verdict."""

VERDICT_EXPLANATIONS: dict[Verdict, Message] = {
    Verdict.VALID: Message(
        "Học bạ này do nhà trường phát hành, đủ chữ ký số theo đúng thứ tự và chưa bị sửa đổi.",
        "This record was issued by the school, carries every digital signature in the right "
        "order and has not been altered.",
    ),
    Verdict.TAMPERED: Message(
        "Nội dung đã bị thay đổi sau khi ký. Không sử dụng bản này.",
        "The content was changed after signing. Do not use this copy.",
    ),
    Verdict.UNTRUSTED_SIGNER: Message(
        "Chữ ký còn nguyên vẹn nhưng người ký không được tin cậy hoặc không đúng vai trò.",
        "The signature is intact but the signer is not trusted or does not hold the right role.",
    ),
    Verdict.REVOKED_CERTIFICATE: Message(
        "Một chứng thư số đã bị thu hồi trước thời điểm ký.",
        "A certificate was revoked before the time of signing.",
    ),
    Verdict.INCOMPLETE: Message(
        "Học bạ chưa được ký đủ các bước hoặc ký sai thứ tự.",
        "The record has not been through every signing step, or in the wrong order.",
    ),
    Verdict.RECORD_REVOKED: Message(
        "Nhà trường đã thu hồi học bạ này; nó không còn giá trị.",
        "The school has revoked this record; it is no longer valid.",
    ),
    Verdict.SUPERSEDED: Message(
        "Nhà trường đã đính chính học bạ này; hãy dùng phiên bản mới nhất.",
        "The school has corrected this record; use the latest version.",
    ),
    Verdict.INDETERMINATE: Message(
        "Chữ ký nguyên vẹn nhưng chưa kiểm tra được tình trạng thu hồi chứng thư.",
        "The signature is intact but the revocation status of the certificate could not be "
        "checked.",
    ),
    Verdict.MALFORMED: Message(
        "Tệp không phải học bạ số hoặc đã hỏng.",
        "The file is not a digital student record, or it is damaged.",
    ),
}
"""The sentence under the verdict's word on the pages."""


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Check:
    """One check of the report: what was looked at, its outcome, and why when it did not pass.
    The fields other than `check`, `status`, `code` and `params` say where (which signature,
    which revision) and appear in the JSON only when set."""

    check: CheckName
    """What was looked at."""
    status: CheckStatus
    """PASS, FAIL or UNKNOWN."""
    code: Code | None = None
    """Why it did not pass (also set for an UNKNOWN); None for a PASS."""
    params: tuple[tuple[str, str], ...] = ()
    """The message's parameters (name, value): the missing signatures, the steps out of order,
    what the XML parser said."""
    slot: str | None = None
    """The signing place: GVBM, GVCN, CBQL, KY_PHAT_HANH ("?" for a signature outside every
    place)."""
    target: str | None = None
    """The id of the element the slot's signatures must cover (`mon-TOAN`, `data`, …)."""
    signer: str | None = None
    """Who signed: the certificate's common name (the seal's subject for a PDF)."""
    level: str | None = None
    """The PDF seal's PAdES level: B-B, B-T or B-LT."""
    source: str | None = None
    """Where the revocation answer came from (ocsp, crl) when it decided the check."""
    reason: str | None = None
    """The revocation reason a revoked certificate's answer gives."""
    revocation: str | None = None
    """Where the PDF seal's passing revocation answer came from."""
    revision: int | None = None
    """The PDF revision an update check found at fault."""
    detail: str | None = None
    """What exactly that revision brought, for support."""
    address: str | None = None
    """The verification site a view's QR code names, when it is not a known one."""

    def message(self, language: Language = "vi") -> str:
        """What the check says to people, in `language`; "" without a code."""
        if self.code is None:
            return ""
        return MESSAGES[self.code].text(language, dict(self.params) if self.params else None)


_WHERE = ("slot", "target", "signer", "level", "source", "reason", "revocation")
_AFTER = ("revision", "detail", "address")


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """Which record the report is about, as the file (or, online, the system) says."""

    record_id: str
    """The record's id (a UUID as text; "" when the file has none)."""
    version: int | None
    """The version number, None when the file's is not a number."""
    status: str
    """ISSUED, SIGNING, DRAFT or REVOKED as the file's signatures and status show it; the
    stored version's state for an online lookup."""
    school_code: str
    """The school's Ministry code."""
    school_year: str
    """The school year, `2024-2025`."""
    school_name: str = ""
    """The school's name as the record writes it: its name on the record's date."""
    authority_name: str = ""
    """Who managed the school on the record's date, as the record writes it ("" when it does
    not say): the Sở, a Phòng GD&ĐT until 30 June 2025, a commune's People's Committee since."""


@dataclass(frozen=True, slots=True)
class Report:
    """The verification of one record (XML) or view (PDF): the verdict, the record, every
    check in the order it was made."""

    verdict: Verdict
    """One word for people."""
    record: RecordInfo | None
    """The record the file names; None when it names none or cannot be read."""
    checks: tuple[Check, ...]
    """Every check, in order."""

    @property
    def valid(self) -> bool:
        """Whether the record can be relied on: the verdict is VALID."""
        return self.verdict is Verdict.VALID

    def failed(self) -> Iterable[Check]:
        """The checks that failed, in order."""
        return (c for c in self.checks if c.status is CheckStatus.FAIL)

    def codes(self) -> set[Code]:
        """The codes of the checks that did not pass."""
        return {c.code for c in self.checks if c.code is not None and c.status != "PASS"}

    def unusable(self) -> Check | None:
        """For a MALFORMED report, the check that says why the file cannot be used: the first
        failed one whose code makes a file unusable, else the first failed one with a code."""
        failed = [c for c in self.failed() if c.code is not None]
        return next((c for c in failed if c.code in UNUSABLE), failed[0] if failed else None)


def as_json(report: Report, language: Language = "vi") -> dict[str, Any]:
    """The report as `docs/contracts/verify.md` documents it (messages in Vietnamese by
    default): for the command line, the API and nothing else."""
    record = report.record
    return {
        "valid": report.valid,
        "verdict": str(report.verdict),
        "record": None
        if record is None
        else {
            "record_id": record.record_id,
            "version": record.version,
            "status": record.status,
            "school_code": record.school_code,
            "school_year": record.school_year,
            "school_name": record.school_name,
            "authority_name": record.authority_name,
        },
        "checks": [_check_json(check, language) for check in report.checks],
    }


def _check_json(check: Check, language: Language) -> dict[str, Any]:
    out: dict[str, Any] = {"check": str(check.check)}
    for name in _WHERE:
        value = getattr(check, name)
        if value is not None:
            out[name] = value
    for name in _AFTER:
        value = getattr(check, name)
        if value is not None:
            out[name] = value
    out["status"] = str(check.status)
    if check.code is not None:
        out["code"] = str(check.code)
        out["message"] = check.message(language)
    return out


# --- verdicts -------------------------------------------------------------------------------

TAMPERING = frozenset(
    {
        Code.MALFORMED_SIGNATURE,
        Code.WRONG_TARGET,
        Code.DUPLICATE_ID,
        Code.DIGEST_MISMATCH,
        Code.CERT_DIGEST_MISMATCH,
        Code.SIGNATURE_INVALID,
        Code.UNEXPECTED_SIGNATURE,
        Code.UNEXPECTED_CONTENT,
    }
)
"""A signature of the record does not hold what it signed."""
_REVOKED = frozenset({Code.CERT_REVOKED, Code.CERT_REVOKED_UNSAFE_REASON})
_UNTRUSTED = frozenset(
    {Code.CHAIN_UNTRUSTED, Code.CERT_NOT_VALID_AT_SIGNING, Code.KEY_USAGE, Code.SIGNER_MISMATCH}
)
_INCOMPLETE = frozenset({Code.ORDER_VIOLATION, Code.MISSING_SIGNATURE})

UNUSABLE = frozenset(
    {
        Code.PDF_UNREADABLE,
        Code.PDF_DECODE_LIMIT,
        Code.PDF_TOO_MANY_REVISIONS,
        Code.PDF_ENCRYPTED,
        Code.PDF_BYTE_RANGE_INVALID,
        Code.EMBEDDED_XML_MISSING,
        Code.EMBEDDED_XML_TOO_LARGE,
    }
)
"""Codes of a file that cannot be judged as a view at all (verdict MALFORMED)."""
UPDATES = frozenset(
    {
        Code.PDF_PAGE_ADDED,
        Code.PDF_PAGE_CONTENT_CHANGED,
        Code.PDF_VISIBLE_SIGNATURE,
        Code.PDF_ANNOTATION_ADDED,
        Code.PDF_FORM_FIELD_ADDED,
        Code.PDF_CATALOG_CHANGED,
        Code.PDF_METADATA_CHANGED,
        Code.PDF_UPDATE_NOT_ALLOWED,
        Code.PDF_TRAILING_DATA,
        Code.PDF_UNLISTED_OBJECT,
    }
)
"""What an update after the drawing brought that a view may not have."""
PDF_TAMPERING = frozenset(
    {
        Code.PDF_NOT_SEALED,
        Code.PDF_SIGNATURE_INVALID,
        Code.PDF_OTHER_SIGNATURE,
        Code.EMBEDDED_XML_REPLACED,
        Code.VIEW_MISMATCH,
        Code.VIEW_LAYOUT_UNKNOWN,
        Code.VIEW_ADDRESS_UNKNOWN,
        *UPDATES,
    }
)
"""A view whose pages, seal or attachment are not what the school sealed."""
_VIEW_TAMPERING = PDF_TAMPERING | TAMPERING


_FAIL, _UNKNOWN, _SCHEMA = CheckStatus.FAIL, CheckStatus.UNKNOWN, CheckName.SCHEMA


def _findings(checks: Iterable[Check]) -> tuple[set[Code | None], bool, bool]:
    """In one pass: the codes of the failed checks, whether the schema check failed, whether a
    check is UNKNOWN (a record has some fifty checks; this runs for every one verified)."""
    codes: set[Code | None] = set()
    schema_failed = unknown = False
    for check in checks:
        status = check.status
        if status is _FAIL:
            codes.add(check.code)
            schema_failed = schema_failed or check.check is _SCHEMA
        elif status is _UNKNOWN:
            unknown = True
    return codes, schema_failed, unknown


def xml_verdict(checks: Iterable[Check]) -> Verdict:
    """The verdict of a record XML's checks: the gravest finding decides."""
    return _xml_verdict(*_findings(checks))


def _xml_verdict(codes: set[Code | None], schema_failed: bool, unknown: bool) -> Verdict:
    if schema_failed or Code.XML_UNREADABLE in codes:
        return Verdict.MALFORMED
    if codes & TAMPERING:
        return Verdict.TAMPERED
    if codes & _REVOKED:
        return Verdict.REVOKED_CERTIFICATE
    if codes & _UNTRUSTED:
        return Verdict.UNTRUSTED_SIGNER
    if codes & _INCOMPLETE:
        return Verdict.INCOMPLETE
    if Code.RECORD_REVOKED in codes:
        return Verdict.RECORD_REVOKED
    if unknown:
        return Verdict.INDETERMINATE
    return Verdict.VALID


def pdf_verdict(checks: Iterable[Check]) -> Verdict:
    """The verdict of a sealed view's checks (its own, then its XML's): anything wrong with the
    view decides before the XML's findings."""
    codes, schema_failed, unknown = _findings(checks)
    if codes & _VIEW_TAMPERING:
        return Verdict.TAMPERED
    if Code.PDF_SIGNER_REVOKED in codes:
        return Verdict.REVOKED_CERTIFICATE
    if codes & {Code.PDF_SIGNER_UNTRUSTED, Code.PDF_SIGNER_MISMATCH}:
        return Verdict.UNTRUSTED_SIGNER
    if codes & UNUSABLE:
        return Verdict.MALFORMED
    return _xml_verdict(codes, schema_failed, unknown)
