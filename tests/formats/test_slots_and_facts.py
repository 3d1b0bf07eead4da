"""Reading a record through `slots_of` and `facts_of`: which slot signs which element, where each
fact lives, and what a hostile tree gets (pure, no database)."""

import dataclasses
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from hocba.formats import (
    RecordEvent,
    RecordStatus,
    Slot,
    XmlRejected,
    build,
    facts_of,
    parse_untrusted,
    signed_content,
    slots_of,
)
from hocba.formats.builder import DS
from hocba.formats.model import Signature, Slots
from tests.factories.records import record_of_level

LEVELS = ("TH", "THCS", "THPT", "GDTX")


def fake_signature(name: str) -> Signature:
    """A ds:Signature element: `slots_of` places signatures, it does not verify them."""
    return Signature(f'<ds:Signature xmlns:ds="{DS}" Id="{name}"/>'.encode())


def root_of(content: bytes) -> etree._Element:
    return parse_untrusted(content, keep_whitespace=True)


def lenient(content: bytes) -> etree._Element:
    """A tree read by a parser that keeps comments and instructions (a tree not made by
    `parse_untrusted`)."""
    return etree.fromstring(content, etree.XMLParser(remove_comments=False, remove_pis=False))


def rejected(read, root) -> XmlRejected:
    with pytest.raises(XmlRejected) as error:
        read(root)
    return error.value


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_has_a_slot_per_subject_then_the_homeroom_teacher_principal_and_seal(level):
    record = record_of_level(level)
    slots = slots_of(root_of(build(record)))
    assert [s.name for s in slots] == [Slot.GVBM] * len(record.subjects) + [
        Slot.GVCN,
        Slot.CBQL,
        Slot.KY_PHAT_HANH,
    ]
    for slot, subject in zip(slots.subject_teachers, record.subjects, strict=True):
        assert slot.target == f"mon-{subject.code}" and slot.subject == subject.code
        assert slot.expected is not None and slot.expected.get("Id") == slot.target
        assert slot.person == subject.teacher.personal_id
        assert slots.subject_teacher(subject.code) is slot
    assert slots.subject_teacher("KHONG_CO") is None
    assert (slots.homeroom.target, slots.homeroom.person) == (
        "thongtinhocba",
        record.confirmation.homeroom_teacher.personal_id,
    )
    assert (slots.principal.target, slots.principal.person) == (
        "data",
        record.confirmation.principal.personal_id,
    )
    assert slots.seal.target == "data" and slots.seal.tax_code == record.school.tax_code
    assert slots.seal.person == ""
    assert slots.principal.expected is signed_content(slots.seal.element.getroottree().getroot())
    assert slots.step(Slot.GVCN) is slots.homeroom and slots.step(Slot.CBQL) is slots.principal
    assert slots.step(Slot.KY_PHAT_HANH) is slots.seal


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_gives_its_facts(level):
    record = record_of_level(level, version=3, event="UPDATE", replaces_version=2)
    record = dataclasses.replace(
        record,
        confirmation=dataclasses.replace(record.confirmation, issued_on=dt.date(2025, 6, 2)),
    )
    facts = facts_of(root_of(build(record)))
    school, student = record.school, record.student
    assert facts.record_id == record.envelope.record_id
    assert (facts.version, facts.event, facts.status) == (3, RecordEvent.UPDATE, 1)
    assert facts.status is RecordStatus.IN_FORCE and not facts.revoked
    assert (facts.circular, facts.school_year) == (record.envelope.circular, "2024-2025")
    assert (facts.school_code, facts.school_name, facts.level) == (school.code, school.name, level)
    assert (facts.province_office_code, facts.province_code) == ("25", "25")
    assert (facts.tax_code, facts.district_name) == (school.tax_code, "")
    assert (facts.student_personal_id, facts.student_code, facts.student_name) == (
        student.personal_id,
        student.student_code,
        student.full_name,
    )
    assert (facts.created_on, facts.issued_on) == (dt.date(2025, 5, 30), dt.date(2025, 6, 2))


def test_a_revocation_reads_as_revoked_by_its_status_or_its_event_alone():
    record = record_of_level("THCS", version=2, event="CANCEL", status=2, replaces_version=1)
    content = build(record)
    assert facts_of(root_of(content)).revoked
    only_status = content.replace(b">CANCEL<", b">UPDATE<")
    only_event = content.replace(b"<TRANG_THAI>2<", b"<TRANG_THAI>1<")
    for variant in (only_status, only_event):
        assert facts_of(root_of(variant)).revoked
    assert facts_of(root_of(build(record_of_level("THCS")))).issued_on is None


def test_the_words_of_slots_events_and_statuses_are_vietnamese():
    assert [(s.value, s.label, s.order) for s in Slot] == [
        ("GVBM", "Giáo viên bộ môn", 1),
        ("GVCN", "Giáo viên chủ nhiệm", 2),
        ("CBQL", "Hiệu trưởng", 3),
        ("KY_PHAT_HANH", "Chứng thư số của trường", 4),
    ]
    assert RecordEvent.CANCEL.label == "Thu hồi" and RecordStatus.REVOKED.label == "Đã thu hồi"


def test_slots_show_the_signatures_they_hold_now():
    record = dataclasses.replace(
        record_of_level("THPT"),
        slots=Slots(
            subject_teachers=(("TOAN", (fake_signature("sig-gvbm-TOAN"),)),),
            homeroom=(fake_signature("sig-gvcn"),),
        ),
    )
    root = root_of(build(record))
    slots = slots_of(root)
    assert [s.signed for s in slots] == [True, False, True, False, False]
    assert [s.get("Id") for s in slots.homeroom.signatures] == ["sig-gvcn"]
    assert all(s.only_signatures for s in slots) and slots.outside(root) == []
    etree.SubElement(slots.principal.element, f"{{{DS}}}Signature", Id="sig-cbql")
    assert slots.principal.signed and [s.get("Id") for s in slots.principal.signatures] == [
        "sig-cbql"
    ]


def test_a_slot_holding_anything_but_signatures_says_so():
    content = build(record_of_level("THCS"))
    with_text = content.replace(b"<GVCN/></DANH_SACH", "<GVCN>ghi chú</GVCN></DANH_SACH".encode())
    with_object = content.replace(b"<CBQL/>", f'<CBQL><ds:Object xmlns:ds="{DS}"/></CBQL>'.encode())
    assert not slots_of(root_of(with_text)).homeroom.only_signatures
    assert not slots_of(root_of(with_object)).principal.only_signatures
    assert slots_of(root_of(with_object)).principal.signatures == []


def test_a_signature_outside_every_slot_is_found():
    content = build(record_of_level("GDTX")).replace(
        b"<KET_QUA_MON_HOC>",
        f'<KET_QUA_MON_HOC><ds:Signature xmlns:ds="{DS}" Id="lac"/>'.encode(),
    )
    root = root_of(content)
    assert [s.get("Id") for s in slots_of(root).outside(root)] == ["lac"]


def test_a_subject_slot_naming_no_subject_has_no_expected_element():
    content = build(record_of_level("THCS")).replace(b'MON="mon-GDTC"', b'MON="thongtinhocba"')
    slot = slots_of(root_of(content)).subject_teachers[1]
    assert (slot.target, slot.expected) == ("thongtinhocba", None)
    assert (slot.person, slot.subject) == ("", "")


# --- hostile trees ---------------------------------------------------------------------------

FACTS = {
    # element: (a value in the built THCS record, required)
    "MA_DINH_DANH_HOC_BA": ("2f1c8a0e-4b7d-4c2a-9e51-3d6f0a9b8c71", True),
    "PHIEN_BAN": ("1", True),
    "SU_KIEN": ("NEW", True),
    "TRANG_THAI": ("1", True),
    "THONG_TU": ("22/2021/TT-BGDĐT", True),
    "NAM_HOC": ("2024-2025", True),
    "MA_SO_GD": ("25", True),
    "MA_TRUONG": ("25000201", True),
    "TEN_TRUONG": ("Trường THCS Chu Văn An", True),
    "MA_CAP_HOC": ("THCS", True),
    "MA_TINH": ("25", True),
    "MA_SO_THUE": ("2600100202", False),
    "MA_HOC_SINH": ("2502000001", True),
    "HO_VA_TEN": ("Nguyễn Thị Ánh", True),
    "NGAY_TAO": ("2025-05-30", True),
}
"""Facts that occur once in the built record (SO_DINH_DANH and HO_VA_TEN also name signers)."""


def element(name: str, value: str) -> bytes:
    return f"<{name}>{value}</{name}>".encode()


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(FACTS)),
    cut=st.integers(min_value=0, max_value=40),
    mark=st.sampled_from(["<!---->", "<!-- x -->", "<?pi?>", "<?x y?>"]),
)
def test_a_fact_cut_by_a_comment_or_an_instruction_is_refused(name, cut, mark):
    value = FACTS[name][0]
    cut = min(cut, len(value))
    content = build(record_of_level("THCS"))
    cut_content = content.replace(
        element(name, value), element(name, value[:cut] + mark + value[cut:]), 1
    )
    assert cut_content != content
    with pytest.raises(XmlRejected) as refused:
        parse_untrusted(cut_content, keep_whitespace=True)
    assert refused.value.code in ("XML_COMMENT_FORBIDDEN", "XML_DECLARATION_FORBIDDEN")
    # a tree made without the hardened parser: the value is not read short
    error = rejected(facts_of, lenient(cut_content))
    assert error.code == "RECORD_TEXT_INVALID" and name in error.message


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(FACTS)), other=st.text(min_size=1, max_size=20))
def test_a_fact_written_twice_is_refused_whichever_comes_first(name, other):
    value = FACTS[name][0]
    content = build(record_of_level("THCS"))
    twice = element(name, value) + element(name, value if not other.strip() else "x" + value)
    doubled = content.replace(element(name, value), twice, 1)
    error = rejected(facts_of, root_of(doubled))
    assert error.code == "RECORD_ELEMENT_DUPLICATED" and name in error.message


@pytest.mark.parametrize("name", sorted(FACTS))
def test_a_missing_fact_is_named_unless_the_record_may_leave_it_out(name):
    value, needed = FACTS[name]
    content = build(record_of_level("THCS")).replace(element(name, value), b"", 1)
    if needed:
        error = rejected(facts_of, root_of(content))
        assert error.code == "RECORD_ELEMENT_MISSING" and error.message.endswith(f"/{name}")
    else:
        assert facts_of(root_of(content)).tax_code == ""


@pytest.mark.parametrize(
    ("name", "value", "bad"),
    [
        ("PHIEN_BAN", "1", "01"), ("PHIEN_BAN", "1", " 1"), ("PHIEN_BAN", "1", "+1"),
        ("PHIEN_BAN", "1", "1234567890"), ("TRANG_THAI", "1", "3"), ("SU_KIEN", "NEW", "new"),
        ("NGAY_TAO", "2025-05-30", "2025-13-30"), ("NGAY_TAO", "2025-05-30", "30/05/2025"),
        ("MA_TRUONG", "25000201", "2500<b>02</b>01"),
    ],
)  # fmt: skip
def test_a_fact_that_is_not_its_kind_of_value_is_refused(name, value, bad):
    content = build(record_of_level("THCS")).replace(element(name, value), element(name, bad))
    error = rejected(facts_of, root_of(content))
    assert error.code == "RECORD_TEXT_INVALID" and name in error.message


@pytest.mark.parametrize("written", [b"2025-05-30+07:00", b"2025-05-30Z"])
def test_a_date_is_read_as_the_schema_reads_it(written):
    content = build(record_of_level("THCS")).replace(b">2025-05-30<", b">" + written + b"<")
    assert facts_of(root_of(content)).created_on == dt.date(2025, 5, 30)


@settings(max_examples=60, deadline=None)
@given(
    name=st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
        min_size=1,
        max_size=60,
    )
)
def test_a_fact_reads_whole_whatever_its_text(name):
    record = record_of_level("THPT")
    record = dataclasses.replace(record, school=dataclasses.replace(record.school, name=name))
    assert facts_of(root_of(build(record))).school_name == name


@pytest.mark.parametrize(
    ("old", "new", "code", "where"),
    [
        (b"<KY_PHAT_HANH/>", b"", "RECORD_ELEMENT_MISSING", "PHAT_HANH_HOC_BA/KY_PHAT_HANH"),
        (b"<CBQL/>", b"<CBQL/><CBQL/>", "RECORD_ELEMENT_DUPLICATED", "PHAT_HANH_HOC_BA/CBQL"),
        (b"<GVCN/></DANH_SACH", b"<GVCN/><GVCN/></DANH_SACH", "RECORD_ELEMENT_DUPLICATED",
         "DANH_SACH_THONG_TIN_KY/GVCN"),
        (b"<HIEU_TRUONG><SO_DINH_DANH>025070001111</SO_DINH_DANH>", b"<HIEU_TRUONG>",
         "RECORD_ELEMENT_MISSING", "HIEU_TRUONG/SO_DINH_DANH"),
        (b"<SO_DINH_DANH>025085004321</SO_DINH_DANH>",
         b"<SO_DINH_DANH>025085<!---->004321</SO_DINH_DANH>", "RECORD_TEXT_INVALID",
         "GVCN/SO_DINH_DANH"),
    ],
)  # fmt: skip
def test_slots_of_a_frame_that_is_not_a_records_name_what_is_wrong(old, new, code, where):
    content = build(record_of_level("THCS"))
    assert old in content
    error = rejected(slots_of, lenient(content.replace(old, new, 1)))
    assert error.code == code and where in error.message


def test_neither_reads_a_tree_that_is_not_a_record():
    root = etree.fromstring(b'<GOI_TIN xmlns="urn:hocba:goi-tin:1"/>')
    for read in (facts_of, slots_of, signed_content):
        assert rejected(read, root).code == "RECORD_ELEMENT_MISSING"
