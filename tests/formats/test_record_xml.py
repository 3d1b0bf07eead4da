"""The record XML: schema, builder, parser, hardened parsing (pure, no database)."""

import dataclasses
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hocba.formats import XmlRejected, build, parse, parse_untrusted, xsd_text
from tests.conftest import require_tool
from tests.factories.records import sample_record


def test_a_built_record_validates_and_round_trips_byte_for_byte():
    content = build(sample_record())
    record = parse(content)
    assert record == sample_record()
    assert build(record) == content


def test_element_names_follow_the_ministry_model():
    content = build(sample_record()).decode()
    record_id = "2f1c8a0e-4b7d-4c2a-9e51-3d6f0a9b8c71"
    for fragment in ('<DU_LIEU_HOC_BA Id="data">', '<THONG_TIN_HOC_BA Id="thongtinhocba">',
                     f'<DIEM_TONG_KET Id="mon-TOAN" MaHocBa="{record_id}">',
                     "<DANH_SACH_THONG_TIN_KY>",
                     '<GVBM Id="ky-mon-TOAN" MON="mon-TOAN"/>', "<PHAT_HANH_HOC_BA><CBQL/>",
                     "<KY_PHAT_HANH/>", "<DIEM_CA_NAM>8.3</DIEM_CA_NAM>"):  # fmt: skip
        assert fragment in content


def test_xmllint_validates_with_the_printed_schema(tmp_path):
    xmllint = require_tool("xmllint")
    (tmp_path / "schema.xsd").write_text(xsd_text(), encoding="utf-8")
    (tmp_path / "record.xml").write_bytes(build(sample_record()))
    done = subprocess.run(
        [xmllint, "--noout", "--schema", tmp_path / "schema.xsd", tmp_path / "record.xml"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_schema_refuses_a_score_above_ten():
    bad = build(sample_record()).replace(b"<DIEM_CA_NAM>8.3<", b"<DIEM_CA_NAM>10.5<")
    with pytest.raises(XmlRejected) as error:
        parse(bad)
    assert error.value.code == "XML_SCHEMA_INVALID"


def test_schema_refuses_an_unknown_event_and_a_short_personal_id():
    content = build(sample_record())
    for old, new in ((b">NEW<", b">EDIT<"), (b">025212001234<", b">0252120012<")):
        with pytest.raises(XmlRejected):
            parse(content.replace(old, new))


def test_correction_and_revocation_envelopes_round_trip():
    record = sample_record(version=3, event="CANCEL", status=2, reason="Nhập nhầm học sinh",
                           replaces_version=2)  # fmt: skip
    content = build(record)
    assert b"<TRANG_THAI>2</TRANG_THAI>" in content and b"<LY_DO>" in content
    assert parse(content) == record


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE HOC_BA [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<HOC_BA xmlns="urn:hocba:xml:1">&xxe;</HOC_BA>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<HOC_BA>&lol3;</HOC_BA>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE HOC_BA SYSTEM "http://127.0.0.1:9/hocba.dtd"><HOC_BA/>"""


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (XXE, "XML_DTD_FORBIDDEN"),
        (LAUGHS, "XML_DTD_FORBIDDEN"),
        (EXTERNAL_DTD, "XML_DTD_FORBIDDEN"),
        (b"<HOC_BA><unclosed></HOC_BA>", "XML_MALFORMED"),
        (b"<?xml version='1.0'?><?evil x?><HOC_BA/>", "XML_DECLARATION_FORBIDDEN"),
        (b"<!ENTITY x 'y'><HOC_BA/>", "XML_DECLARATION_FORBIDDEN"),
        (b"<HOC_BA>" + b"x" * (2 * 1024 * 1024) + b"</HOC_BA>", "XML_TOO_LARGE"),
    ],
)
def test_hostile_documents_are_refused(payload, code):
    with pytest.raises(XmlRejected) as error:
        parse_untrusted(payload)
    assert error.value.code == code
    assert error.value.message


def test_hostile_documents_never_reach_the_file_system():
    with pytest.raises(XmlRejected):
        parse(XXE)
    with pytest.raises(XmlRejected):
        parse(XXE.replace(b"<!DOCTYPE", b"<!doctype"))


free_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60
).filter(lambda s: s.strip() == s and s.strip())


@settings(max_examples=60)
@given(free_text, free_text, free_text)
def test_any_text_round_trips(name, comment, reason):
    base = sample_record(reason=reason, event="UPDATE", version=2, replaces_version=1)
    record = dataclasses.replace(
        base,
        student=dataclasses.replace(base.student, full_name=name[:150]),
        summary=dataclasses.replace(base.summary, homeroom_comment=comment),
    )
    content = build(record)
    assert parse(content) == record
    assert build(parse(content)) == content


@given(
    st.lists(st.sampled_from([b"<", b"!", b"?", b"a"]), max_size=80).map(b"".join),
    st.sampled_from([b"<!", b"<?"]),
    st.integers(min_value=0, max_value=3),
)
def test_the_quick_scan_for_declarations_agrees_with_a_plain_search(data, pair, start):
    from hocba.formats.safe import _pair_at

    assert _pair_at(data, pair, start) == (data.find(pair, start) != -1)


UTF16_DTD = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE HOC_BA [<!ENTITY x "">]>'
HOSTILE_SPELLINGS = [
    # a DTD with an entity, spelled in UTF-16 (no "<!" bytes), with and without a byte order mark
    (UTF16_DTD + "<HOC_BA>&x;</HOC_BA>").encode("utf-16"),
    '<!DOCTYPE HOC_BA [<!ENTITY x "">]><HOC_BA>&x;</HOC_BA>'.encode("utf-16-le"),
    # a processing instruction at the very start, where an XML declaration would be
    b'<?xml-stylesheet href="https://example.invalid/x.xsl"?><HOC_BA/>',
    b"<?foo bar?><HOC_BA/>",
    b"\xef\xbb\xbf<?foo?><HOC_BA/>",
    # after the declaration and after the root
    b"<?xml version='1.0' encoding='UTF-8'?><?foo?><HOC_BA/>",
    b"<HOC_BA/><?foo?>",
]


@pytest.mark.parametrize("data", HOSTILE_SPELLINGS)
def test_declarations_and_instructions_are_refused_however_they_are_spelled(data):
    with pytest.raises(XmlRejected) as refused:
        parse_untrusted(data, keep_whitespace=True)
    assert refused.value.code in (
        "XML_DTD_FORBIDDEN",
        "XML_DECLARATION_FORBIDDEN",
        "XML_ENCODING_FORBIDDEN",
        "XML_MALFORMED",
    )


def test_a_plain_record_with_or_without_declaration_or_bom_is_read():
    content = build(sample_record())
    body = content.split(b"?>", 1)[1].lstrip()
    for data in (content, body, b"\xef\xbb\xbf" + content):
        assert parse_untrusted(data, keep_whitespace=True).tag.endswith("HOC_BA")
