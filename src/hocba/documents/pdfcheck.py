"""Verifying a sealed PDF view: the report of `contracts/verify.md` with three more checks.

- `pdf_signature`: the school's PAdES seal is intact, chains to the trust anchors, belongs to
  the school named in the record, and nothing but validation data was added after it;
- `embedded_xml`: the signed revision carries the record's XML (and a later revision does not
  carry another one); the XML's own verification follows, with all its checks;
- `view_matches_xml`: drawing the embedded XML again gives exactly the signed pages.
"""

from __future__ import annotations

import io
import re
from typing import Any

from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from hocba.documents.render import Renderer
from hocba.documents.seal import FIELD, asn1_certificate
from hocba.documents.view import VIEW_VERSION
from hocba.records.xml import XmlRejected, parse_untrusted
from hocba.records.xml.builder import NS
from hocba.signing.certs import tax_code_of
from hocba.signing.verify import Verifier, _check, _report, _verdict

MESSAGES = {
    "PDF_UNREADABLE": "Không đọc được tệp PDF",
    "PDF_NOT_SEALED": "Tệp PDF không có chữ ký số của nhà trường (chữ ký đã bị gỡ bỏ?)",
    "PDF_SIGNATURE_INVALID": "Chữ ký số trên tệp PDF không hợp lệ: nội dung đã bị thay đổi",
    "PDF_MODIFIED_AFTER_SEAL": "Tệp PDF đã bị sửa đổi sau khi nhà trường ký số",
    "PDF_SIGNER_UNTRUSTED": "Chữ ký số trên tệp PDF không thuộc tổ chức được tin cậy",
    "PDF_SIGNER_MISMATCH": "Chữ ký số trên tệp PDF không phải của trường ghi trong học bạ",
    "EMBEDDED_XML_MISSING": "Tệp PDF không kèm tệp XML học bạ đã ký",
    "EMBEDDED_XML_REPLACED": "Tệp XML đính kèm đã bị thay thế sau khi nhà trường ký số",
    "VIEW_MISMATCH": "Nội dung hiển thị không khớp với tệp XML học bạ đính kèm",
    "VIEW_RENDERER_CHANGED": "Bản thể hiện được tạo bằng mẫu khác, không so sánh được",
}
PDF_TAMPERING = {
    "PDF_SIGNATURE_INVALID",
    "PDF_MODIFIED_AFTER_SEAL",
    "EMBEDDED_XML_REPLACED",
    "VIEW_MISMATCH",
}
_KEYWORD = re.compile(r"hocba-view:(\w+)")


def _pdf_check(name: str, status: str, code: str | None = None, **extra: Any) -> dict[str, Any]:
    return _check(name, status, code, MESSAGES.get(code or ""), **extra)


def _embedded_xml(reader: PdfFileReader) -> bytes | None:
    """The first XML file attached to the document (EmbeddedFiles name tree)."""
    names = reader.root.get("/Names")
    files = names.get("/EmbeddedFiles") if names is not None else None
    if files is None:
        return None
    pending = [files]
    while pending:
        node = pending.pop().get_object()
        for kid in node.get("/Kids", []):
            pending.append(kid)
        entries = list(node.get("/Names", []))
        for spec in entries[1::2]:
            spec = spec.get_object()
            name = str(spec.get("/UF", spec.get("/F", "")))
            stream = spec.get("/EF", {}).get("/F")
            if name.endswith(".xml") and stream is not None:
                data: bytes = stream.get_object().data
                return data
    return None


def _keywords(reader: PdfFileReader) -> str:
    info = reader.trailer_view.get("/Info")
    return str(info.get_object().get("/Keywords", "")) if info is not None else ""


class PdfVerifier:
    """Verifies sealed PDF views with the XML verifier's trust anchors."""

    def __init__(self, verifier: Verifier, renderer_for: Any = None) -> None:
        self.verifier = verifier
        self._renderers: dict[str, Renderer] = {}
        self._renderer_for = renderer_for or Renderer
        trust = verifier.trust
        self._context = ValidationContext(
            trust_roots=[asn1_certificate(c) for c in trust.roots],
            other_certs=[asn1_certificate(c) for c in trust.intermediates],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )

    def _renderer(self, base: str) -> Renderer:
        if base not in self._renderers:
            self._renderers[base] = self._renderer_for(base)
        return self._renderers[base]

    def verify(self, data: bytes) -> dict[str, Any]:
        try:
            reader = PdfFileReader(io.BytesIO(data), strict=False)
            signatures = reader.embedded_signatures
        except Exception:
            return _report(
                False, "MALFORMED", None, [_pdf_check("pdf_signature", "FAIL", "PDF_UNREADABLE")]
            )
        seal = next((s for s in signatures if s.field_name == FIELD), None)
        if seal is None:
            xml = _embedded_xml(reader)
            if xml is None:  # not a học bạ view at all
                return _report(
                    False,
                    "MALFORMED",
                    None,
                    [
                        _pdf_check("pdf_signature", "FAIL", "PDF_NOT_SEALED"),
                        _pdf_check("embedded_xml", "FAIL", "EMBEDDED_XML_MISSING"),
                    ],
                )
            report = self.verifier.verify(xml)
            unsealed = [_pdf_check("pdf_signature", "FAIL", "PDF_NOT_SEALED"), *report["checks"]]
            return _report(False, "TAMPERED", report["record"], unsealed)

        checks: list[dict[str, Any]] = []
        status = validate_pdf_signature(
            seal, signer_validation_context=self._context, ts_validation_context=self._context
        )
        signed_end = seal.byte_range[2] + seal.byte_range[3]
        signed_revision = PdfFileReader(io.BytesIO(data[:signed_end]), strict=False)
        xml = _embedded_xml(signed_revision)
        latest_xml = _embedded_xml(reader)
        modified = status.coverage != SignatureCoverageLevel.ENTIRE_FILE and (
            status.modification_level not in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
        )
        seal_cert = x509.load_der_x509_certificate(seal.signer_cert.dump())
        stamped = status.timestamp_validity is not None
        long_term = stamped and reader.root.get("/DSS") is not None
        signer = {
            "signer": seal_cert.subject.rfc4514_string(),
            "level": "B-LT" if long_term else "B-T" if stamped else "B-B",
        }
        if not (status.intact and status.valid):
            checks.append(_pdf_check("pdf_signature", "FAIL", "PDF_SIGNATURE_INVALID", **signer))
        elif modified:
            checks.append(_pdf_check("pdf_signature", "FAIL", "PDF_MODIFIED_AFTER_SEAL", **signer))
        elif not status.trusted:
            checks.append(_pdf_check("pdf_signature", "FAIL", "PDF_SIGNER_UNTRUSTED", **signer))
        else:
            checks.append(_pdf_check("pdf_signature", "PASS", **signer))

        if xml is None:
            checks.append(_pdf_check("embedded_xml", "FAIL", "EMBEDDED_XML_MISSING"))
            return _report(False, _pdf_verdict(checks), None, checks)
        if latest_xml != xml:
            checks.append(_pdf_check("embedded_xml", "FAIL", "EMBEDDED_XML_REPLACED"))
        else:
            checks.append(_pdf_check("embedded_xml", "PASS"))
        report = self.verifier.verify(xml)
        record = report["record"]
        school_tax = _school_tax_code(xml)
        if checks[0]["status"] == "PASS" and school_tax and tax_code_of(seal_cert) != school_tax:
            checks[0] = _pdf_check("pdf_signature", "FAIL", "PDF_SIGNER_MISMATCH", **signer)
        checks.append(self._view(data, reader, xml))
        checks += report["checks"]
        verdict = _pdf_verdict(checks)
        return _report(verdict == "VALID", verdict, record, checks)

    def _view(self, data: bytes, reader: PdfFileReader, xml: bytes) -> dict[str, Any]:
        keywords = _keywords(reader)
        version = _KEYWORD.search(keywords)
        if version is None or version.group(1) != VIEW_VERSION:
            return _pdf_check("view_matches_xml", "UNKNOWN", "VIEW_RENDERER_CHANGED")
        address = keywords.split(",", 1)[1].strip() if "," in keywords else ""
        base = address.split("?", 1)[0].rsplit("/", 2)[0]
        try:
            drawn = self._renderer(base).render(xml)
        except Exception:
            return _pdf_check("view_matches_xml", "FAIL", "VIEW_MISMATCH")
        if data.startswith(drawn):
            return _pdf_check("view_matches_xml", "PASS")
        return _pdf_check("view_matches_xml", "FAIL", "VIEW_MISMATCH")


def _school_tax_code(xml: bytes) -> str:
    try:
        root = parse_untrusted(xml)
    except XmlRejected:
        return ""
    return root.findtext(f".//{{{NS}}}TRUONG/{{{NS}}}MA_SO_THUE") or ""


def _pdf_verdict(checks: list[dict[str, Any]]) -> str:
    codes = {c.get("code") for c in checks if c["status"] == "FAIL"}
    if codes & PDF_TAMPERING or "PDF_NOT_SEALED" in codes:
        return "TAMPERED"
    if codes & {"PDF_SIGNER_UNTRUSTED", "PDF_SIGNER_MISMATCH"}:
        return "UNTRUSTED_SIGNER"
    if "EMBEDDED_XML_MISSING" in codes:
        return "MALFORMED"
    return _verdict(checks)
