"""XML bytes → record dataclasses (through the hardened parser, validated against the XSD)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources

from lxml import etree

from hocba.formats.builder import DS, NS
from hocba.formats.model import (
    Confirmation,
    Envelope,
    HistoryRow,
    Mark,
    Person,
    Place,
    Record,
    School,
    Signature,
    Slots,
    Student,
    SubjectResult,
    Summary,
)
from hocba.formats.safe import XmlRejected, parse_untrusted


def xsd_text() -> str:
    """The record schema (`hocba records xsd`)."""
    return resources.files("hocba.formats").joinpath("hocba-record.xsd").read_text("utf-8")


@cache
def schema() -> etree.XMLSchema:
    document = etree.fromstring(xsd_text().encode("utf-8"))
    return etree.XMLSchema(document)


def validate(root: etree._Element) -> None:
    """XmlRejected("XML_SCHEMA_INVALID") with the first errors when `root` is not a record."""
    checker = schema()
    try:
        valid = checker.validate(root)
    except etree.Error as error:  # e.g. an entity reference the parser left in place
        raise XmlRejected("XML_SCHEMA_INVALID", errors=str(error)) from None
    if not valid:
        log = checker.error_log
        errors = "; ".join(f"dòng {e.line}: {e.message}" for e in list(log)[:5])  # type: ignore[call-overload]
        raise XmlRejected("XML_SCHEMA_INVALID", errors=errors)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _first(parent: etree._Element, name: str) -> etree._Element | None:
    """The first child called `name` (iterchildren: several times cheaper than find's path
    machinery, and a record is read child by child)."""
    return next(parent.iterchildren(_q(name)), None)


def _child(parent: etree._Element, name: str) -> etree._Element:
    found = _first(parent, name)
    if found is None:
        raise XmlRejected("XML_SCHEMA_INVALID", f"Thiếu phần tử {name}")
    return found


def _text(parent: etree._Element, name: str) -> str:
    found = _first(parent, name)
    return "" if found is None or found.text is None else found.text


def _bool(parent: etree._Element, name: str) -> bool:
    return _text(parent, name) in ("true", "1")


def _date(parent: etree._Element, name: str) -> dt.date | None:
    value = _text(parent, name)
    return dt.date.fromisoformat(value) if value else None


def _place(parent: etree._Element, name: str) -> Place:
    element = _child(parent, name)
    return Place(
        _text(element, "DIA_CHI_CHI_TIET"), _text(element, "MA_XA"), _text(element, "MA_TINH")
    )


def _person(parent: etree._Element, name: str, position: str = "") -> Person:
    element = _child(parent, name)
    return Person(_text(element, "SO_DINH_DANH"), _text(element, "HO_VA_TEN"), position)


def _marks(parent: etree._Element, name: str) -> tuple[Mark, ...]:
    element = _first(parent, name)
    if element is None:
        return ()
    return tuple(Mark(m.get("MA", ""), m.text or "") for m in element.iterchildren(_q("MUC")))


def _signatures(slot: etree._Element) -> tuple[Signature, ...]:
    return tuple(
        Signature(etree.tostring(child)) for child in slot.iterchildren(f"{{{DS}}}Signature")
    )


def read(root: etree._Element) -> Record:
    """The record of a validated root element."""
    data = _child(root, "DU_LIEU_HOC_BA")
    info = _child(data, "THONG_TIN_HOC_BA")
    replaces = _text(info, "PHIEN_BAN_THAY_THE")
    envelope = Envelope(
        record_id=_text(info, "MA_DINH_DANH_HOC_BA"),
        version=int(_text(info, "PHIEN_BAN")),
        event=_text(info, "SU_KIEN"),
        status=int(_text(info, "TRANG_THAI")),
        circular=_text(info, "THONG_TU"),
        school_year=_text(info, "NAM_HOC"),
        transcribed=_bool(info, "TRICH_LUC"),
        reason=_text(info, "LY_DO"),
        replaces_version=int(replaces) if replaces else None,
    )
    s = _child(info, "TRUONG")
    school = School(
        province_office_code=_text(s, "MA_SO_GD"), province_office_name=_text(s, "TEN_SO_GD"),
        code=_text(s, "MA_TRUONG"), name=_text(s, "TEN_TRUONG"), level=_text(s, "MA_CAP_HOC"),
        commune_name=_text(s, "TEN_XA"), province_name=_text(s, "TEN_TINH"),
        province_code=_text(s, "MA_TINH"), commune_code=_text(s, "MA_XA"),
        district_name=_text(s, "TEN_HUYEN"), tax_code=_text(s, "MA_SO_THUE"),
        authority_name=_text(s, "TEN_CO_QUAN_QUAN_LY"),
    )  # fmt: skip
    p = _child(info, "HOC_SINH")
    born = _date(p, "NGAY_SINH")
    assert born is not None
    student = Student(
        personal_id=_text(p, "SO_DINH_DANH"), student_code=_text(p, "MA_HOC_SINH"),
        full_name=_text(p, "HO_VA_TEN"), date_of_birth=born, sex=_text(p, "GIOI_TINH"),
        ethnicity=_text(p, "DAN_TOC"), nationality=_text(p, "QUOC_TICH"),
        birthplace=_place(p, "NOI_SINH"), hometown=_place(p, "QUE_QUAN"),
        current_address=_place(p, "NOI_O_HIEN_NAY"), register_no=_text(p, "SO_DANG_BO"),
        father_name=_text(p, "HO_TEN_CHA"), father_occupation=_text(p, "NGHE_NGHIEP_CHA"),
        mother_name=_text(p, "HO_TEN_ME"), mother_occupation=_text(p, "NGHE_NGHIEP_ME"),
        guardian_name=_text(p, "HO_TEN_NGUOI_GIAM_HO"),
        guardian_occupation=_text(p, "NGHE_NGHIEP_NGUOI_GIAM_HO"),
        policy_category=_text(p, "DOI_TUONG_CHINH_SACH"),
        disability_not_assessed=_bool(p, "KHUYET_TAT_KHONG_DANH_GIA"),
    )  # fmt: skip
    klass = _child(info, "LOP")
    history = tuple(
        HistoryRow(
            _text(row, "NAM_HOC"),
            _text(row, "TEN_LOP"),
            _text(row, "TEN_TRUONG"),
            _text(row, "TEN_TINH"),
            _date(row, "NGAY_CHUYEN_DEN"),
        )
        for row in _child(info, "QUA_TRINH_HOC_TAP").iterchildren(_q("NAM_HOC_DA_HOC"))
    )
    subjects = tuple(
        SubjectResult(
            code=_text(d, "MA_MON_HOC"),
            name=_text(d, "TEN_MON_HOC"),
            teacher=_person(d, "GVBM"),
            hk1=_text(d, "DIEM_HK1"),
            hk2=_text(d, "DIEM_HK2"),
            year=_text(d, "DIEM_CA_NAM"),
            retake=_text(d, "DIEM_KIEM_TRA_LAI"),
            level=_text(d, "MUC_DAT_DUOC"),
            test=_text(d, "DIEM_KIEM_TRA_DINH_KY"),
            comment=_text(d, "NHAN_XET"),
        )
        for d in _child(info, "KET_QUA_MON_HOC").iterchildren(_q("DIEM_TONG_KET"))
    )
    t = _child(info, "TONG_KET")
    learning = _first(t, "HOC_TAP")
    conduct = _first(t, "REN_LUYEN")
    empty = etree.Element("empty")
    learning = empty if learning is None else learning
    conduct = empty if conduct is None else conduct
    summary = Summary(
        promoted=_bool(t, "DUOC_LEN_LOP"), outcome=_text(t, "KET_QUA_CUOI_NAM"),
        outcome_text=_text(t, "ND_KET_QUA"),
        completes_level=_bool(t, "HOAN_THANH_CHUONG_TRINH_CAP_HOC"),
        absences=_text(t, "SO_BUOI_NGHI"), homeroom_comment=_text(t, "NHAN_XET_GVCN"),
        learning_hk1=_text(learning, "HK1"), learning_hk2=_text(learning, "HK2"),
        learning_year=_text(learning, "CA_NAM"),
        learning_after_retake=_text(learning, "SAU_KIEM_TRA_LAI"),
        adjusted_for=_text(learning, "DIEU_CHINH_DO_MON"),
        conduct_hk1=_text(conduct, "HK1"), conduct_hk2=_text(conduct, "HK2"),
        conduct_year=_text(conduct, "CA_NAM"),
        conduct_after_summer=_text(conduct, "SAU_REN_LUYEN_HE"),
        primary_result=_text(t, "KET_QUA_GIAO_DUC"),
        qualities=_marks(t, "PHAM_CHAT"), competencies=_marks(t, "NANG_LUC"),
        qualities_comment=_text(t, "NHAN_XET_PHAM_CHAT"),
        competencies_comment=_text(t, "NHAN_XET_NANG_LUC"),
        awards=_text(t, "KHEN_THUONG"), award_title=_text(t, "DANH_HIEU"),
        certificates=tuple(c.text or "" for c in t.iterchildren(_q("CHUNG_CHI"))),
        contests=_text(t, "KET_QUA_CUOC_THI"),
    )  # fmt: skip
    c = _child(info, "KY_XAC_NHAN")
    leader = _child(c, "HIEU_TRUONG")
    created = _date(c, "NGAY_TAO")
    assert created is not None
    confirmation = Confirmation(
        homeroom_teacher=_person(c, "GVCN"),
        principal=Person(
            _text(leader, "SO_DINH_DANH"), _text(leader, "HO_VA_TEN"), _text(leader, "CHUC_VU")
        ),
        place=_text(c, "DIA_DANH_PHAT_HANH"),
        created_on=created,
        issued_on=_date(c, "NGAY_KY_PHAT_HANH"),
    )
    signers = _child(data, "DANH_SACH_THONG_TIN_KY")
    by_target = {
        slot.get("MON", "").removeprefix("mon-"): _signatures(slot)
        for slot in _child(signers, "DANH_SACH_GVBM").iterchildren(_q("GVBM"))
    }
    issue = _child(root, "PHAT_HANH_HOC_BA")
    slots = Slots(
        subject_teachers=tuple((code, sigs) for code, sigs in by_target.items() if sigs),
        homeroom=_signatures(_child(signers, "GVCN")),
        principal=_signatures(_child(issue, "CBQL")),
        seal=_signatures(_child(issue, "KY_PHAT_HANH")),
    )
    return Record(
        envelope=envelope, school=school, student=student, grade=int(_text(klass, "MA_KHOI")),
        class_name=_text(klass, "TEN_LOP"), history=history, subjects=subjects, summary=summary,
        confirmation=confirmation, slots=slots,
    )  # fmt: skip


def parse(data: bytes) -> Record:
    """Hardened parse, schema validation, dataclasses; XmlRejected on any problem."""
    root = parse_untrusted(data)
    validate(root)
    return read(root)
