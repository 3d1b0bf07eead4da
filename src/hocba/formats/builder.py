"""Record dataclasses → XML bytes. Deterministic: the same record always gives the same bytes,
so parse → build is byte-identical.

The canonical form is compact (no indentation whitespace): signatures are embedded into the
serialized document and must never be re-indented afterwards, since every whitespace node inside
`#data` is covered by the principal's and the school's signatures."""

from __future__ import annotations

from lxml import etree

from hocba.formats.model import (
    Mark,
    Person,
    Place,
    Record,
    Signature,
)
from hocba.formats.safe import parse_untrusted

NS = "urn:hocba:xml:1"
DS = "http://www.w3.org/2000/09/xmldsig#"
FORMAT_VERSION = "1.0"


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


class _Writer:
    def __init__(self) -> None:
        self.root = etree.Element(_q("HOC_BA"), nsmap={None: NS})  # type: ignore[dict-item]

    @staticmethod
    def node(
        parent: etree._Element, name: str, text: object = None, **attrs: str
    ) -> etree._Element:
        element = etree.SubElement(parent, _q(name), attrs)
        if text is not None:
            element.text = _text(text)
        return element

    def opt(self, parent: etree._Element, name: str, text: object) -> None:
        if text not in (None, "", ()):
            self.node(parent, name, text)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _place(w: _Writer, parent: etree._Element, name: str, place: Place) -> None:
    element = w.node(parent, name)
    w.node(element, "DIA_CHI_CHI_TIET", place.detail)
    w.opt(element, "MA_XA", place.commune_code)
    w.opt(element, "MA_TINH", place.province_code)


def _person(w: _Writer, parent: etree._Element, name: str, person: Person) -> None:
    element = w.node(parent, name)
    w.node(element, "SO_DINH_DANH", person.personal_id)
    w.node(element, "HO_VA_TEN", person.full_name)


def _marks(w: _Writer, parent: etree._Element, name: str, marks: tuple[Mark, ...]) -> None:
    if marks:
        element = w.node(parent, name)
        for mark in marks:
            w.node(element, "MUC", mark.level, MA=mark.code)


def _signatures(slot: etree._Element, signatures: tuple[Signature, ...]) -> None:
    for signature in signatures:
        slot.append(parse_untrusted(signature.xml))


def build_element(record: Record) -> etree._Element:
    w = _Writer()
    root = w.root
    root.set("PhienBanDinhDang", FORMAT_VERSION)
    data = w.node(root, "DU_LIEU_HOC_BA", Id="data")
    info = w.node(data, "THONG_TIN_HOC_BA", Id="thongtinhocba")
    e = record.envelope
    w.node(info, "MA_DINH_DANH_HOC_BA", e.record_id)
    w.node(info, "PHIEN_BAN", e.version)
    w.node(info, "SU_KIEN", e.event)
    w.node(info, "TRANG_THAI", e.status)
    w.node(info, "THONG_TU", e.circular)
    w.node(info, "NAM_HOC", e.school_year)
    w.node(info, "TRICH_LUC", e.transcribed)
    w.opt(info, "PHIEN_BAN_THAY_THE", e.replaces_version)
    w.opt(info, "LY_DO", e.reason)

    s = record.school
    school = w.node(info, "TRUONG")
    for name, value in (
        ("MA_SO_GD", s.province_office_code), ("TEN_SO_GD", s.province_office_name),
        ("MA_TRUONG", s.code), ("TEN_TRUONG", s.name), ("MA_CAP_HOC", s.level),
        ("TEN_XA", s.commune_name),
    ):  # fmt: skip
        w.node(school, name, value)
    w.opt(school, "MA_XA", s.commune_code)
    w.opt(school, "TEN_HUYEN", s.district_name)
    w.node(school, "TEN_TINH", s.province_name)
    w.node(school, "MA_TINH", s.province_code)
    w.opt(school, "MA_SO_THUE", s.tax_code)
    w.opt(school, "TEN_CO_QUAN_QUAN_LY", s.authority_name)

    p = record.student
    student = w.node(info, "HOC_SINH")
    w.node(student, "SO_DINH_DANH", p.personal_id)
    w.node(student, "MA_HOC_SINH", p.student_code)
    w.opt(student, "SO_DANG_BO", p.register_no)
    w.node(student, "HO_VA_TEN", p.full_name)
    w.node(student, "NGAY_SINH", p.date_of_birth)
    w.node(student, "GIOI_TINH", p.sex)
    w.node(student, "DAN_TOC", p.ethnicity)
    w.node(student, "QUOC_TICH", p.nationality)
    _place(w, student, "NOI_SINH", p.birthplace)
    _place(w, student, "QUE_QUAN", p.hometown)
    _place(w, student, "NOI_O_HIEN_NAY", p.current_address)
    for name, value in (
        ("HO_TEN_CHA", p.father_name), ("NGHE_NGHIEP_CHA", p.father_occupation),
        ("HO_TEN_ME", p.mother_name), ("NGHE_NGHIEP_ME", p.mother_occupation),
        ("HO_TEN_NGUOI_GIAM_HO", p.guardian_name),
        ("NGHE_NGHIEP_NGUOI_GIAM_HO", p.guardian_occupation),
        ("DOI_TUONG_CHINH_SACH", p.policy_category),
    ):  # fmt: skip
        w.opt(student, name, value)
    w.node(student, "KHUYET_TAT_KHONG_DANH_GIA", p.disability_not_assessed)

    klass = w.node(info, "LOP")
    w.node(klass, "MA_KHOI", record.grade)
    w.node(klass, "TEN_LOP", record.class_name)

    history = w.node(info, "QUA_TRINH_HOC_TAP")
    for row in record.history:
        year = w.node(history, "NAM_HOC_DA_HOC")
        w.node(year, "NAM_HOC", row.school_year)
        w.node(year, "TEN_LOP", row.class_name)
        w.node(year, "TEN_TRUONG", row.school_name)
        w.node(year, "TEN_TINH", row.province_name)
        w.opt(year, "NGAY_CHUYEN_DEN", row.date_joined)

    results = w.node(info, "KET_QUA_MON_HOC")
    for subject in record.subjects:
        element = w.node(
            results, "DIEM_TONG_KET", Id=subject.element_id, MaHocBa=record.envelope.record_id
        )
        w.node(element, "MA_MON_HOC", subject.code)
        w.node(element, "TEN_MON_HOC", subject.name)
        for name, value in (
            ("DIEM_HK1", subject.hk1), ("DIEM_HK2", subject.hk2), ("DIEM_CA_NAM", subject.year),
            ("DIEM_KIEM_TRA_LAI", subject.retake), ("MUC_DAT_DUOC", subject.level),
            ("DIEM_KIEM_TRA_DINH_KY", subject.test), ("NHAN_XET", subject.comment),
        ):  # fmt: skip
            w.opt(element, name, value)
        _person(w, element, "GVBM", subject.teacher)

    m = record.summary
    summary = w.node(info, "TONG_KET")
    if m.learning_year:
        learning = w.node(summary, "HOC_TAP")
        w.opt(learning, "HK1", m.learning_hk1)
        w.opt(learning, "HK2", m.learning_hk2)
        w.node(learning, "CA_NAM", m.learning_year)
        w.opt(learning, "DIEU_CHINH_DO_MON", m.adjusted_for)
        w.opt(learning, "SAU_KIEM_TRA_LAI", m.learning_after_retake)
    if m.conduct_year:
        conduct = w.node(summary, "REN_LUYEN")
        w.opt(conduct, "HK1", m.conduct_hk1)
        w.opt(conduct, "HK2", m.conduct_hk2)
        w.node(conduct, "CA_NAM", m.conduct_year)
        w.opt(conduct, "SAU_REN_LUYEN_HE", m.conduct_after_summer)
    w.opt(summary, "KET_QUA_GIAO_DUC", m.primary_result)
    _marks(w, summary, "PHAM_CHAT", m.qualities)
    _marks(w, summary, "NANG_LUC", m.competencies)
    w.opt(summary, "NHAN_XET_PHAM_CHAT", m.qualities_comment)
    w.opt(summary, "NHAN_XET_NANG_LUC", m.competencies_comment)
    w.node(summary, "SO_BUOI_NGHI", m.absences)
    w.node(summary, "KET_QUA_CUOI_NAM", m.outcome)
    w.node(summary, "ND_KET_QUA", m.outcome_text)
    w.node(summary, "DUOC_LEN_LOP", m.promoted)
    w.node(summary, "HOAN_THANH_CHUONG_TRINH_CAP_HOC", m.completes_level)
    w.opt(summary, "DANH_HIEU", m.award_title)
    w.opt(summary, "KHEN_THUONG", m.awards)
    for certificate in m.certificates:
        w.node(summary, "CHUNG_CHI", certificate)
    w.opt(summary, "KET_QUA_CUOC_THI", m.contests)
    w.node(summary, "NHAN_XET_GVCN", m.homeroom_comment)

    c = record.confirmation
    confirm = w.node(info, "KY_XAC_NHAN")
    _person(w, confirm, "GVCN", c.homeroom_teacher)
    leader = w.node(confirm, "HIEU_TRUONG")
    w.node(leader, "SO_DINH_DANH", c.principal.personal_id)
    w.node(leader, "HO_VA_TEN", c.principal.full_name)
    w.node(leader, "CHUC_VU", c.principal.position)
    w.node(confirm, "DIA_DANH_PHAT_HANH", c.place)
    w.node(confirm, "NGAY_TAO", c.created_on)
    w.opt(confirm, "NGAY_KY_PHAT_HANH", c.issued_on)

    signers = w.node(data, "DANH_SACH_THONG_TIN_KY")
    teachers = w.node(signers, "DANH_SACH_GVBM")
    signed = dict(record.slots.subject_teachers)
    for subject in record.subjects:
        slot = w.node(teachers, "GVBM", Id=f"ky-{subject.element_id}", MON=subject.element_id)
        _signatures(slot, signed.get(subject.code, ()))
    _signatures(w.node(signers, "GVCN"), record.slots.homeroom)
    issue = w.node(root, "PHAT_HANH_HOC_BA")
    _signatures(w.node(issue, "CBQL"), record.slots.principal)
    _signatures(w.node(issue, "KY_PHAT_HANH"), record.slots.seal)
    return root


def serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build(record: Record) -> bytes:
    """The record's XML bytes."""
    return serialize(build_element(record))
