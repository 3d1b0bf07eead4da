"""A record's facts are what was signed: nothing that canonicalisation leaves out of a signature
(a comment, a processing instruction, a CDATA section, another encoding) may sit in a record and
change how it is read. Exclusive canonicalisation drops comments, so `<PHIEN_BAN>1<!---->2`
is signed as "12" while a reader of `.text` sees "1": a revoked or superseded version could pass
as one in force. Each such record is MALFORMED with a code that names what was found."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hocba.formats import XmlRejected, build, parse_untrusted
from tests.attacks.record_kit import failed_codes
from tests.factories.records import make_kit, sample_record, sign_step

REFUSED = {"XML_COMMENT_FORBIDDEN", "XML_DECLARATION_FORBIDDEN", "XML_CDATA_FORBIDDEN"}


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return make_kit(tmp_path_factory.mktemp("record-xml-pki"))


@pytest.fixture(scope="module")
def issued(kit):
    content = kit.signed()
    assert kit.verifier().verify(content).verdict == "VALID"
    return content


@pytest.fixture(scope="module")
def revocation(kit):
    record = sample_record(version=2, event="CANCEL", status=2, reason="Cấp nhầm",
                           replaces_version=1)  # fmt: skip
    content = kit.signed(record)
    assert kit.verifier().verify(content).verdict == "RECORD_REVOKED"
    return content


def refused_with(report, code):
    assert report.verdict == "MALFORMED" and not report.valid, report
    assert code in failed_codes(report), report


def split(content: bytes, element: bytes, at: int, node: bytes) -> bytes:
    """`node` put inside the text of the first `element`, after its first `at` characters."""
    match = re.search(b"<" + element + b">([^<]*)</" + element + b">", content)
    assert match is not None, element
    text = match.group(1).decode()
    inside = text[:at].encode() + node + text[at:].encode()
    return content[: match.start(1)] + inside + content[match.end(1) :]


@pytest.mark.parametrize(
    ("element", "at"),
    [(b"TRANG_THAI", 0), (b"TRANG_THAI", 1), (b"SU_KIEN", 0), (b"SU_KIEN", 3), (b"SU_KIEN", 6)],
)
def test_a_comment_inside_the_status_or_event_of_a_revocation_does_not_hide_it(
    kit, revocation, element, at
):
    hidden = split(revocation, element, at, b"<!---->")
    refused_with(kit.verifier().verify(hidden), "XML_COMMENT_FORBIDDEN")


@pytest.mark.parametrize(
    ("element", "at"),
    [
        (b"MA_DINH_DANH_HOC_BA", 8),
        (b"MA_DINH_DANH_HOC_BA", 36),
        (b"PHIEN_BAN", 0),
        (b"PHIEN_BAN", 1),
        (b"NAM_HOC", 4),
        (b"MA_TRUONG", 2),
        (b"MA_TINH", 1),
        (b"MA_SO_GD", 1),
        (b"MA_SO_THUE", 5),
    ],
)
@pytest.mark.parametrize("node", [b"<!---->", b"<!-- 9 -->", b"<![CDATA[]]>", b"<?v 2?>"])
def test_markup_inside_a_signed_fact_is_refused(kit, issued, element, at, node):
    report = kit.verifier().verify(split(issued, element, at, node))
    assert report.verdict == "MALFORMED" and failed_codes(report) & REFUSED, report


def _content_positions(text: str) -> list[int]:
    """Every place where a node may be inserted into the document: in the text of an element,
    between elements, after the XML declaration, after the root."""
    positions = []
    inside_tag = False
    for index, char in enumerate(text):
        if char == "<":
            inside_tag = True
        if not inside_tag and index > 0:
            positions.append(index)
        if char == ">":
            inside_tag = False
    return [*positions, len(text)]


NODES = st.sampled_from(
    ["<!---->", "<!--x-->", "<!-- %PDF-1.7 -->", "<?x?>", "<?hocba v='2'?>", "<![CDATA[]]>"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), node=NODES)
def test_a_comment_instruction_or_cdata_anywhere_in_a_signed_record_is_malformed(
    kit, issued, data, node
):
    text = issued.decode()
    at = data.draw(st.sampled_from(_content_positions(text)), label="position")
    report = kit.verifier().verify((text[:at] + node + text[at:]).encode())
    assert report.verdict == "MALFORMED", (at, node, report)
    # a CDATA section outside the root element is not even well-formed XML
    expected = REFUSED | ({"XML_MALFORMED"} if node.startswith("<![CDATA[") else set())
    assert failed_codes(report) & expected, report


@pytest.mark.parametrize("spelling", [b"02", b"+2", b" 2", b"2 ", b"2\n"])
def test_a_signed_revocation_status_has_one_spelling(kit, spelling):
    """A key holder signs a revocation whose status is written another way: the schema refuses
    it, so no reader can take it for a record in force."""
    record = sample_record(version=2, event="CANCEL", status=2, reason="Sai", replaces_version=1)
    written = b"<TRANG_THAI>" + spelling + b"</TRANG_THAI>"
    content = build(record).replace(b"<TRANG_THAI>2</TRANG_THAI>", written)
    signed = sign_step(content, "CBQL", kit.signers["CBQL"])
    refused_with(kit.verifier().verify(signed), "XML_SCHEMA_INVALID")


@pytest.mark.parametrize("spelling", [b"01", b"+1", b" 1"])
def test_a_signed_version_number_has_one_spelling(kit, spelling):
    written = b"<PHIEN_BAN>" + spelling + b"</PHIEN_BAN>"
    content = build(sample_record()).replace(b"<PHIEN_BAN>1</PHIEN_BAN>", written)
    report = kit.verifier().verify(kit.sign_bytes(content))
    refused_with(report, "XML_SCHEMA_INVALID")


def test_a_signed_cancel_event_is_a_revocation_whatever_its_status(kit):
    record = sample_record(version=2, event="CANCEL", status=1, reason="Sai", replaces_version=1)
    report = kit.verifier().verify(kit.signed(record))
    assert report.verdict == "RECORD_REVOKED" and report.record.status == "REVOKED"


@pytest.mark.parametrize(
    "encode",
    [
        # the declaration says UTF-16 and the bytes are UTF-16
        lambda text: text.replace("encoding='UTF-8'", "encoding='UTF-16'").encode("utf-16"),
        # no declaration, a UTF-16 byte order mark
        lambda text: text.split("?>", 1)[1].encode("utf-16"),
        # the declaration names another encoding for the same bytes
        lambda text: text.replace("encoding='UTF-8'", "encoding='ISO-8859-1'").encode(),
    ],
)
def test_a_record_in_another_encoding_is_malformed(kit, revocation, encode):
    """Another encoding spells markup with other bytes (a comment hidden inside a fact is not
    "<!--" in UTF-16) and other tools would read other characters: records are UTF-8."""
    commented = split(revocation, b"TRANG_THAI", 0, b"<!---->").decode()
    for text in (revocation.decode(), commented):
        report = kit.verifier().verify(encode(text))
        assert report.verdict == "MALFORMED" and not report.valid, report


def test_a_package_entry_is_read_through_the_same_refusal(issued):
    """Warehouses read a received record's facts from the tree `parse_untrusted` gives them:
    the comment never reaches them."""
    with pytest.raises(XmlRejected) as refused:
        parse_untrusted(split(issued, b"PHIEN_BAN", 0, b"<!---->"), keep_whitespace=True)
    assert refused.value.code == "XML_COMMENT_FORBIDDEN"
