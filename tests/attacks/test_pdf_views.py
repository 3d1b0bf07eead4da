"""Attack class: a sealed PDF view whose pages (or title, or keywords, or QR code) show something
else than its signed XML, and PDFs made to exhaust or crash the verifier.

The attacker is the seal keeper: they hold the school's seal key, so they can draw revision 0
as they like, add any incremental update to a genuine drawing and seal the result, or seal first
and update after. Whatever they add besides invisible signatures, document time stamps and
validation data must give TAMPERED with a code naming what was added, including what only other
readers than pyHanko would show (a `startxref` after the last `%%EOF`, objects or structure hidden
in an allowed update): poppler is the independent reader, and a view that verifies must show in
it exactly the drawing. Info and XMP metadata written after the drawing must neither verify nor
steer the page comparison; a drawing naming a layout the verifier does not draw, or a QR code
leading to an unknown site, must not verify. The seal itself must be the school's (the tax code
the record names, always), trusted and not revoked, and a failed seal costs no new drawing. A PDF
whose attached XML inflates without bound must be refused while it inflates (MALFORMED, memory
bounded), and no rewritten, cut or mangled PDF may give anything but a report (the API: 422 with
a JSON error; the CLI: exit 2 with one line)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.stamp import TextStampStyle

from hocba import limits
from hocba.documents.pdfcheck import PdfVerifier
from hocba.documents.render import Renderer, qr_svg
from hocba.documents.seal import FIELD, Sealer, asn1_certificate
from hocba.documents.view import view_of
from hocba.formats import build
from hocba.formats.report import MESSAGES, Code
from hocba.signing.certs import TrustStore
from hocba.signing.dev.pki import create
from hocba.signing.dev.servers import LoopbackServer, ocsp_app
from hocba.signing.revocation import RevocationChecker
from hocba.signing.signers import Pkcs12Signer
from hocba.signing.verify import Verifier
from tests.conftest import require_tool
from tests.factories.records import sample_record, sign_all

BASE = "https://hocba.example.vn/xac-minh"
TAX = "2600100202"
SCHOOL = "Trường THCS Chu Văn An"
VERDICTS = {
    "VALID",
    "TAMPERED",
    "UNTRUSTED_SIGNER",
    "REVOKED_CERTIFICATE",
    "INCOMPLETE",
    "RECORD_REVOKED",
    "SUPERSEDED",
    "INDETERMINATE",
    "MALFORMED",
}
PAINT = b"q 1 1 1 rg 40 300 520 420 re f Q q 0 0 0 rg 60 600 m 300 600 l 300 610 l h f Q"
"""White over the score table, then a black bar where another score would be written."""
PAINT_TEXT = generic.TextStringObject(PAINT.decode())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    # the OCSP responder named in every certificate answers for the whole module (B-LT seals)
    with LoopbackServer(lambda e, s: [b""]) as probe:
        port = probe.port
    pki = create(tmp_path_factory.mktemp("pki"), ocsp_url=f"http://127.0.0.1:{port}/ocsp")
    with LoopbackServer(ocsp_app(pki), port=port):
        yield pki


@pytest.fixture(scope="module")
def school_key(pki):
    return pki.issue_org(TAX, SCHOOL)


@pytest.fixture(scope="module")
def signed(pki, school_key):
    people = {
        slot: Pkcs12Signer(*pki.issue_person(pid, name))
        for slot, pid, name in (
            ("GVBM", "025085001234", "Nguyễn Thị Hoa"),
            ("GVCN", "025085004321", "Lê Văn Chủ"),
            ("CBQL", "025070001111", "Đỗ Gia Tuấn"),
        )
    }
    people["KY_PHAT_HANH"] = Pkcs12Signer(*school_key)
    return sign_all(build(sample_record()), ["TOAN", "GDTC"], lambda slot, _: people[slot])


@pytest.fixture(scope="module")
def drawing(signed):
    return Renderer(BASE).render(signed)


@pytest.fixture(scope="module")
def sealer(pki, school_key):
    return Sealer(Pkcs12Signer(*school_key), [pki.issuing], SCHOOL)


@pytest.fixture(scope="module")
def sealed(sealer, drawing):
    return sealer.seal(drawing)


@pytest.fixture(scope="module")
def verifier(pki):
    trust = TrustStore.from_pem(
        [(pki.path / "ca/root.pem").read_bytes()], [(pki.path / "ca/issuing.pem").read_bytes()]
    )
    return PdfVerifier(
        Verifier(trust, RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False)),
        verify_urls=[BASE],
    )


def failing(report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for check in report.checks:
        if check.status == "FAIL":
            found.setdefault(check.check, set()).add(check.code)
    return found


class _Verbatim(IncrementalPdfFileWriter):
    """A writer that writes what it is told and no new modification date with it."""

    def _update_meta(self):
        return None


def updated(
    pdf: bytes, change: Callable[[IncrementalPdfFileWriter], None], restamp: bool = True
) -> bytes:
    """`pdf` with an incremental update made by `change` (by default written as pyHanko writes
    any update: with a new modification date in the Info dictionary and XMP packet)."""
    writer = (IncrementalPdfFileWriter if restamp else _Verbatim)(io.BytesIO(pdf), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pyhanko_signer(key, cert) -> signers.SimpleSigner:
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return signers.SimpleSigner(
        signing_cert=asn1_certificate(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(der),
        cert_registry=None,
    )


# --- what the seal keeper adds ---------------------------------------------------------------


def paint_over(writer):
    stream = writer.add_object(generic.StreamObject(stream_data=PAINT))
    writer.add_stream_to_page(2, stream)


def replace_content(writer):
    page = writer.root["/Pages"]["/Kids"][2].get_object()
    contents = page["/Contents"]
    stream = (contents[0] if isinstance(contents, generic.ArrayObject) else contents).get_object()
    stream._data = stream.data + b"\n" + PAINT
    stream._encoded_data = None
    writer.update_container(stream)


def add_page(writer):
    first = writer.root["/Pages"]["/Kids"][0].get_object()
    page = generic.DictionaryObject(
        {
            pdf_name("/Type"): pdf_name("/Page"),
            pdf_name("/MediaBox"): first["/MediaBox"],
            pdf_name("/Resources"): first.raw_get("/Resources"),
            pdf_name("/Contents"): writer.add_object(generic.StreamObject(stream_data=PAINT)),
        }
    )
    writer.insert_page(page)


def annotation(subtype: str, **entries) -> Callable[[IncrementalPdfFileWriter], None]:
    def add(writer):
        page_ref = writer.root["/Pages"].raw_get("/Kids")[2]
        if not isinstance(page_ref, generic.IndirectObject):
            page_ref = writer.root["/Pages"]["/Kids"].raw_get(2)
        annot = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name(subtype),
                pdf_name("/Rect"): generic.ArrayObject(
                    map(generic.FloatObject, (60, 580, 300, 620))
                ),
                pdf_name("/F"): generic.NumberObject(4),
            }
        )
        for key, value in entries.items():
            annot[pdf_name(f"/{key}")] = value(writer) if callable(value) else value
        writer.register_annotation(page_ref, writer.add_object(annot))

    return add


def appearance(writer):
    stream = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(map(generic.NumberObject, (0, 0, 240, 40))),
        },
        stream_data=b"q 1 1 1 rg 0 0 240 40 re f Q",
    )
    return generic.DictionaryObject({pdf_name("/N"): writer.add_object(stream)})


def text_field(writer):
    """A filled text field with its widget on the score page, in the document's form."""
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(2)
    field = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/FT"): pdf_name("/Tx"),
                pdf_name("/T"): pdf_string("diem"),
                pdf_name("/V"): pdf_string("9,9"),
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name("/Widget"),
                pdf_name("/Rect"): generic.ArrayObject(
                    map(generic.NumberObject, (60, 580, 300, 620))
                ),
                pdf_name("/AP"): appearance(writer),
                pdf_name("/P"): page_ref,
            }
        )
    )
    root = writer.root
    if "/AcroForm" in root:
        form = root["/AcroForm"]
        form["/Fields"].append(field)
        writer.update_container(form["/Fields"])
        writer.update_container(form)
    else:
        root[pdf_name("/AcroForm")] = writer.add_object(
            generic.DictionaryObject({pdf_name("/Fields"): generic.ArrayObject([field])})
        )
        writer.update_root()
    writer.register_annotation(page_ref, field)


def open_action(writer):
    writer.root[pdf_name("/OpenAction")] = generic.DictionaryObject(
        {
            pdf_name("/S"): pdf_name("/JavaScript"),
            pdf_name("/JS"): pdf_string("app.alert('Hợp lệ')"),
        }
    )
    writer.update_root()


def info_entry(key: str, value: str) -> Callable[[IncrementalPdfFileWriter], None]:
    def change(writer):
        info = writer.trailer["/Info"]
        info[pdf_name(key)] = pdf_string(value)
        writer.update_container(info)

    return change


def xmp_text(old: bytes, new: bytes) -> Callable[[IncrementalPdfFileWriter], None]:
    def change(writer):
        stream = writer.root.raw_get("/Metadata").get_object()
        data = stream.data
        assert old in data
        stream._data = data.replace(old, new)
        stream._encoded_data = None
        writer.update_container(stream)

    return change


OTHER_NAME = "Nguyễn Thị Ánh — Học sinh Giỏi".encode()
CHANGES = {
    "a content stream painted over a page": (paint_over, {"PDF_PAGE_CONTENT_CHANGED"}),
    "a page's content stream replaced": (replace_content, {"PDF_PAGE_CONTENT_CHANGED"}),
    "a page added": (add_page, {"PDF_PAGE_ADDED"}),
    "a free text annotation": (
        annotation("/FreeText", Contents=pdf_string("9,9"), DA=pdf_string("/Helv 12 Tf 0 g")),
        {"PDF_ANNOTATION_ADDED"},
    ),
    "a stamp with an appearance": (annotation("/Stamp", AP=appearance), {"PDF_ANNOTATION_ADDED"}),
    "a filled form field with its widget": (
        text_field,
        {"PDF_ANNOTATION_ADDED", "PDF_FORM_FIELD_ADDED"},
    ),
    "an action run on opening": (open_action, {"PDF_CATALOG_CHANGED"}),
    "another title in the Info dictionary": (
        info_entry("/Title", "HỌC BẠ — Học sinh Giỏi"),
        {"PDF_METADATA_CHANGED"},
    ),
    "keywords naming another layout version": (
        info_entry("/Keywords", "hocba-view:0, https://hocba.example.vn/xac-minh"),
        {"PDF_METADATA_CHANGED"},
    ),
    "keywords naming another verification address": (
        info_entry("/Keywords", "hocba-view:3, https://xac-minh.example.com/a/1?h=0"),
        {"PDF_METADATA_CHANGED"},
    ),
    "another title in the XMP packet": (
        xmp_text("Nguyễn Thị Ánh — 2024-2025".encode(), OTHER_NAME),
        {"PDF_METADATA_CHANGED"},
    ),
    "an object that nothing refers to": (
        lambda writer: writer.add_object(generic.DictionaryObject({pdf_name("/A"): PAINT_TEXT})),
        {"PDF_UPDATE_NOT_ALLOWED"},
    ),
    "other keywords in the XMP packet": (
        xmp_text(b"<pdf:Keywords>hocba-view:3", b"<pdf:Keywords>hocba-view:0"),
        {"PDF_METADATA_CHANGED"},
    ),
}


@pytest.mark.parametrize("when", ["between the drawing and the seal", "after the seal"])
@pytest.mark.parametrize("what", list(CHANGES))
def test_anything_added_to_a_sealed_view_besides_signatures_is_tampering_and_named(
    verifier, sealer, drawing, sealed, what, when
):
    change, codes = CHANGES[what]
    if when == "after the seal":
        attacked = updated(sealed, change)
    else:
        attacked = sealer.seal(updated(drawing, change))
    report = verifier.verify(attacked)
    assert report.verdict == "TAMPERED", failing(report)
    named = failing(report).get("view_matches_xml", set())
    assert named & codes, named
    # the school's seal itself is intact, trusted and the school's: it is the pages that lie
    assert report.checks[0].status == "PASS"


def visible_seal(school_key, pki, pdf: bytes, field_name: str) -> bytes:
    """A seal whose field shows a stamp over the score table."""
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=pyhanko_signer(*school_key),
        new_field_spec=fields.SigFieldSpec(field_name, on_page=2, box=(40, 300, 560, 720)),
        stamp_style=TextStampStyle(stamp_text="Điểm cả năm: 9,9"),
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    return pdf_signer.sign_pdf(writer).getvalue()


def test_a_seal_whose_field_paints_over_the_page_is_tampering(verifier, pki, school_key, drawing):
    report = verifier.verify(visible_seal(school_key, pki, drawing, FIELD))
    assert report.verdict == "TAMPERED"
    assert "PDF_VISIBLE_SIGNATURE" in failing(report)["view_matches_xml"]


def test_a_visible_signature_added_after_the_seal_is_tampering(verifier, pki, school_key, sealed):
    report = verifier.verify(visible_seal(school_key, pki, sealed, "XacNhan"))
    assert report.verdict == "TAMPERED"
    assert "PDF_VISIBLE_SIGNATURE" in failing(report)["view_matches_xml"]
    assert "PDF_OTHER_SIGNATURE" in failing(report)["pdf_signature"]


def test_an_invisible_signature_by_someone_else_is_tampering(verifier, pki, sealed):
    other = signers.PdfSigner(
        signers.PdfSignatureMetadata(field_name="Khac", subfilter=fields.SigSeedSubFilter.PADES),
        signer=pyhanko_signer(*pki.issue_org("0100000000", "Trường khác")),
    )
    attacked = other.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(sealed), strict=False))
    report = verifier.verify(attacked.getvalue())
    assert report.verdict == "TAMPERED"
    assert failing(report) == {"pdf_signature": {"PDF_OTHER_SIGNATURE"}}


def test_the_drawing_must_be_the_first_revision_not_only_the_first_bytes(verifier, sealer, drawing):
    # the genuine drawing, then a complete document of its own (no link to the drawing's
    # cross-reference table) with a page painted over: a reader sees only the second
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    writer = copy_into_new_writer(PdfFileReader(io.BytesIO(drawing), strict=False))
    writer.add_stream_to_page(2, writer.add_object(generic.StreamObject(stream_data=PAINT)))
    out = io.BytesIO()
    writer.write(out)
    attacked = drawing + b"\n" + _shifted(out.getvalue(), len(drawing) + 1)
    assert PdfFileReader(io.BytesIO(attacked), strict=False).xrefs.total_revisions == 1
    report = verifier.verify(sealer.seal(attacked))
    assert report.verdict == "TAMPERED"
    assert "VIEW_MISMATCH" in failing(report)["view_matches_xml"]


def _shifted(pdf: bytes, by: int) -> bytes:
    """A PDF with a classic cross-reference table moved `by` bytes further into a file."""
    xref = pdf.rindex(b"\nxref\n") + 1
    table_end = pdf.index(b"trailer", xref)
    table = re.sub(
        rb"(?m)^(\d{10}) (\d{5}) n",
        lambda m: b"%010d %s n" % (int(m.group(1)) + by, m.group(2)),
        pdf[xref:table_end],
    )
    tail = re.sub(
        rb"startxref\s+(\d+)", lambda m: b"startxref\n%d" % (int(m.group(1)) + by), pdf[table_end:]
    )
    return pdf[:xref] + table + tail


# --- what other readers show: every byte after the drawing ----------------------------------


RED = b"q 1 0 0 rg 0 0 600 850 re f Q"


def paint_every_page_red(writer):
    for page in range(int(writer.root["/Pages"]["/Count"])):
        writer.add_stream_to_page(page, writer.add_object(generic.StreamObject(stream_data=RED)))


def last_startxref(pdf: bytes) -> int:
    return int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])


def poppler(pdf: bytes) -> tuple[list[bytes], list[bytes]]:
    """What poppler shows of `pdf`: the text of each page (pdftotext) and each page drawn at
    9 dpi (pdftoppm); nothing when it cannot open the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "view.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(
            [require_tool("pdftotext"), "-layout", str(path), "-"], capture_output=True
        ).stdout
        subprocess.run(
            [require_tool("pdftoppm"), "-r", "9", str(path), str(Path(folder) / "page")],
            capture_output=True,
        )
        images = [page.read_bytes() for page in sorted(Path(folder).glob("page-*.ppm"))]
    return text.split(b"\f"), images


def mostly_red(image: bytes) -> bool:
    pixels = image[-3 * 60 * 60 :]  # the bottom rows of a PPM page
    red = sum(
        1
        for at in range(0, len(pixels) - 2, 3)
        if pixels[at] > 200 and pixels[at + 1] < 60 and pixels[at + 2] < 60
    )
    return red > len(pixels) // 3 * 0.9


@pytest.fixture(scope="module")
def red_update(sealed):
    """The sealed view with an incremental update painting every page red."""
    return updated(sealed, paint_every_page_red)


POINTERS = {
    "on the line of the last %%EOF": b" startxref %d\n",
    "on the next line": b"\nstartxref\n%d\n",
    "after a NUL byte": b"\x00startxref\n%d\n",
    "in a comment": b"\n%% startxref %d\n",
    "after spaces, with no end of line": b"   startxref\t%d",
    "followed by a second %%EOF after carriage returns": b"\rstartxref\r%d\r%%%%EOF",
}
"""How the file goes on after the seal's own `startxref S %%EOF`, naming the update's table."""


@pytest.mark.parametrize("pointer", list(POINTERS.values()), ids=list(POINTERS))
def test_an_update_whose_pointer_only_other_readers_follow_is_tampering(
    verifier, sealed, red_update, pointer
):
    # the file ends with the seal's pointer and %%EOF, so pyHanko sees the drawing and the seal;
    # poppler, MuPDF and pdf.js take the last `startxref` and show the red pages
    body = red_update[: red_update.rindex(b"startxref")]
    ending = b"startxref\n%d\n%%%%EOF" % last_startxref(sealed)
    attacked = body + ending + pointer % last_startxref(red_update)
    assert all(mostly_red(page) for page in poppler(attacked)[1])
    report = verifier.verify(attacked)
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report)["view_matches_xml"] & {"PDF_TRAILING_DATA", "PDF_UNLISTED_OBJECT"}


@pytest.mark.parametrize(
    "tail",
    [b"garbage", b"\x00" * 3 + b"1 0 obj", b"<< /Root 42 0 R >>", b"%PDF-1.7\n", b"\n%%EO"],
)
def test_anything_but_whitespace_after_the_last_eof_is_tampering(verifier, sealed, tail):
    report = verifier.verify(sealed + tail)
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report)["view_matches_xml"] == {"PDF_TRAILING_DATA"}


def test_whitespace_after_the_last_eof_is_nothing(verifier, sealed):
    report = verifier.verify(sealed + b"\r\n \t\x00\n")
    assert report.verdict == "VALID", failing(report)


def restamped(writer):
    """An update pyHanko allows: the information dictionary written again with a new date."""
    writer.update_container(writer.trailer["/Info"])


def with_producer(pdf: bytes, text: bytes) -> bytes:
    """`pdf` with an update written by hand: the information dictionary again, its producer a
    literal string holding `text` byte for byte (a new producer is allowed)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    info_ref = reader.trailer.raw_get("/Info").reference
    info = generic.DictionaryObject(
        {k: v for k, v in reader.trailer["/Info"].items() if k != "/Producer"}
    )
    written = io.BytesIO()
    info.write_to_stream(written)
    body = written.getvalue()[:-2] + b"/Producer (" + text + b")>>"
    at = len(pdf)
    update = b"%d 0 obj\n%s\nendobj\n" % (info_ref.idnum, body)
    xref = at + len(update)
    update += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (info_ref.idnum, at)
    update += b"trailer\n<</Size %d/Root %d 0 R/Info %d 0 R/Prev %d>>\n" % (
        int(reader.trailer["/Size"]),
        reader.trailer.raw_get("/Root").reference.idnum,
        info_ref.idnum,
        reader.last_startxref,
    )
    return pdf + update + b"startxref\n%d\n%%%%EOF\n" % xref


def inserted_before_the_update(pdf: bytes, before: int, blob: bytes) -> bytes:
    """`pdf`, whose last update begins at `before`, with `blob` inserted there and the update's
    table and pointer moved along: the table lists none of it."""
    moved = _shifted(pdf, len(blob))
    return moved[:before] + blob + moved[before:]


@pytest.fixture(scope="module")
def red_objects(sealed, red_update):
    """The objects of the red update (pages pointing at red content streams), without their
    table: a reader that rebuilds the cross-reference data takes the last of each object."""
    return red_update[len(sealed) : red_update.rindex(b"\nxref\n") + 1]


def hidden_in_an_update(sealed, red_objects):
    return inserted_before_the_update(updated(sealed, restamped), len(sealed), red_objects)


def hidden_in_a_string(sealed, red_objects):
    return with_producer(sealed, b"\n" + red_objects)


def hidden_trailer_in_a_string(sealed, red_objects):
    return with_producer(sealed, b"\ntrailer\n<</Root 42 0 R/Size 60>>\n")


def hidden_end_in_a_string(sealed, red_objects):
    return with_producer(sealed, b"\nstartxref\n%d\n%%%%EOF\n" % last_startxref(sealed))


def hidden_in_the_xmp_packet(sealed, red_objects):
    comment = b"<!-- " + red_objects.replace(b"--", b"- -") + b" -->"
    return updated(sealed, xmp_text(b"<x:xmpmeta", comment + b"<x:xmpmeta"), restamp=False)


def hidden_between_trailer_and_pointer(sealed, red_objects):
    pdf = updated(sealed, restamped)
    at = pdf.rindex(b"startxref")
    return pdf[:at] + red_objects + pdf[at:]


HIDDEN = {
    "objects before an allowed update's own objects": hidden_in_an_update,
    "objects in the producer string of an allowed update": hidden_in_a_string,
    "a trailer in the producer string": hidden_trailer_in_a_string,
    "a startxref and %%EOF in the producer string": hidden_end_in_a_string,
    "objects in a comment of a rewritten XMP packet": hidden_in_the_xmp_packet,
    "objects between the trailer and startxref": hidden_between_trailer_and_pointer,
}


@pytest.mark.parametrize("hide", list(HIDDEN.values()), ids=list(HIDDEN))
def test_objects_or_structure_hidden_in_an_allowed_update_are_tampering(
    verifier, sealed, red_objects, hide
):
    attacked = hide(sealed, red_objects)
    report = verifier.verify(attacked)
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report)["view_matches_xml"] == {"PDF_UNLISTED_OBJECT"}


def listed_elsewhere(sealed: bytes) -> bytes:
    """An update whose table lists the information dictionary where the drawing has it (in
    another revision's bytes) and writes nothing."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfFileReader(io.BytesIO(sealed), strict=False)
    info = reader.trailer.raw_get("/Info").reference
    offset = reader.xrefs.get_historical_ref(info, 0)
    xref = len(sealed)
    update = b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n" % (info.idnum, offset)
    update += b"trailer\n<</Size %d/Root %d 0 R/Info %d 0 R/Prev %d>>\n" % (
        int(reader.trailer["/Size"]),
        reader.trailer.raw_get("/Root").reference.idnum,
        info.idnum,
        reader.last_startxref,
    )
    return sealed + update + b"startxref\n%d\n%%%%EOF\n" % xref


def test_an_update_listing_an_object_outside_its_own_bytes_is_tampering(verifier, sealed):
    report = verifier.verify(listed_elsewhere(sealed))
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report)["view_matches_xml"] == {"PDF_UNLISTED_OBJECT"}


def test_an_update_with_a_cross_reference_stream_is_not_allowed(verifier, sealed):
    # every update after the drawing is written as a table, as pyHanko writes it for a view
    def change(writer):
        writer.stream_xrefs = True
        restamped(writer)

    report = verifier.verify(updated(sealed, change))
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report)["view_matches_xml"] == {"PDF_UPDATE_NOT_ALLOWED"}


def test_objects_hidden_between_the_drawing_and_the_seal_are_tampering(verifier, sealer, drawing):
    page = updated(drawing, paint_over)
    objects = page[len(drawing) : page.rindex(b"\nxref\n") + 1]
    attacked = sealer.seal(inserted_before_the_update(updated(drawing, restamped), len(drawing),
                                                      objects))  # fmt: skip
    report = verifier.verify(attacked)
    assert report.verdict == "TAMPERED", failing(report)
    assert "PDF_UNLISTED_OBJECT" in failing(report)["view_matches_xml"]


@pytest.mark.parametrize(
    "allowed",
    [lambda sealed: updated(sealed, restamped), lambda sealed: with_producer(sealed, b"Typst")],
    ids=["by pyHanko", "by hand"],
)
def test_an_allowed_update_written_plainly_stays_valid(verifier, sealed, allowed):
    report = verifier.verify(allowed(sealed))
    assert report.verdict == "VALID", failing(report)


@pytest.fixture(scope="module")
def shown(sealed):
    """What poppler shows of the genuine sealed view (the drawing: the seal shows nothing)."""
    return poppler(sealed)


@pytest.fixture(scope="module")
def pieces(sealed, red_update, red_objects):
    seal_at, update_at = last_startxref(sealed), last_startxref(red_update)
    body = red_update[len(sealed) : red_update.rindex(b"startxref")]
    return {
        "the red update": red_update[len(sealed) :],
        "the red update's objects and table": body,
        "the red update's objects": red_objects,
        "the seal's ending": b"startxref\n%d\n%%%%EOF" % seal_at,
        "the red update's ending": b"startxref\n%d\n%%%%EOF" % update_at,
        "the red update's pointer": b"startxref %d" % update_at,
        "startxref": b"startxref",
        "%%EOF": b"%%EOF",
        "a trailer": b"trailer\n<</Root 42 0 R/Size 60/Prev %d>>" % seal_at,
        "whitespace": b" ",
        "end of line": b"\n",
        "carriage return": b"\r",
        "NUL": b"\x00",
        "comment": b"%",
    }


PIECE_NAMES = st.sampled_from(
    [
        "the red update",
        "the red update's objects and table",
        "the red update's objects",
        "the seal's ending",
        "the red update's ending",
        "the red update's pointer",
        "startxref",
        "%%EOF",
        "a trailer",
        "whitespace",
        "end of line",
        "carriage return",
        "NUL",
        "comment",
    ]
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    names=st.lists(PIECE_NAMES | st.binary(min_size=1, max_size=8), min_size=1, max_size=5),
    where=st.sampled_from(["at the end", "before an allowed update"]),
)
@example(names=["the red update's objects and table", "the seal's ending", "whitespace",
                "the red update's pointer"], where="at the end")  # fmt: skip
@example(names=["the red update's objects"], where="before an allowed update")
def test_a_view_that_verifies_shows_in_poppler_exactly_the_drawing(
    verifier, sealed, pieces, shown, names, where
):
    blob = b"".join(pieces[n] if isinstance(n, str) else n for n in names)
    if where == "at the end":
        attacked = sealed + blob
    else:
        attacked = inserted_before_the_update(updated(sealed, restamped), len(sealed), blob)
    report = verifier.verify(attacked)
    assert report.verdict in VERDICTS
    event(report.verdict)
    if report.verdict == "VALID":
        assert poppler(attacked) == shown


# --- the drawing names its layout and its address -------------------------------------------


@pytest.fixture(scope="module")
def renderer():
    return Renderer(BASE)


def drawn_otherwise(renderer, signed, **view) -> bytes:
    """Pages drawn by the seal keeper from a record with another score, with the genuine signed
    XML attached, the view data changed as given (the drawing is theirs entirely)."""
    changed = signed.replace(b"<DIEM_CA_NAM>8.3</DIEM_CA_NAM>", b"<DIEM_CA_NAM>9.9</DIEM_CA_NAM>")
    assert changed != signed
    data, when = view_of(changed, BASE)
    data = {**data, **view}
    return renderer.render_view(data, signed, qr_svg(data["address"]), when)


LAYOUTS = ["x3", "2", "4", "3a", "03", "", "3 "]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_view_naming_a_layout_this_verifier_cannot_draw_is_tampering(
    verifier, sealer, renderer, signed, layout
):
    attacked = sealer.seal(drawn_otherwise(renderer, signed, view_version=layout))
    assert f"hocba-view:{layout},".encode() in attacked
    report = verifier.verify(attacked)
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report) == {"view_matches_xml": {"VIEW_LAYOUT_UNKNOWN"}}
    check = next(c for c in report.checks if c.code == "VIEW_LAYOUT_UNKNOWN")
    assert check.message() == MESSAGES[Code.VIEW_LAYOUT_UNKNOWN].vi
    assert "hãy dùng tệp XML" in check.message()


@pytest.mark.parametrize(
    "address", ["", "https://hocba.example.vn/xac-minh", "hocba-view:3", "a/b/1?h=xyz"]
)
def test_a_view_whose_keywords_name_no_verification_address_is_tampering(
    verifier, sealer, renderer, signed, address
):
    report = verifier.verify(sealer.seal(drawn_otherwise(renderer, signed, address=address)))
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report) == {"view_matches_xml": {"VIEW_MISMATCH"}}


FOREIGN_SITES = [
    "https://xac-minh.example.com/hocba",
    "http://hocba.example.vn/xac-minh",
    "https://hocba.example.vn.example.com/xac-minh",
    "https://hocba.example.vn/xac-minh/gia",
    "https://hocba.example.vn@lua-dao.example/xac-minh",
    "https://hocba.example.vn/xac-minh?",
]


@pytest.mark.parametrize("site", FOREIGN_SITES)
def test_a_view_whose_qr_code_leads_to_an_unknown_site_is_tampering(
    verifier, sealer, renderer, signed, site, tmp_path
):
    attacked = sealer.seal(renderer.render(signed, verify_base=site))
    report = verifier.verify(attacked)
    assert report.verdict == "TAMPERED", failing(report)
    assert failing(report) == {"view_matches_xml": {"VIEW_ADDRESS_UNKNOWN"}}
    check = next(c for c in report.checks if c.code == "VIEW_ADDRESS_UNKNOWN")
    assert check.message() == MESSAGES[Code.VIEW_ADDRESS_UNKNOWN].vi
    assert check.address == site.rstrip("/")


OTHER_INSTANCE = "https://hocba.phutho.example.vn/xac-minh"


def test_a_view_of_another_configured_instance_verifies(pki, sealer, renderer, signed):
    trust = TrustStore.from_pem(
        [(pki.path / "ca/root.pem").read_bytes()], [(pki.path / "ca/issuing.pem").read_bytes()]
    )
    checker = RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False)
    verifier = PdfVerifier(Verifier(trust, checker), verify_urls=[BASE, OTHER_INSTANCE + "/"])
    report = verifier.verify(sealer.seal(renderer.render(signed, verify_base=OTHER_INSTANCE)))
    assert report.verdict == "VALID", failing(report)


def test_the_verification_sites_are_this_deployments_and_the_configured_ones(
    pki, sealer, renderer, signed, settings
):
    settings.VERIFY_URL = OTHER_INSTANCE
    settings.TRUSTED_VERIFY_URLS = [BASE]
    trust = TrustStore.from_pem(
        [(pki.path / "ca/root.pem").read_bytes()], [(pki.path / "ca/issuing.pem").read_bytes()]
    )
    verifier = PdfVerifier(
        Verifier(trust, RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False))
    )
    for site, verdict in [
        (OTHER_INSTANCE, "VALID"),
        (BASE, "VALID"),
        (FOREIGN_SITES[0], "TAMPERED"),
    ]:
        report = verifier.verify(sealer.seal(renderer.render(signed, verify_base=site)))
        assert report.verdict == verdict, (site, failing(report))


def test_the_trusted_verification_sites_are_read_from_the_environment(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c",
         "from hocba.config import settings; print(settings.TRUSTED_VERIFY_URLS)"],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "HOCBA_DATA_DIR": str(tmp_path),
            "HOCBA_TRUSTED_VERIFY_URLS": " https://a.example.vn/xac-minh , ,https://b.example/x ",
        },
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['https://a.example.vn/xac-minh', 'https://b.example/x']"


# --- the seal's certificate and identity -----------------------------------------------------


def verifier_of(pki, checker: RevocationChecker) -> PdfVerifier:
    trust = TrustStore.from_pem(
        [(pki.path / "ca/root.pem").read_bytes()], [(pki.path / "ca/issuing.pem").read_bytes()]
    )
    return PdfVerifier(Verifier(trust, checker), verify_urls=[BASE])


@pytest.mark.parametrize("source", ["crl", "ocsp"])
def test_a_seal_whose_certificate_was_revoked_before_sealing_is_a_revoked_certificate(
    pki, drawing, source
):
    # another certificate of the same school (the XML's own seal is by a good one)
    key, cert = pki.issue_org(TAX, SCHOOL)
    pki.revoke(cert, dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    attacked = Sealer(Pkcs12Signer(key, cert), [pki.issuing], SCHOOL).seal(drawing)
    checker = (
        RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False)
        if source == "crl"
        else RevocationChecker(use_ocsp=True)
    )
    report = verifier_of(pki, checker).verify(attacked)
    assert report.verdict == "REVOKED_CERTIFICATE", failing(report)
    assert failing(report) == {"pdf_signature": {"PDF_SIGNER_REVOKED"}}
    assert report.checks[0].source == source


def test_a_seal_whose_certificate_was_revoked_after_sealing_still_verifies(pki, drawing):
    # the rule of the XML's signatures: a revocation after the time of signing does not undo it,
    # when its reason cannot be a stolen key (the school replaced its certificate)
    key, cert = pki.issue_org(TAX, SCHOOL)
    sealed = Sealer(Pkcs12Signer(key, cert), [pki.issuing], SCHOOL).seal(drawing)
    pki.revoke(
        cert, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10), x509.ReasonFlags.superseded
    )
    checker = RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False)
    report = verifier_of(pki, checker).verify(sealed)
    assert report.verdict == "VALID", failing(report)
    assert report.checks[0].revocation == "crl"


def test_a_seal_whose_key_was_compromised_fails_whatever_time_the_seal_claims(pki, drawing):
    # without a time stamp the time of the seal is the seal keeper's word: a key revoked for
    # compromise (or for no stated reason) may have sealed this yesterday or today
    key, cert = pki.issue_org(TAX, SCHOOL)
    sealed = Sealer(Pkcs12Signer(key, cert), [pki.issuing], SCHOOL).seal(drawing)
    pki.revoke(
        cert, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10), x509.ReasonFlags.key_compromise
    )
    checker = RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False)
    report = verifier_of(pki, checker).verify(sealed)
    assert report.verdict == "REVOKED_CERTIFICATE", failing(report)
    assert failing(report) == {"pdf_signature": {"PDF_SIGNER_REVOKED"}}


def test_a_seal_whose_revocation_nobody_answers_is_indeterminate(pki, sealed):
    report = verifier_of(pki, RevocationChecker(use_ocsp=False)).verify(sealed)
    assert report.verdict == "INDETERMINATE", failing(report)
    seal = report.checks[0]
    assert (seal.check, seal.status, seal.code) == (
        "pdf_signature",
        "UNKNOWN",
        "PDF_SIGNER_REVOCATION_UNKNOWN",
    )


def test_a_record_without_a_tax_code_accepts_no_seal(pki, school_key, sealer, renderer):
    record = sample_record()
    record = dataclasses.replace(record, school=dataclasses.replace(record.school, tax_code=""))
    people = {
        slot: Pkcs12Signer(*pki.issue_person(pid, name))
        for slot, pid, name in (
            ("GVBM", "025085001234", "Nguyễn Thị Hoa"),
            ("GVCN", "025085004321", "Lê Văn Chủ"),
            ("CBQL", "025070001111", "Đỗ Gia Tuấn"),
        )
    }
    people["KY_PHAT_HANH"] = Pkcs12Signer(*school_key)
    signed = sign_all(build(record), ["TOAN", "GDTC"], lambda slot, _: people[slot])
    assert b"MA_SO_THUE" not in signed
    report = verifier_of(pki, RevocationChecker(use_ocsp=False)).verify(
        sealer.seal(renderer.render(signed))
    )
    assert report.verdict == "UNTRUSTED_SIGNER", failing(report)
    assert failing(report)["pdf_signature"] == {"PDF_SIGNER_MISMATCH"}


def untrusted_seal(drawing):
    other = create(Path(tempfile.mkdtemp(prefix="hocba-other-pki-")))
    return Sealer(Pkcs12Signer(*other.issue_org(TAX, SCHOOL)), [other.issuing]).seal(drawing)


SEAL_FAILURES = {
    "an untrusted seal": (lambda pki, drawing, sealed: untrusted_seal(drawing),
                          "PDF_SIGNER_UNTRUSTED"),
    "another school's seal": (
        lambda pki, drawing, sealed: Sealer(
            Pkcs12Signer(*pki.issue_org("0100000000", "Trường khác")), [pki.issuing]
        ).seal(drawing),
        "PDF_SIGNER_MISMATCH",
    ),
    "a broken seal": (
        lambda pki, drawing, sealed: sealed.replace(b"/Type/Pages", b"/Type/Pagez", 1),
        "PDF_SIGNATURE_INVALID",
    ),
}  # fmt: skip


@pytest.mark.parametrize("what", list(SEAL_FAILURES))
def test_a_view_whose_seal_fails_is_not_drawn_again(
    verifier, pki, drawing, sealed, what, monkeypatch
):
    make, code = SEAL_FAILURES[what]
    attacked = make(pki, drawing, sealed)
    drawn = []
    original = Renderer.render

    def counting(self, *args, **kwargs):
        drawn.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Renderer, "render", counting)
    report = verifier.verify(attacked)
    assert report.verdict != "VALID"
    assert code in failing(report)["pdf_signature"]
    view = [c for c in report.checks if c.check == "view_matches_xml"]
    assert [(c.status, c.code) for c in view] == [("UNKNOWN", "VIEW_NOT_COMPARED")]
    assert drawn == []


# --- limits ----------------------------------------------------------------------------------


def bomb(size: int) -> bytes:
    """`size` bytes of spaces deflated, without holding them in memory."""
    packer = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    parts = [packer.compress(chunk) for _ in range(size >> 20)]
    return b"".join(parts) + packer.flush()


def attach(xml_stream: bytes) -> Callable[[IncrementalPdfFileWriter], None]:
    """The drawing's attached XML replaced by a deflated stream."""

    def change(writer):
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
        stream = names[1].get_object()["/EF"]["/F"].get_object()
        stream._encoded_data = xml_stream
        stream._data = None
        stream[pdf_name("/Filter")] = pdf_name("/FlateDecode")
        stream[pdf_name("/Length")] = generic.NumberObject(len(xml_stream))
        writer.update_container(stream)

    return change


def peak_memory_of(action):
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.fixture(scope="module")
def xml_bomb(drawing):
    """The drawing with its attached XML replaced by one that inflates to 256 MiB."""
    return updated(drawing, attach(bomb(256 * limits.MiB)))


@pytest.mark.parametrize("where", ["first revision", "sealed update", "unsealed update"])
def test_an_attached_xml_that_inflates_to_256_mib_is_refused_while_inflating(
    verifier, sealer, xml_bomb, where
):
    attacked = {
        "first revision": lambda: _as_first_revision(xml_bomb),
        "sealed update": lambda: sealer.seal(xml_bomb),
        "unsealed update": lambda: xml_bomb,
    }[where]()
    report, peak = peak_memory_of(lambda: verifier.verify(attacked))
    assert peak < 4 * limits.RECORD_XML_BYTES, peak
    if where == "unsealed update":  # only the drawing's own XML is read: a copy without seal
        assert failing(report) == {"pdf_signature": {"PDF_NOT_SEALED"}}
    else:
        assert report.verdict == "MALFORMED", failing(report)
        assert failing(report) == {"embedded_xml": {"EMBEDDED_XML_TOO_LARGE"}}


def test_metadata_that_inflates_without_bound_is_refused_while_inflating(verifier, sealed):
    def change(writer):
        stream = writer.root.raw_get("/Metadata").get_object()
        packed = bomb(64 * limits.MiB)
        stream._encoded_data = packed
        stream._data = None
        stream[pdf_name("/Filter")] = pdf_name("/FlateDecode")
        stream[pdf_name("/Length")] = generic.NumberObject(len(packed))
        writer.update_container(stream)

    attacked = updated(sealed, change, restamp=False)
    report, peak = peak_memory_of(lambda: verifier.verify(attacked))
    assert report.verdict == "TAMPERED"
    assert failing(report)["view_matches_xml"] == {"PDF_METADATA_CHANGED"}
    assert peak < 4 * limits.RECORD_XML_BYTES, peak


def _as_first_revision(pdf: bytes) -> bytes:
    """The same document written out as one revision (no history)."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.pdf_utils.writer import copy_into_new_writer

    out = io.BytesIO()
    copy_into_new_writer(PdfFileReader(io.BytesIO(pdf), strict=False)).write(out)
    return out.getvalue()


def test_an_attached_xml_just_over_the_record_limit_is_refused(verifier, drawing):
    xml = b"<HOC_BA>" + b"".join(b"<X>%d</X>" % i for i in range(400_000)) + b"</HOC_BA>"
    assert len(xml) > limits.RECORD_XML_BYTES
    report = verifier.verify(_as_first_revision(updated(drawing, attach(zlib.compress(xml)))))
    assert report.verdict == "MALFORMED"
    assert failing(report) == {"embedded_xml": {"EMBEDDED_XML_TOO_LARGE"}}


def test_an_update_writing_more_objects_than_a_view_ever_needs_is_refused_unread(verifier, sealed):
    def many(writer):
        for n in range(limits.PDF_UPDATE_OBJECTS + 1):
            writer.add_object(generic.DictionaryObject({pdf_name("/N"): generic.NumberObject(n)}))

    report = verifier.verify(updated(sealed, many))
    assert report.verdict == "TAMPERED"
    assert failing(report)["view_matches_xml"] == {"PDF_UPDATE_NOT_ALLOWED"}


def test_more_revisions_than_a_view_ever_has_are_refused(verifier, sealed):
    pdf = sealed
    for _ in range(limits.PDF_REVISIONS):
        pdf = updated(pdf, lambda writer: writer.update_root())
    report = verifier.verify(pdf)
    assert report.verdict == "MALFORMED"
    assert failing(report) == {"pdf_signature": {"PDF_TOO_MANY_REVISIONS"}}


# --- unusable input --------------------------------------------------------------------------


def byte_range_rewritten(sealed: bytes, value: bytes) -> bytes:
    start = sealed.rindex(b"/ByteRange")
    end = sealed.index(b"]", start) + 1
    old = sealed[start:end]
    new = b"/ByteRange " + value
    return sealed[:start] + new.ljust(len(old))[: max(len(old), len(new))] + sealed[end:]


BYTE_RANGES = [
    b"[0 10 20 30]",
    b"[0 99999999 99999999 99999999]",
    b"[-5 10 20 -30]",
    b"[0 1.5 (x) /Y]",
    b"[]",
    b"(not an array)",
    b"[0 0 0 0]",
]


@pytest.mark.parametrize("value", BYTE_RANGES, ids=[v.decode() for v in BYTE_RANGES])
def test_a_rewritten_byte_range_is_malformed(verifier, sealed, value):
    report = verifier.verify(byte_range_rewritten(sealed, value))
    assert report.verdict == "MALFORMED", report
    assert failing(report)["pdf_signature"] & {"PDF_BYTE_RANGE_INVALID", "PDF_UNREADABLE"}


def mangled(sealed: bytes) -> dict[str, bytes]:
    xref = sealed.rindex(b"\nxref") + 1
    return {
        "cut in half": sealed[: len(sealed) // 2],
        "cut before the end": sealed[:-7],
        "no cross-reference table": sealed[:xref] + b"garbage" + sealed[xref + 4 :],
        "a catalog that is a number": sealed.replace(b"/Root 42 0 R", b"/Root 42    "),
        "pages that are a string": sealed.replace(b"/Type/Pages", b"/Type(Pages)", 1),
        "no page tree": sealed.replace(b"/Pages 1 0 R", b"/Pages 9 9 R", 1),
        "an attachment that is a number": sealed.replace(b"/EF<</F 37 0 R", b"/EF<</F 37    ", 1),
        "header only": b"%PDF-1.7\n%%EOF",
    }


def test_mangled_views_give_a_report(verifier, sealed):
    for name, pdf in mangled(sealed).items():
        assert pdf != sealed, name
        report = verifier.verify(pdf)
        assert report.verdict in VERDICTS and report.verdict != "VALID", name
        assert report.checks, name


ANCHORS = (b"/ByteRange", b"/Contents", b"startxref", b"\nxref", b"/Root", b"/Size", b"/Prev")
"""Where a PDF's structure lives (and a record's: none of these, so the whole file instead)."""
SYNTAX = st.binary(max_size=12) | st.text("0123456789 -[]<>/R.()", max_size=12).map(str.encode)


def mutations(original: bytes):
    size = len(original)
    position = st.integers(0, size - 1)
    anchors = [m.start() for a in ANCHORS for m in re.finditer(re.escape(a), original)] or [0]
    near_structure = st.tuples(st.sampled_from(anchors), st.integers(0, 40), SYNTAX).map(
        lambda t: original[: t[0] + t[1]] + t[2] + original[t[0] + t[1] + len(t[2]) :]
    )
    truncate = position.map(lambda at: original[:at])
    flip = st.lists(st.tuples(position, st.integers(1, 255)), min_size=1, max_size=8).map(
        lambda flips: _flipped(original, flips)
    )
    splice = st.tuples(position, position, st.binary(max_size=64)).map(
        lambda t: original[: min(t[:2])] + t[2] + original[max(t[:2]) :]
    )
    move = st.tuples(position, position, st.integers(1, 4096)).map(
        lambda t: original[: t[0]] + original[t[1] : t[1] + t[2]] + original[t[0] :]
    )
    return st.one_of(truncate, flip, splice, move, near_structure, near_structure)


def _flipped(data: bytes, flips) -> bytes:
    out = bytearray(data)
    for at, mask in flips:
        out[at] ^= mask
    return bytes(out)


@pytest.fixture(scope="module")
def originals(sealed, signed):
    return {"pdf": sealed, "xml": signed}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_mutation_of_a_sealed_view_or_a_record_gives_a_report(verifier, originals, data):
    kind = data.draw(st.sampled_from(["pdf", "xml"]))
    mutated = data.draw(mutations(originals[kind]))
    report = (
        verifier.verify(mutated)
        if mutated.startswith(b"%PDF")
        else verifier.verifier.verify(mutated)
    )
    assert report.verdict in VERDICTS
    assert isinstance(report.checks, tuple) and report.checks
    if report.verdict == "VALID":
        assert report.record is not None


# --- through the API and the command line ----------------------------------------------------


@pytest.fixture
def unlimited_uploads(settings):
    cache.clear()
    settings.VERIFY_LOOKUPS_PER_MINUTE = 1_000_000
    yield
    cache.clear()


@pytest.mark.django_db
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_api_answers_every_mutated_upload_with_json_never_a_500(
    client, unlimited_uploads, originals, data
):
    kind = data.draw(st.sampled_from(["pdf", "xml"]))
    mutated = data.draw(mutations(originals[kind]))
    response = client.post("/api/v1/verify", mutated, content_type=f"application/{kind}")
    assert response.status_code in (200, 400, 422), response.status_code
    body = response.json()
    if response.status_code == 422:
        assert body["error"]["code"] and body["error"]["message"]
        assert body["report"]["verdict"] == "MALFORMED"
    elif response.status_code == 200:
        assert body["verdict"] in VERDICTS and body["verdict"] != "MALFORMED"


@pytest.mark.django_db
@pytest.mark.parametrize("value", BYTE_RANGES[:3], ids=[v.decode() for v in BYTE_RANGES[:3]])
def test_the_api_answers_a_rewritten_byte_range_with_422_and_a_json_error(
    client, unlimited_uploads, sealed, value
):
    response = client.post(
        "/api/v1/verify", byte_range_rewritten(sealed, value), content_type="application/pdf"
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] in ("PDF_BYTE_RANGE_INVALID", "PDF_UNREADABLE")
    assert body["error"]["message"] == MESSAGES[Code(body["error"]["code"])].vi  # Vietnamese
    assert body["report"]["verdict"] == "MALFORMED"


@pytest.mark.django_db
def test_the_api_and_the_portal_answer_an_unreadable_pdf_as_malformed(
    client, unlimited_uploads, sealed
):
    cut = sealed[: len(sealed) // 3]
    response = client.post("/api/v1/verify", cut, content_type="application/pdf")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "PDF_UNREADABLE",
        "message": "Không đọc được tệp PDF",
    }
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = client.post("/xac-minh/", {"file": SimpleUploadedFile("hb.pdf", cut)})
    assert page.status_code == 422
    assert 'data-verdict="MALFORMED"' in page.content.decode()


@pytest.mark.django_db
def test_the_command_gives_exit_2_and_one_line_for_unusable_files(sealed, tmp_path):
    for name, pdf in {
        **mangled(sealed),
        "byte range": byte_range_rewritten(sealed, b"[0 99999999 99999999 99999999]"),
    }.items():
        path = tmp_path / "view.pdf"
        path.write_bytes(pdf)
        for extra in ([], ["--json"]):
            out = io.StringIO()
            try:
                call_command("verify", str(path), *extra, "--no-ocsp", stdout=out)
            except CommandError as error:
                assert error.returncode in (1, 2), name
                assert "\n" not in str(error), name
                if error.returncode == 2 and extra:
                    assert json.loads(out.getvalue())["verdict"] == "MALFORMED", name
            else:
                pytest.fail(f"{name}: accepted")


def test_the_command_line_prints_no_traceback_for_a_rewritten_byte_range(sealed, tmp_path):
    path = tmp_path / "view.pdf"
    path.write_bytes(byte_range_rewritten(sealed, b"[0 10 20 30]"))
    for extra in ([], ["--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "hocba.cli", "verify", *extra, str(path)],
            capture_output=True,
            text=True,
            env={**os.environ, "HOCBA_OCSP": "0", "HOCBA_DATA_DIR": str(tmp_path / "data")},
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
