"""Verifying a sealed PDF view: the report of `docs/contracts/verify.md` with three more checks.

- `pdf_signature`: the school's PAdES seal is intact, chains to the trust anchors, belongs to
  the school whose tax code the record names (as the XML verifier reads it for the school's own
  seal) and its certificate is not revoked (asked of the XML verifier's revocation checker); no
  other signature was added;
- `embedded_xml`: the drawing carries the record's XML (and a later revision does not carry
  another one); the XML's own verification follows, with all its checks;
- `view_matches_xml`: the pages a person sees are the drawing of that XML. The drawing is the
  file's first revision: the XML, the layout version and the verification address (keywords)
  are read from it and nowhere else. The layout must be the one this verifier draws and the
  address one of the configured verification sites (this deployment's and the other hocba
  instances' it trusts); then the XML is drawn again and the two are compared byte for byte.
  After the drawing only signatures that show nothing on a page (the seal), document time stamps
  and validation data (DSS) may follow, and every byte must belong to one of them: the layout of
  the bytes is accounted for and pyHanko's difference analysis reviews every later revision
  against the drawing (`hocba.documents.updates`); whatever else an update brings (a page
  painted over, a page added, an annotation, a visible signature, a changed catalog or
  metadata, data that other readers would take for the document's end or for more objects) is
  named by its own code. A seal that fails decides the verdict: the view is then not drawn
  again (`VIEW_NOT_COMPARED`).

The bytes come from anyone: they are read in pyHanko's strict mode (no hybrid cross-reference
files, whose objects differ from one reader to another) with tight decode limits
(`DECODE_LIMITS`, from `hocba.limits`), and whatever cannot be read answers a MALFORMED report,
never an exception.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import re
import threading
from collections.abc import Iterable

from cryptography import x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import (
    DEFAULT_PURPOSE_LIMITS,
    DecodeLimits,
    DecodePurpose,
    DocumentDecodeBudget,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from hocba import limits
from hocba.documents.render import Renderer
from hocba.documents.seal import FIELD, asn1_certificate
from hocba.documents.updates import TREE_NODES, info_of, review_updates
from hocba.documents.view import VIEW_VERSION
from hocba.formats import XmlRejected, parse_untrusted, slots_of
from hocba.formats.report import (
    Check,
    CheckName,
    CheckStatus,
    Code,
    Report,
    Verdict,
    pdf_verdict,
)
from hocba.signing.certs import tax_code_of
from hocba.signing.revocation import Status
from hocba.signing.verify import Verifier

logger = logging.getLogger(__name__)

_KEYWORDS = re.compile(r"hocba-view:(?P<layout>[^,]*), (?P<address>\S+)")
"""The drawing's keywords: its layout version and its verification address."""
_ADDRESS = re.compile(r"(?P<base>.+)/[^/?#]+/[0-9]+\?h=[0-9a-f]{12}")
"""A verification address, `<base>/<record id>/<version>?h=<check code>`."""
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*\Z")

_LIMITED = StreamDecodeLimits(
    max_ratio=100, ratio_floor=64 * limits.KiB, max_output_size=limits.PDF_STREAM_BYTES
)
DECODE_LIMITS = DecodeLimits(
    per_stream=_LIMITED,
    per_purpose={
        **DEFAULT_PURPOSE_LIMITS,
        DecodePurpose.OBJECT_STREAM: _LIMITED,
        DecodePurpose.XMP_METADATA: StreamDecodeLimits(
            max_ratio=100, ratio_floor=64 * limits.KiB, max_output_size=limits.PDF_METADATA_BYTES
        ),
    },
    document_budget=DocumentDecodeBudget(base_allowance=limits.PDF_DECODED_BYTES, max_ratio=1),
)
"""Every stream of an uploaded PDF is stopped while it inflates past `limits.PDF_STREAM_BYTES`
(the attached record XML, the largest stream of a view, is thereby held to
`limits.RECORD_XML_BYTES`), more than a hundredfold compression above 64 KiB is refused, and one
revision may decode `limits.PDF_DECODED_BYTES` in all."""


class _Unusable(Exception):
    """The file cannot be judged as a view: a MALFORMED report with this check and code."""

    def __init__(self, check: CheckName, code: Code) -> None:
        super().__init__(code)
        self.check = check
        self.code = code


# --- reading the drawing ---------------------------------------------------------------------


def _attached_xml(resolver: HistoricalResolver | PdfFileReader) -> bytes | None:
    """The first XML file attached to the document (EmbeddedFiles name tree), decoded within
    the limits: one that would inflate past a record's size is refused while it inflates."""
    names = resolver.root.get("/Names") if "/Names" in resolver.root else None
    if names is None or "/EmbeddedFiles" not in names:
        return None
    pending = [names.raw_get("/EmbeddedFiles")]
    visited = 0
    while pending and visited < TREE_NODES:
        visited += 1
        node = pending.pop().get_object()
        pending.extend(node.raw_get("/Kids") if "/Kids" in node else ())
        entries = list(node.get("/Names") or ()) if "/Names" in node else []
        for spec in entries[1::2]:
            spec = spec.get_object()
            name = str(spec.get("/UF", spec.get("/F", "")))
            stream = spec["/EF"]["/F"] if "/EF" in spec and "/F" in spec["/EF"] else None
            if name.endswith(".xml") and stream is not None:
                try:
                    data: bytes = stream.get_object().data
                except PdfDecodeLimitError:
                    raise _Unusable(EMBEDDED_XML, Code.EMBEDDED_XML_TOO_LARGE) from None
                if len(data) > limits.RECORD_XML_BYTES:
                    raise _Unusable(EMBEDDED_XML, Code.EMBEDDED_XML_TOO_LARGE)
                return data
    return None


def _latest_xml(reader: PdfFileReader) -> bytes | None:
    """The XML attached in the latest revision (None when a later update broke the name tree:
    the XML a viewer offers is then not the drawing's either)."""
    try:
        return _attached_xml(reader)
    except _Unusable:
        raise
    except Exception:  # whatever a later update made of the catalog's names
        return None


def _keywords(resolver: HistoricalResolver) -> str:
    _, info = info_of(resolver)
    return str(info.get("/Keywords", "")) if isinstance(info, generic.DictionaryObject) else ""


def _seal_of(reader: PdfFileReader) -> tuple[EmbeddedPdfSignature | None, list[str]]:
    """The school's seal, and the names of any other signature that is not a document time
    stamp."""
    seal = None
    others = []
    for signature in reader.embedded_signatures:
        if signature.field_name == FIELD and seal is None:
            seal = signature
        elif signature.sig_object_type != "/DocTimeStamp":
            others.append(str(signature.field_name))
    return seal, others


def configured_verify_urls() -> list[str]:
    """The verification sites a view's QR code may lead to: this deployment's
    (`HOCBA_VERIFY_URL`) and the other hocba instances' it trusts
    (`HOCBA_TRUSTED_VERIFY_URLS`)."""
    from django.conf import settings

    return [settings.VERIFY_URL, *settings.TRUSTED_VERIFY_URLS]


def _site(url: str) -> str:
    return url.strip().rstrip("/")


@functools.cache
def shared_renderer() -> Renderer:
    """One typst compiler for every verification in this process, whatever address a view
    names (the address is an input of each drawing, not a compiler of its own)."""
    return Renderer("")


_RENDERER_LOCK = threading.Lock()


SEAL, EMBEDDED_XML, VIEW = (
    CheckName.PDF_SIGNATURE,
    CheckName.EMBEDDED_XML,
    CheckName.VIEW_MATCHES_XML,
)
PASS, FAIL, UNKNOWN = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.UNKNOWN


def _unusable(check: CheckName, code: Code) -> Report:
    return Report(Verdict.MALFORMED, None, (Check(check, FAIL, code),))


class PdfVerifier:
    """Verifies sealed PDF views with the XML verifier's trust anchors and revocation checker.
    `verify_urls`: the verification sites a view may name (by default `configured_verify_urls`)."""

    def __init__(
        self,
        verifier: Verifier,
        renderer: Renderer | None = None,
        verify_urls: Iterable[str] | None = None,
    ) -> None:
        self.verifier = verifier
        self._given_renderer = renderer
        urls = configured_verify_urls() if verify_urls is None else verify_urls
        self.verify_urls = frozenset(_site(url) for url in urls if _site(url))
        trust = verifier.trust
        self._context = ValidationContext(
            trust_roots=[asn1_certificate(c) for c in trust.roots],
            other_certs=[asn1_certificate(c) for c in trust.intermediates],
            allow_fetching=False,
            revocation_mode="soft-fail",
        )

    @property
    def renderer(self) -> Renderer:
        if self._given_renderer is not None:
            return self._given_renderer
        with _RENDERER_LOCK:
            return shared_renderer()

    def verify(self, data: bytes) -> Report:
        """The report for `data`; a file that cannot be read as a view answers MALFORMED."""
        return self.verify_view(data)[0]

    def verify_view(self, data: bytes) -> tuple[Report, bytes | None]:
        """The report for `data`, and the record XML attached to its drawing that the report
        judged (None when the file has none or cannot be read as a view)."""
        try:
            return self._verify(data)
        except _Unusable as unusable:
            return _unusable(unusable.check, unusable.code), None
        except PdfDecodeLimitError:
            return _unusable(SEAL, Code.PDF_DECODE_LIMIT), None
        except Exception:  # whatever a hostile file makes the PDF library raise
            logger.info("unreadable PDF upload", exc_info=True)
            return _unusable(SEAL, Code.PDF_UNREADABLE), None

    def _verify(self, data: bytes) -> tuple[Report, bytes | None]:
        reader = PdfFileReader(io.BytesIO(data), strict=True, decode_limits=DECODE_LIMITS)
        if reader.encrypt_dict is not None:
            raise _Unusable(SEAL, Code.PDF_ENCRYPTED)
        if reader.xrefs.total_revisions > limits.PDF_REVISIONS:
            raise _Unusable(SEAL, Code.PDF_TOO_MANY_REVISIONS)
        drawing = reader.get_historical_resolver(0)
        xml = _attached_xml(drawing)
        seal, others = _seal_of(reader)
        if seal is None:
            if xml is None:  # not a học bạ view at all
                checks = (
                    Check(SEAL, FAIL, Code.PDF_NOT_SEALED),
                    Check(EMBEDDED_XML, FAIL, Code.EMBEDDED_XML_MISSING),
                )
                return Report(Verdict.MALFORMED, None, checks), None
            report = self.verifier.verify(xml)
            unsealed = (Check(SEAL, FAIL, Code.PDF_NOT_SEALED), *report.checks)
            return Report(Verdict.TAMPERED, report.record, unsealed), xml

        seal_check = self._seal(seal, reader, xml)
        checks = [seal_check]
        checks += [Check(SEAL, FAIL, Code.PDF_OTHER_SIGNATURE, signer=name) for name in others]
        if xml is None:
            checks.append(Check(EMBEDDED_XML, FAIL, Code.EMBEDDED_XML_MISSING))
            return Report(pdf_verdict(checks), None, tuple(checks)), None
        if _latest_xml(reader) != xml:
            checks.append(Check(EMBEDDED_XML, FAIL, Code.EMBEDDED_XML_REPLACED))
        else:
            checks.append(Check(EMBEDDED_XML, PASS))
        report = self.verifier.verify(xml)
        if seal_check.status is FAIL:
            # the verdict is decided: no new drawing for a seal that is broken, untrusted,
            # someone else's or revoked (anyone can make such a file, as many as they like)
            checks.append(Check(VIEW, UNKNOWN, Code.VIEW_NOT_COMPARED))
        else:
            checks += self._view(data, reader, drawing, xml)
        checks += report.checks
        return Report(pdf_verdict(checks), report.record, tuple(checks)), xml

    def _seal(self, seal: EmbeddedPdfSignature, reader: PdfFileReader, xml: bytes | None) -> Check:
        """The seal's own check: intact over the drawing and its own revision, trusted, the
        school's, its certificate not revoked. What follows its revision is the business of
        `review_updates`."""
        if seal.sig_object_type != "/Sig":
            return Check(SEAL, FAIL, Code.PDF_SIGNATURE_INVALID)
        status = validate_pdf_signature(
            seal,
            signer_validation_context=self._context,
            ts_validation_context=self._context,
            skip_diff=True,
        )
        if status.coverage == SignatureCoverageLevel.UNCLEAR:
            # not the two ranges around the signature itself, starting at the first byte
            raise _Unusable(SEAL, Code.PDF_BYTE_RANGE_INVALID)
        seal_cert = x509.load_der_x509_certificate(seal.signer_cert.dump())
        stamped = status.timestamp_validity is not None
        long_term = stamped and "/DSS" in reader.root
        signer = seal_cert.subject.rfc4514_string()
        level = "B-LT" if long_term else "B-T" if stamped else "B-B"
        covered = status.coverage in (
            SignatureCoverageLevel.ENTIRE_REVISION,
            SignatureCoverageLevel.ENTIRE_FILE,
        )
        if not (status.intact and status.valid and covered):
            return Check(SEAL, FAIL, Code.PDF_SIGNATURE_INVALID, signer=signer, level=level)
        if not status.trusted:
            return Check(SEAL, FAIL, Code.PDF_SIGNER_UNTRUSTED, signer=signer, level=level)
        school_tax = record_tax_code(xml) if xml is not None else None
        if school_tax is not None and (not school_tax or tax_code_of(seal_cert) != school_tax):
            return Check(SEAL, FAIL, Code.PDF_SIGNER_MISMATCH, signer=signer, level=level)
        stamped_at = (
            status.timestamp_validity.timestamp if status.timestamp_validity is not None else None
        )
        return self._revocation(seal_cert, stamped_at, status.signer_reported_dt, signer, level)

    def _revocation(
        self,
        cert: x509.Certificate,
        stamped_at: dt.datetime | None,
        claimed_at: dt.datetime | None,
        signer: str,
        level: str,
    ) -> Check:
        """The seal's certificate asked of the XML verifier's revocation checker. With a time
        stamp (a time nobody chose), a revocation after it leaves the seal valid; without one,
        the rule the XML verifier applies to each signer (`Answer.invalidates`: the time the
        seal keeper wrote is believed only for a revocation whose reason cannot be a stolen
        key). Nobody answering leaves it UNKNOWN."""
        chain = self.verifier.trust.chain(cert)
        unknown = Check(
            SEAL, UNKNOWN, Code.PDF_SIGNER_REVOCATION_UNKNOWN, signer=signer, level=level
        )
        if chain is None or len(chain) < 2:
            return unknown
        answer = self.verifier.revocation.status(cert, chain[1])
        if stamped_at is not None:
            revoked = answer.status is Status.REVOKED and (
                answer.revoked_at is None or answer.revoked_at <= stamped_at
            )
        else:
            revoked = claimed_at is None or answer.invalidates(claimed_at)
            revoked = revoked and answer.status is Status.REVOKED
        if revoked:
            return Check(
                SEAL,
                FAIL,
                Code.PDF_SIGNER_REVOKED,
                signer=signer,
                level=level,
                source=answer.source,
            )
        if answer.status is Status.UNKNOWN:
            return unknown
        return Check(SEAL, PASS, signer=signer, level=level, revocation=answer.source)

    def _view(
        self, data: bytes, reader: PdfFileReader, drawing: HistoricalResolver, xml: bytes
    ) -> list[Check]:
        """`view_matches_xml`: what every later update brought, then the drawing itself."""
        drawn = self._drawing(data, reader, drawing, xml)
        refused = review_updates(reader)
        if refused is None:
            return [drawn]
        code, revision, detail = refused
        update = Check(VIEW, FAIL, Code(code), revision=revision, detail=detail)
        if drawn.status is FAIL and drawn.code != code:
            return [update, drawn]
        return [update]

    def _drawing(
        self, data: bytes, reader: PdfFileReader, drawing: HistoricalResolver, xml: bytes
    ) -> Check:
        """The first revision is the drawing of `xml`, byte for byte, in the layout this
        verifier draws and with a verification address of a configured site."""
        named = _KEYWORDS.fullmatch(_keywords(drawing))
        address = _ADDRESS.fullmatch(named["address"]) if named is not None else None
        if named is None or address is None:
            return Check(VIEW, FAIL, Code.VIEW_MISMATCH)
        if named["layout"] != VIEW_VERSION:
            # only one layout has ever been issued: a view naming another cannot be shown to
            # be the drawing of its XML (whoever holds the seal key writes the keywords)
            return Check(VIEW, FAIL, Code.VIEW_LAYOUT_UNKNOWN)
        base = _site(address["base"])
        if base not in self.verify_urls:
            return Check(VIEW, FAIL, Code.VIEW_ADDRESS_UNKNOWN, address=base)
        try:
            drawn = self.renderer.render(xml, verify_base=base)
        except Exception:  # an XML that cannot be drawn is not what the pages show
            return Check(VIEW, FAIL, Code.VIEW_MISMATCH)
        startxref = _STARTXREF.search(drawn)
        first = reader.xrefs.get_xref_container_info(0)
        if (
            data.startswith(drawn)
            and startxref is not None
            and first.declared_startxref == int(startxref.group(1))
        ):
            return Check(VIEW, PASS)
        return Check(VIEW, FAIL, Code.VIEW_MISMATCH)


def record_tax_code(xml: bytes) -> str | None:
    """The tax code the school's seal must carry, as the XML verifier reads it (the seal slot
    of `hocba.formats.slots_of`): "" when the record has none or its slots cannot be read,
    None when `xml` is not XML at all."""
    try:
        root = parse_untrusted(xml, keep_whitespace=True)
    except XmlRejected:
        return None
    try:
        return slots_of(root).seal.tax_code
    except XmlRejected:
        return ""
