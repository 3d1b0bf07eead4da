"""The printable view of a signed record, without a database: drawn from the XML, sealed with
the school's certificate, read back by poppler and zbar, and every kind of tampering named."""

from __future__ import annotations

import gc
import io
import json
import re
import struct
import subprocess

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers

from hocba.documents.pdfcheck import PdfVerifier
from hocba.documents.render import Renderer, RenderError, page_count, qr_svg, template_dir
from hocba.documents.seal import Sealer
from hocba.documents.view import short_hash, view_of
from hocba.formats import build
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


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    # the OCSP responder named in every certificate runs for the whole module: pdfsig asks it
    with LoopbackServer(lambda e, s: [b""]) as probe:
        port = probe.port
    pki = create(tmp_path_factory.mktemp("pki"), ocsp_url=f"http://127.0.0.1:{port}/ocsp")
    with LoopbackServer(ocsp_app(pki), port=port):
        yield pki


@pytest.fixture(scope="module")
def signed(pki):
    people = {
        slot: Pkcs12Signer(*pki.issue_person(pid, name))
        for slot, pid, name in (
            ("GVBM", "025085001234", "Nguyễn Thị Hoa"),
            ("GVCN", "025085004321", "Lê Văn Chủ"),
            ("CBQL", "025070001111", "Đỗ Gia Tuấn"),
        )
    }
    people["KY_PHAT_HANH"] = Pkcs12Signer(*pki.issue_org(TAX, "Trường THCS Chu Văn An"))
    return sign_all(build(sample_record()), ["TOAN", "GDTC"], lambda slot, _: people[slot])


@pytest.fixture(scope="module")
def renderer():
    return Renderer(BASE)


@pytest.fixture(scope="module")
def sealer(pki):
    return Sealer(
        Pkcs12Signer(*pki.issue_org(TAX, "Trường THCS Chu Văn An")),
        [pki.issuing],
        "Trường THCS Chu Văn An",
    )


@pytest.fixture(scope="module")
def sealed(renderer, sealer, signed):
    return sealer.seal(renderer.render(signed))


def pdf_verifier(pki, sites=(BASE,)):
    trust = TrustStore.from_pem(
        [(pki.path / "ca/root.pem").read_bytes()], [(pki.path / "ca/issuing.pem").read_bytes()]
    )
    return PdfVerifier(
        Verifier(trust, RevocationChecker.from_files([str(pki.crl_path)], use_ocsp=False)),
        verify_urls=sites,
    )


def failing(report):
    return {(c.check, c.code) for c in report.checks if c.status == "FAIL"}


def text_of(pdf: bytes, tmp_path, how: str = "-layout") -> str:
    path = tmp_path / "view.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [require_tool("pdftotext"), how, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_the_view_shows_the_student_and_every_year_result_with_a_decimal_comma(
    sealed, signed, tmp_path
):
    text = text_of(sealed, tmp_path)
    record = sample_record()
    assert record.student.full_name in text
    for subject in record.subjects:
        assert subject.name in text
        assert subject.year.replace(".", ",") in text
    assert "HỌC BẠ TRUNG HỌC CƠ SỞ" in text
    # who signed, in which role, with which certificate
    assert "Đã ký số: Nguyễn Thị Hoa" in text and "Đỗ Gia Tuấn" in text
    assert f"mã kiểm tra {short_hash(signed)}" in text


def test_every_font_is_the_bundled_times_compatible_serif_embedded(sealed, tmp_path):
    path = tmp_path / "view.pdf"
    path.write_bytes(sealed)
    listing = subprocess.run(
        [require_tool("pdffonts"), str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    fonts = {line.split()[0].split("+")[-1]: line.split() for line in listing}
    assert {"HocbaSerif-Regular", "HocbaSerif-Bold", "HocbaSerif-Italic"} <= fonts.keys()
    assert all(name.startswith("HocbaSerif-") for name in fonts)
    # embedded, subset, with a Unicode map (copying text keeps the diacritics)
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in fonts.values())


def sfnt_tables(data: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack(">H", data[4:6])
    tables = {}
    for i in range(count):
        tag, _sum, offset, length = struct.unpack(">4sIII", data[12 + 16 * i : 28 + 16 * i])
        tables[tag] = data[offset : offset + length]
    return tables


def font_names(name_table: bytes) -> dict[int, set[str]]:
    _format, count, strings = struct.unpack(">HHH", name_table[:6])
    names: dict[int, set[str]] = {}
    for i in range(count):
        platform, _enc, _lang, name_id, length, offset = struct.unpack(
            ">HHHHHH", name_table[6 + 12 * i : 18 + 12 * i]
        )
        raw = name_table[strings + offset : strings + offset + length]
        names.setdefault(name_id, set()).add(
            raw.decode("utf-16-be" if platform in (0, 3) else "mac_roman")
        )
    return names


def test_the_shipped_fonts_are_hocba_serif_without_hinting():
    # hinting is for screens' pixel grids; without it every embedded subset is smaller. A
    # modified Liberation font may not be called Liberation (the OFL's Reserved Font Name).
    fonts = sorted((template_dir() / "fonts").glob("*.ttf"))
    styles = ("Bold", "BoldItalic", "Italic", "Regular")
    assert [f.name for f in fonts] == [f"HocbaSerif-{style}.ttf" for style in styles]
    for font, style in zip(fonts, styles, strict=True):
        tables = sfnt_tables(font.read_bytes())
        assert {b"glyf", b"cmap", b"name"} <= tables.keys()
        assert not tables.keys() & {b"fpgm", b"prep", b"cvt "}, font.name
        (max_instructions,) = struct.unpack(">H", tables[b"maxp"][26:28])
        assert max_instructions == 0, font.name  # no glyph carries instructions
        names = font_names(tables[b"name"])
        assert names[1] == {"Hocba Serif"} and names[6] == {f"HocbaSerif-{style}"}
        for name_id in (1, 3, 4, 6, 16, 17):
            assert not any("Liberation" in n for n in names.get(name_id, ())), (font, name_id)
    assert "Reserved Font Name Liberation" in (template_dir() / "fonts/OFL.txt").read_text()


def page_footers(pdf: bytes, tmp_path) -> list[str]:
    return re.findall(r"Trang (\d+/\d+)", text_of(pdf, tmp_path))


def compiles(renderer, monkeypatch) -> list[bool]:
    """Whether each compile of the next drawing wrote the page numbers out."""
    seen: list[bool] = []
    compile_once = renderer._compile

    def spy(data, *args):
        seen.append("pages" in data)
        return compile_once(data, *args)

    monkeypatch.setattr(renderer, "_compile", spy)
    return seen


def test_every_page_is_numbered_out_of_the_total_in_one_drawing(
    renderer, signed, tmp_path, monkeypatch
):
    seen = compiles(renderer, monkeypatch)
    pdf = renderer.render(signed)
    assert seen == [True]  # numbers written out: no second drawing, no page counter
    assert page_count(pdf) == 4
    assert page_footers(pdf, tmp_path) == ["1/4", "2/4", "3/4", "4/4"]


def test_a_section_that_runs_over_a_page_is_still_numbered_right(
    renderer, signed, tmp_path, monkeypatch
):
    data, when = view_of(signed, BASE)
    # a full year of subjects with long comments: the table runs onto a next page
    comment = "Em tích cực phát biểu, tiến bộ rõ, cần rèn kĩ năng trình bày. " * 4
    data["subjects"] = [{**s, "comment": comment} for s in data["subjects"] * 8]
    seen = compiles(renderer, monkeypatch)
    pdf = renderer.render_view(data, signed, qr_svg(data["address"]), when)
    assert seen == [True, False]  # drawn again with a page counter
    total = page_count(pdf)
    assert total > 4
    assert page_footers(pdf, tmp_path) == [f"{n}/{total}" for n in range(1, total + 1)]


def test_written_out_and_counted_footers_sit_in_the_same_place(renderer, signed, tmp_path):
    data, when = view_of(signed, BASE)
    qr = qr_svg(data["address"])
    boxes = []
    for drawn in ({**data, "pages": 4}, data):
        words = text_of(renderer._compile(drawn, signed, qr, when), tmp_path, "-bbox")
        boxes.append(re.findall(r"<word [^>]*>(?:Trang|Mã|\d/4)</word>", words))
    assert len(boxes[0]) == 12  # "Mã", "Trang", "n/4" on each of four pages
    assert boxes[0] == boxes[1]


def test_a_name_that_reads_like_a_page_object_does_not_count_as_one(renderer, signed):
    data, when = view_of(signed, BASE)
    data["student"]["name"] = "An /Type /Page X obj <</Type/Page"
    pdf = renderer.render_view(data, signed, qr_svg(data["address"]), when)
    assert page_count(pdf) == 4


def test_a_fresh_renderer_draws_the_same_bytes_as_one_that_drew_other_records(signed):
    # typst reuses pieces of earlier drawings; the result must not depend on which came before
    busy = Renderer(BASE)
    data, when = view_of(signed, BASE)
    for name in ("Nguyễn Văn An", "Trần Thị Bình"):
        other = {**data, "student": {**data["student"], "name": name}}
        busy.render_view(other, signed, qr_svg(data["address"]), when)
    assert busy.render(signed) == Renderer(BASE).render(signed)


def test_the_seal_leaves_the_metadata_as_drawn(renderer, sealed, signed):
    # PDF/A wants the Info dictionary and the XMP packet in step: the seal touches neither
    drawn = PdfFileReader(io.BytesIO(renderer.render(signed)))
    after = PdfFileReader(io.BytesIO(sealed))
    assert after.root["/Metadata"].data == drawn.root["/Metadata"].data
    info = after.trailer_view["/Info"]
    assert info["/ModDate"] == drawn.trailer_view["/Info"]["/ModDate"]
    assert b"hocba-view:" in after.root["/Metadata"].data


def test_the_record_passes_through_private_files_that_do_not_outlive_the_drawing(signed):
    drawer = Renderer(BASE)
    workdir = drawer._inputs
    assert workdir.stat().st_mode & 0o077 == 0  # this user's only
    drawer.render(signed)
    assert sorted(p.name for p in workdir.iterdir()) == ["hocba.typ"]
    with pytest.raises(RenderError):
        drawer.render_view({"broken": True}, signed, "<svg/>")
    assert sorted(p.name for p in workdir.iterdir()) == ["hocba.typ"]
    del drawer
    gc.collect()
    assert not workdir.exists()


def test_drawing_the_same_xml_twice_gives_the_same_bytes(renderer, signed):
    assert renderer.render(signed) == renderer.render(signed)


def test_the_qr_code_on_the_cover_leads_to_this_record_version(sealed, signed, tmp_path):
    pdf = tmp_path / "view.pdf"
    pdf.write_bytes(sealed)
    subprocess.run(
        [require_tool("pdftoppm"), "-f", "1", "-l", "1", "-r", "150", "-png", str(pdf),
         str(tmp_path / "cover")],
        check=True,
    )  # fmt: skip
    image = next(tmp_path.glob("cover*.png"))
    decoded = subprocess.run(
        [require_tool("zbarimg"), "--quiet", "--raw", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    record = sample_record()
    assert decoded == f"{BASE}/{record.envelope.record_id}/1?h={short_hash(signed)}"


def test_pdfsig_finds_the_seal_valid_and_trusted(pki, sealed, tmp_path):
    certutil = require_tool("certutil")
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run([certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-A", "-d", f"sql:{nss}", "-n", "hocba-dev-root", "-t", "CT,C,C", "-i",
         str(pki.path / "ca/root.pem")],
        check=True,
    )  # fmt: skip
    pdf = tmp_path / "sealed.pdf"
    pdf.write_bytes(sealed)
    out = subprocess.run(
        [require_tool("pdfsig"), "-nssdir", f"sql:{nss}", str(pdf)],
        capture_output=True,
        text=True,
    ).stdout
    assert "Signature Field Name: HocBaSeal" in out
    assert "Signer Certificate Common Name: Trường THCS Chu Văn An" in out
    assert "Signature is Valid." in out
    assert "Certificate is Trusted." in out
    assert "Total document signed" in out


def test_the_sealed_view_verifies(pki, sealed):
    report = pdf_verifier(pki).verify(sealed)
    assert report.verdict == "VALID", failing(report)
    assert report.checks[0].level == "B-B"
    pdf_checks = {c.check: c.status for c in report.checks[:3]}
    assert pdf_checks == {
        "pdf_signature": "PASS",
        "embedded_xml": "PASS",
        "view_matches_xml": "PASS",
    }
    assert report.record.record_id == sample_record().envelope.record_id
    # the XML's own checks follow
    assert any(c.check == "signature" and c.slot == "KY_PHAT_HANH" for c in report.checks)


def _update(sealed: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed), strict=False)
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_score_changed_after_sealing_is_reported(pki, sealed):
    def change(writer):
        page = writer.root["/Pages"]["/Kids"][2].get_object()
        contents = page["/Contents"]
        stream = contents[0] if isinstance(contents, generic.ArrayObject) else contents
        stream = stream.get_object()
        stream._data = stream.data + b"\nBT /F1 12 Tf 100 100 Td (9,9) Tj ET"
        stream._encoded_data = None
        writer.update_container(stream)

    report = pdf_verifier(pki).verify(_update(sealed, change))
    assert report.verdict == "TAMPERED"
    assert ("view_matches_xml", "PDF_PAGE_CONTENT_CHANGED") in failing(report)
    changed = next(c for c in report.checks if c.code == "PDF_PAGE_CONTENT_CHANGED")
    assert changed.revision == 2 and changed.detail  # pyHanko's explanation


def test_a_replaced_embedded_xml_is_reported(pki, sealed, signed):
    other = signed.replace(b"<DIEM_CA_NAM>8.3</DIEM_CA_NAM>", b"<DIEM_CA_NAM>9.9</DIEM_CA_NAM>")
    assert other != signed
    report = pdf_verifier(pki).verify(_replace_xml(sealed, other))
    assert report.verdict == "TAMPERED"
    assert ("embedded_xml", "EMBEDDED_XML_REPLACED") in failing(report)


def test_a_stripped_seal_is_reported(pki, sealed, renderer, signed):
    reader = PdfFileReader(io.BytesIO(sealed), strict=False)
    seal = reader.embedded_signatures[0]
    unsealed = renderer.render(signed)
    assert sealed.startswith(unsealed) and seal.byte_range[0] == 0
    report = pdf_verifier(pki).verify(unsealed)
    assert report.verdict == "TAMPERED"
    assert ("pdf_signature", "PDF_NOT_SEALED") in failing(report)


def _replace_xml(pdf: bytes, xml: bytes) -> bytes:
    def change(writer):
        names = writer.root["/Names"]["/EmbeddedFiles"]["/Names"]
        stream = names[1].get_object()["/EF"]["/F"].get_object()
        stream._data = xml
        stream._encoded_data = None
        writer.update_container(stream)

    return _update(pdf, change)


def test_a_view_that_does_not_match_its_xml_is_reported(pki, renderer, sealer, signed):
    # pages drawn from a changed record with the genuine signed XML attached, then sealed: the
    # seal and the XML are intact, the pages lie
    changed = signed.replace(b"<DIEM_CA_NAM>8.3</DIEM_CA_NAM>", b"<DIEM_CA_NAM>9.9</DIEM_CA_NAM>")
    data, when = view_of(changed, BASE)
    lying = sealer.seal(renderer.render_view(data, signed, qr_svg(data["address"]), when))
    report = pdf_verifier(pki).verify(lying)
    assert report.verdict == "TAMPERED"
    assert failing(report) == {("view_matches_xml", "VIEW_MISMATCH")}


def test_a_seal_by_another_school_is_reported(pki, renderer, signed):
    stranger = Sealer(Pkcs12Signer(*pki.issue_org("0100000000", "Trường khác")), [pki.issuing])
    report = pdf_verifier(pki).verify(stranger.seal(renderer.render(signed)))
    assert report.verdict == "UNTRUSTED_SIGNER"
    assert ("pdf_signature", "PDF_SIGNER_MISMATCH") in failing(report)


def test_not_a_pdf_is_malformed(pki):
    report = pdf_verifier(pki).verify(b"%PDF-1.7 garbage")
    assert report.verdict == "MALFORMED"


def test_a_pdf_that_is_not_a_record_view_is_malformed(pki, tmp_path):
    import typst

    (tmp_path / "letter.typ").write_text("Kính gửi phụ huynh học sinh", encoding="utf-8")
    letter = typst.compile(str(tmp_path / "letter.typ"))
    report = pdf_verifier(pki).verify(letter)
    assert report.verdict == "MALFORMED" and report.record is None
    assert failing(report) == {
        ("pdf_signature", "PDF_NOT_SEALED"),
        ("embedded_xml", "EMBEDDED_XML_MISSING"),
    }


def test_the_view_data_is_json_and_written_in_vietnamese(signed):
    data, _when = view_of(signed, BASE)
    json.dumps(data)
    assert data["summary"]["learning"][2] in ("Tốt", "Khá", "Đạt", "Chưa đạt")
    assert all("." not in s["year"] for s in data["subjects"])


def test_with_a_time_stamping_authority_the_seal_is_long_term(pki, renderer, signed, tmp_path):
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext

    from hocba.documents.seal import asn1_certificate
    from hocba.signing.dev.servers import tsa_app

    with LoopbackServer(tsa_app(*pki.issue_tsa(), [pki.issuing])) as tsa:
        sealer = Sealer(
            Pkcs12Signer(*pki.issue_org(TAX, "Trường THCS Chu Văn An")),
            [pki.issuing],
            timestamper=HTTPTimeStamper(f"{tsa.url}/tsa"),
            validation_context=ValidationContext(
                trust_roots=[asn1_certificate(pki.root)],
                other_certs=[asn1_certificate(pki.issuing)],
                allow_fetching=True,
            ),
        )
        assert sealer.level == "B-LT"
        sealed = sealer.seal(renderer.render(signed))
        # an archive later adds validation data and a document time stamp (PAdES B-LTA),
        # with pyHanko's new modification date in the Info dictionary and the XMP packet
        archived = signers.PdfTimeStamper(sealer.timestamper).timestamp_pdf(
            IncrementalPdfFileWriter(io.BytesIO(sealed), strict=False),
            "sha256",
            validation_context=sealer.validation_context,
        )
    reader = PdfFileReader(io.BytesIO(sealed), strict=False)
    dss = reader.root["/DSS"]
    assert len(dss["/OCSPs"]) >= 1 and len(dss["/Certs"]) >= 2  # answers of the dev responder
    for view in (sealed, archived.getvalue()):
        report = pdf_verifier(pki).verify(view)
        assert report.verdict == "VALID", failing(report)
        assert report.checks[0].level == "B-LT"


def test_an_update_that_writes_the_same_objects_again_stays_valid(pki, sealed):
    def rewrite(writer):
        writer.update_container(writer.trailer["/Info"])
        writer.update_root()

    report = pdf_verifier(pki).verify(_update(sealed, rewrite))
    assert report.verdict == "VALID", failing(report)


def test_views_naming_many_addresses_are_drawn_again_by_one_compiler(
    pki, sealer, signed, monkeypatch
):
    # each Renderer is a typst compiler with its fonts; the address a view names is an input
    sites = [f"https://truong{n}.example.vn/xac-minh" for n in range(6)]
    views = [sealer.seal(Renderer(site).render(signed)) for site in sites]
    built = []
    original = Renderer.__init__

    def counting(self, *args, **kwargs):
        built.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Renderer, "__init__", counting)
    for view in views:
        for verifier in (pdf_verifier(pki, sites), pdf_verifier(pki, sites)):
            report = verifier.verify(view)
            assert report.verdict == "VALID", failing(report)
    assert len(built) <= 1
