"""Nothing unsigned rides in a signature slot: a slot holds ds:Signature elements of the profile's
exact shape and nothing else, and a record file is one XML document and nothing more. Before,
the schema let a slot hold any xmldsig element, so a ds:Object holding a complete forged copy of
the record, thousands of extra elements, an attribute or text on an unsigned part of a signature
or a PDF hidden in a comment all left the record VALID."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from hocba.formats import parse_untrusted
from hocba.formats.builder import NS, serialize
from hocba.signing.profile import DS, XADES
from tests.attacks.record_kit import failed_codes
from tests.factories.records import make_kit

Q = f"{{{NS}}}"
SIGNATURE = f"{{{DS}}}Signature"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SLOTS = {
    "GVBM": f"{Q}DU_LIEU_HOC_BA/{Q}DANH_SACH_THONG_TIN_KY/{Q}DANH_SACH_GVBM/{Q}GVBM",
    "GVCN": f"{Q}DU_LIEU_HOC_BA/{Q}DANH_SACH_THONG_TIN_KY/{Q}GVCN",
    "CBQL": f"{Q}PHAT_HANH_HOC_BA/{Q}CBQL",
    "KY_PHAT_HANH": f"{Q}PHAT_HANH_HOC_BA/{Q}KY_PHAT_HANH",
}


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("profile-pki"))


@pytest.fixture(scope="module")
def issued(kit):
    content = kit.signed()
    assert kit.verifier().verify(content).verdict == "VALID"
    return content


def tree(content: bytes) -> etree._Element:
    return parse_untrusted(content, keep_whitespace=True)


def refused(kit, content: bytes) -> dict:
    report = kit.verifier().verify(content)
    assert report.verdict in ("TAMPERED", "MALFORMED") and not report.valid, report
    return report


def forged_copy(root: etree._Element, keep_ids: bool) -> etree._Element:
    """The record's signed data with every score set to 10.0 (ids removed unless `keep_ids`)."""
    data = copy.deepcopy(root.find(f"{Q}DU_LIEU_HOC_BA"))
    for score in data.iter(f"{Q}DIEM_CA_NAM", f"{Q}DIEM_HK1", f"{Q}DIEM_HK2"):
        if re.fullmatch(r"[0-9]\.[0-9]", score.text or ""):
            score.text = "10.0"
    if not keep_ids:
        for element in data.iter():
            element.attrib.pop("Id", None)
    return data


@pytest.mark.parametrize("slot", list(SLOTS))
@pytest.mark.parametrize("keep_ids", [False, True])
def test_a_forged_copy_of_the_record_in_a_ds_object_in_a_slot_is_refused(
    kit, issued, slot, keep_ids
):
    root = tree(issued)
    holder = etree.SubElement(root.find(SLOTS[slot]), f"{{{DS}}}Object", nsmap={"ds": DS})
    holder.append(forged_copy(root, keep_ids))
    report = refused(kit, serialize(root))
    if slot in ("CBQL", "KY_PHAT_HANH") and not keep_ids:
        # outside what any signature covers: only the profile's strictness sees it
        assert report.verdict == "TAMPERED" and "UNEXPECTED_CONTENT" in failed_codes(report)


@pytest.mark.parametrize("where", ["signature", "object", "key_info"])
def test_a_forged_copy_inside_a_signature_is_refused(kit, issued, where):
    root = tree(issued)
    signature = root.find(SLOTS["KY_PHAT_HANH"])[0]
    parent = {"signature": signature, "object": signature[3], "key_info": signature[2]}[where]
    holder = (
        etree.SubElement(parent, f"{{{DS}}}Object", nsmap={"ds": DS})
        if where != "object"
        else parent
    )
    holder.append(forged_copy(root, keep_ids=False))
    report = refused(kit, serialize(root))
    assert "MALFORMED_SIGNATURE" in failed_codes(report)


@pytest.mark.parametrize("tag", ["KeyName", "Object", "Manifest", "Signature"])
def test_thousands_of_extra_xmldsig_elements_in_a_slot_are_refused(kit, issued, tag):
    root = tree(issued)
    slot = root.find(SLOTS["KY_PHAT_HANH"])
    for index in range(3000):
        etree.SubElement(slot, f"{{{DS}}}{tag}", nsmap={"ds": DS}).text = f"{index}"
    report = refused(kit, serialize(root))
    assert report.verdict == "TAMPERED"


NAMES = st.sampled_from(
    ["Id", "Target", "URI", "Type", "Algorithm", "MaHocBa", "x", "{urn:forged}copy",
     f"{{{XSI}}}type", f"{{{XSI}}}schemaLocation"]
)  # fmt: skip
VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=40
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slot=st.sampled_from(list(SLOTS)), node=st.integers(0, 27), name=NAMES, value=VALUES)
def test_an_extra_attribute_on_any_element_of_a_signature_is_refused(
    kit, issued, slot, node, name, value
):
    root = tree(issued)
    element = list(root.find(SLOTS[slot])[0].iter())[node]
    assume(element.get(name) is None)
    element.set(name, value)
    refused(kit, serialize(root))


TEXT = st.one_of(
    st.sampled_from([" ", "\n", "\n    ", "\t", "%PDF-1.7", "Toán 10.0", "=", "AAAA"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    slot=st.sampled_from(list(SLOTS)),
    node=st.integers(0, 27),
    where=st.sampled_from(["text", "tail"]),
    text=TEXT,
)
def test_text_where_a_signature_has_none_is_refused(kit, issued, slot, node, where, text):
    """Text or whitespace before, inside or after any element of a signature; for the values
    (digests, signature value, certificate, signing time) text added to them."""
    root = tree(issued)
    element = list(root.find(SLOTS[slot])[0].iter())[node]
    setattr(element, where, (getattr(element, where) or "") + text)
    refused(kit, serialize(root))


@pytest.mark.parametrize(
    "tag",
    [b"ds:Signature", b"ds:SignedInfo", b"ds:SignatureValue", b"ds:KeyInfo", b"ds:X509Data",
     b"ds:X509Certificate", b"ds:Object", b"xades:QualifyingProperties",
     b"xades:SignedProperties", b"KY_PHAT_HANH", b"PHAT_HANH_HOC_BA", b"HOC_BA"],
)  # fmt: skip
def test_a_namespace_declaration_carrying_content_on_a_signature_or_its_slot_is_refused(
    kit, issued, tag
):
    """Exclusive canonicalisation leaves out a namespace nobody uses: its URI is unsigned."""
    start = issued.rfind(b"<" + tag + b" ") if tag != b"HOC_BA" else issued.find(b"<HOC_BA ")
    if start == -1:
        start = issued.rfind(b"<" + tag + b">")
    assert start != -1, tag
    at = start + 1 + len(tag)
    forged = issued[:at] + b' xmlns:f="urn:forged:TOAN=10.0"' + issued[at:]
    refused(kit, forged)


START_TAG = re.compile(rb"<(?![/?!])[A-Za-z_][A-Za-z0-9_.:-]*")
PREFIXES = st.one_of(
    st.sampled_from(["f", "ds", "xades", "r", "junk", "xsi"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,20}", fullmatch=True).filter(
        lambda p: not p.lower().startswith("xml")
    ),
    st.just("J" * 100_000),  # a prefix can carry data too
)
URIS = st.one_of(
    st.sampled_from([NS, DS, XADES, XSI, "urn:forged:TOAN=10.0", "http://example.com/x"]),
    st.just("urn:junk:" + "A" * 100_000),
    st.text(alphabet="abcXYZ019:/.-_=?#", min_size=1, max_size=60),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_namespace_declaration_other_than_the_records_own_anywhere_is_malformed(
    kit, issued, data
):
    """Exclusive canonicalisation leaves out a declaration nothing uses: inside the signed data
    as well as around it, its URI (and its prefix) would be unsigned bytes that verify."""
    prefix, uri = data.draw(st.tuples(PREFIXES, URIS))
    assume((prefix, uri) not in {("ds", DS), ("xades", XADES)})
    starts = [m.end() for m in START_TAG.finditer(issued)]
    at = data.draw(st.sampled_from(starts))
    declaration = data.draw(spellings(f"xmlns:{prefix}", uri))
    forged = issued[:at] + declaration + issued[at:]
    report = kit.verifier().verify(forged)
    assert report.verdict == "MALFORMED" and not report.valid, report.verdict
    assert failed_codes(report) <= {"XML_NAMESPACE_FORBIDDEN", "XML_MALFORMED"}


def spellings(name: str, uri: str) -> st.SearchStrategy[bytes]:
    """The declaration `name`="`uri`" as XML lets it be written: spaces around "=", either
    quote, characters written as references."""
    return st.builds(
        lambda space, before, after, quote, refs: (
            f"{space}{name}{before}={after}{quote}"
            + "".join(f"&#x{ord(c):x};" if c in refs else c for c in uri)
            + quote
        ).encode(),
        st.sampled_from([" ", "\n", "\t", "  "]),
        st.sampled_from(["", " ", "\n"]),
        st.sampled_from(["", " ", "\t"]),
        st.sampled_from(['"', "'"]),
        st.sets(st.sampled_from(sorted(set("#:/.abcA1")))),
    )


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_the_records_own_declarations_however_spelt_still_verify(kit, issued, data):
    """Only the namespace and prefix count, not how the bytes spell them (on elements that hold
    no signature: around one, any declaration is refused with the signature's exact form)."""
    prefix, uri = data.draw(st.sampled_from([("", NS), ("ds", DS), ("xades", XADES)]))
    name = f"xmlns:{prefix}" if prefix else "xmlns"
    element = data.draw(st.sampled_from([b"THONG_TIN_HOC_BA", b"DIEM_TONG_KET", b"TRUONG"]))
    at = re.search(b"<" + element + b"(?=[ >/])", issued).end()  # type: ignore[union-attr]
    again = issued[:at] + data.draw(spellings(name, uri)) + issued[at:]
    assert kit.verifier().verify(again).verdict == "VALID"


@pytest.mark.parametrize(
    "element", [b"DU_LIEU_HOC_BA", b"THONG_TIN_HOC_BA", b"DIEM_TONG_KET", b"MA_MON_HOC",
                b"TRUONG", b"HO_TEN_ME", b"PHIEN_BAN"],
)  # fmt: skip
def test_an_unused_namespace_of_100_kb_on_a_signed_element_is_malformed(kit, issued, element):
    at = re.search(b"<" + element + b"(?=[ >/])", issued).end()  # type: ignore[union-attr]
    forged = issued[:at] + b' xmlns:junk="urn:junk:' + b"A" * 100_000 + b'"' + issued[at:]
    report = kit.verifier().verify(forged)
    assert report.verdict == "MALFORMED"
    assert failed_codes(report) == {"XML_NAMESPACE_FORBIDDEN"}


def test_the_records_own_declarations_written_again_still_verify(kit, issued):
    """Declaring the record's, xmldsig's or XAdES's namespace again under its own prefix adds
    nothing anyone could read."""
    at = issued.find(b"<THONG_TIN_HOC_BA") + len(b"<THONG_TIN_HOC_BA")
    again = f' xmlns="{NS}" xmlns:ds="{DS}" xmlns:xades="{XADES}"'.encode()
    assert kit.verifier().verify(issued[:at] + again + issued[at:]).verdict == "VALID"


@pytest.mark.parametrize("text", [b"\n", b"  ", b"%PDF-1.7"])
@pytest.mark.parametrize(
    "after", [b"<HOC_BA ", b"</DU_LIEU_HOC_BA>", b"<PHAT_HANH_HOC_BA>", b"<KY_PHAT_HANH>",
              b"</ds:Signature></KY_PHAT_HANH>", b"</CBQL>", b"</PHAT_HANH_HOC_BA>"],
)  # fmt: skip
def test_text_in_the_unsigned_frame_of_a_record_is_refused(kit, issued, text, after):
    start = issued.rfind(after)
    at = issued.index(b">", start) + 1 if after == b"<HOC_BA " else start + len(after)
    if after == b"</ds:Signature></KY_PHAT_HANH>":
        at = start + len(b"</ds:Signature>")
    refused(kit, issued[:at] + text + issued[at:])


@pytest.mark.parametrize("element", ["HOC_BA", "PHAT_HANH_HOC_BA", "CBQL", "KY_PHAT_HANH"])
@pytest.mark.parametrize(
    "name", [f"{{{XSI}}}schemaLocation", f"{{{XSI}}}noNamespaceSchemaLocation", "Id"]
)
def test_an_attribute_on_the_unsigned_frame_of_a_record_is_refused(kit, issued, element, name):
    root = tree(issued)
    target = root if element == "HOC_BA" else next(root.iter(f"{Q}{element}"))
    target.set(name, "urn:hocba:xml:1 https://example.invalid/forged-copy-TOAN-10.0.xsd")
    refused(kit, serialize(root))


def test_the_signature_id_carries_no_content_of_its_own(kit, issued):
    """The Id of a signature is outside what it signs; it must name its signed properties."""
    root = tree(issued)
    signature = root.find(SLOTS["KY_PHAT_HANH"])[0]
    forged = signature.get("Id") + ".TOAN-10.0"
    signature.set("Id", forged)
    signature[3][0].set("Target", f"#{forged}")
    report = refused(kit, serialize(root))
    assert "MALFORMED_SIGNATURE" in failed_codes(report)


@pytest.mark.parametrize("value", ["SignatureValue", "X509Certificate"])
@pytest.mark.parametrize("junk", ["!", " ", "\n", "*%PDF*", "=="])
def test_a_base64_value_holds_nothing_but_base64(kit, issued, value, junk):
    """A lenient base64 decoder skips characters outside the alphabet: they would be unsigned
    content that the signature value or certificate seems to carry."""
    root = tree(issued)
    element = root.find(SLOTS["KY_PHAT_HANH"])[0].find(f".//{{{DS}}}{value}")
    middle = len(element.text) // 2
    element.text = element.text[:middle] + junk + element.text[middle:]
    refused(kit, serialize(root))


def ascii_pdf(text: str) -> bytes:
    """A one-page PDF of ASCII bytes showing `text`: a forged view that fits in a comment."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


FORGED_VIEW = ascii_pdf("Nguyen Thi Anh - Toan 10.0 - Ngu van 10.0")


def _polyglots(issued: bytes) -> dict[str, bytes]:
    head, body = issued.split(b"?>", 1)
    head += b"?>"
    slot_end = issued.rindex(b"</KY_PHAT_HANH>")
    return {
        "comment before the root": head + b"<!--" + FORGED_VIEW + b"-->" + body,
        "comment after the root": issued + b"<!--" + FORGED_VIEW + b"-->",
        "comment in a slot": issued[:slot_end] + b"<!--" + FORGED_VIEW + b"-->"
        + issued[slot_end:],
        "instruction before the root": head + b"<?pdf " + FORGED_VIEW + b"?>" + body,
        "CDATA in a slot": issued[:slot_end] + b"<![CDATA[" + FORGED_VIEW + b"]]>"
        + issued[slot_end:],
        "bytes after the root": issued + FORGED_VIEW,
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    ["comment before the root", "comment after the root", "comment in a slot",
     "instruction before the root", "CDATA in a slot", "bytes after the root"],
)  # fmt: skip
def test_a_record_that_is_also_a_pdf_is_malformed(kit, issued, kind, tmp_path):
    polyglot = _polyglots(issued)[kind]
    report = kit.verifier().verify(polyglot)
    assert report.verdict == "MALFORMED" and not report.valid, report
    pdftotext = shutil.which("pdftotext")
    if pdftotext and kind == "comment before the root":
        # the file really is both: a PDF reader shows the forged grades
        path = tmp_path / "polyglot.pdf"
        path.write_bytes(polyglot)
        shown = subprocess.run([pdftotext, path, "-"], capture_output=True, text=True).stdout
        assert "Toan 10.0" in shown
