"""Which slot signs which element: `slots_of(root)`, the one place that knows where each
signature of a record goes, what it must reference and whom the record names as its signer
(hocba-record.md §3).

- GVBM, one per subject: `DANH_SACH_THONG_TIN_KY/DANH_SACH_GVBM/GVBM[@MON]` signs that subject's
  `DIEM_TONG_KET` (`#mon-…`); the signer is its `GVBM/SO_DINH_DANH`.
- GVCN: `DANH_SACH_THONG_TIN_KY/GVCN` signs `THONG_TIN_HOC_BA` (`#thongtinhocba`); the signer is
  `KY_XAC_NHAN/GVCN/SO_DINH_DANH`.
- CBQL: `PHAT_HANH_HOC_BA/CBQL` signs `DU_LIEU_HOC_BA` (`#data`); the signer is
  `KY_XAC_NHAN/HIEU_TRUONG/SO_DINH_DANH`.
- KY_PHAT_HANH: `PHAT_HANH_HOC_BA/KY_PHAT_HANH` signs `#data` with the school's organisation
  certificate, whose tax code is `TRUONG/MA_SO_THUE`.

Signing (`hocba.signing.services`) puts signatures into these elements, verification checks
each one against them, the PDF view shows who signed each. Pure (lxml), no Django.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

from hocba.formats import _tree as t
from hocba.formats.builder import DS
from hocba.formats.facts import information, signed_content

SIGNATURE = f"{{{DS}}}Signature"
"""The tag of an XML signature (ds:Signature)."""


class Slot(StrEnum):
    """A signing step of a record, named as the record's XML names its slot."""

    GVBM = "GVBM"
    GVCN = "GVCN"
    CBQL = "CBQL"
    KY_PHAT_HANH = "KY_PHAT_HANH"

    @property
    def label(self) -> str:
        """Who signs in this slot, in Vietnamese."""
        return _LABELS[self]

    @property
    def order(self) -> int:
        """1 to 4: the step's place in the signing order."""
        return list(Slot).index(self) + 1


_LABELS = {
    Slot.GVBM: "Giáo viên bộ môn",
    Slot.GVCN: "Giáo viên chủ nhiệm",
    Slot.CBQL: "Hiệu trưởng",
    Slot.KY_PHAT_HANH: "Chứng thư số của trường",
}


@dataclass(frozen=True, slots=True)
class SignatureSlot:
    """One slot of a record: where its signatures go and what they must sign."""

    name: Slot
    element: etree._Element
    """The slot element itself: its signatures are its children (and nothing else may be)."""
    target: str
    """The Id its signatures must reference: `mon-<subject>`, `thongtinhocba` or `data`."""
    expected: etree._Element | None
    """The element that target must be, found by its place in the record (None: a subject
    slot whose MON names no subject of the record)."""
    person: str = ""
    """The personal ID of the signer the record names for this slot ("" for the seal)."""
    tax_code: str = ""
    """KY_PHAT_HANH: the tax code the school's certificate must carry ("" when none)."""
    subject: str = ""
    """GVBM: the subject code (MA_MON_HOC) of the expected DIEM_TONG_KET."""

    @property
    def signatures(self) -> list[etree._Element]:
        """The ds:Signature elements in the slot now."""
        return list(self.element.iterchildren(SIGNATURE))

    @property
    def signed(self) -> bool:
        """Whether the slot holds a signature now."""
        return next(self.element.iterchildren(SIGNATURE), None) is not None

    @property
    def only_signatures(self) -> bool:
        """Whether the slot holds signatures and nothing else: no text, no other element (a
        ds:Object with a copy of the record, say)."""
        return self.element.text is None and all(
            child.tag == SIGNATURE for child in self.element.iterchildren()
        )


@dataclass(frozen=True, slots=True)
class RecordSlots:
    """Every slot of a record, in signing order."""

    subject_teachers: tuple[SignatureSlot, ...]
    """One per DANH_SACH_GVBM/GVBM, in the record's order."""
    homeroom: SignatureSlot
    principal: SignatureSlot
    seal: SignatureSlot

    def __iter__(self) -> Iterator[SignatureSlot]:
        yield from self.subject_teachers
        yield self.homeroom
        yield self.principal
        yield self.seal

    def step(self, name: Slot) -> SignatureSlot:
        """The slot of a step signed once (GVCN, CBQL, KY_PHAT_HANH)."""
        if name is Slot.GVBM:
            raise ValueError("GVBM has one slot per subject: see subject_teachers")
        return {Slot.GVCN: self.homeroom, Slot.CBQL: self.principal}.get(name, self.seal)

    def subject_teacher(self, subject_code: str) -> SignatureSlot | None:
        """The slot of the subject `subject_code` (its MON is `mon-<code>`), if the record has
        one."""
        target = f"mon-{subject_code}"
        return next((s for s in self.subject_teachers if s.target == target), None)

    def outside(self, root: etree._Element) -> list[etree._Element]:
        """The signatures in `root` that are in none of these slots."""
        elements = {id(slot.element) for slot in self}
        return [
            signature
            for signature in root.iter(SIGNATURE)
            if id(signature.getparent()) not in elements
        ]


_INFO = "HOC_BA/DU_LIEU_HOC_BA/THONG_TIN_HOC_BA"
_DATA = "HOC_BA/DU_LIEU_HOC_BA"
_SIGNERS = f"{_DATA}/DANH_SACH_THONG_TIN_KY"
_ISSUE = "HOC_BA/PHAT_HANH_HOC_BA"


def _person_id(parent: etree._Element, name: str, path: str) -> str:
    person = t.required(t.children(parent, (name,), path), name, path)
    found = t.children(person, ("SO_DINH_DANH",), f"{path}/{name}")
    return t.text_of(found, "SO_DINH_DANH", f"{path}/{name}")


def _subject_slot(slot: etree._Element, subjects: dict[str, etree._Element]) -> SignatureSlot:
    target = slot.get("MON", "")
    expected = subjects.get(target)
    person = subject = ""
    if expected is not None:
        path = f"{_INFO}/KET_QUA_MON_HOC/DIEM_TONG_KET"
        person = _person_id(expected, "GVBM", path)
        subject = t.text_of(t.children(expected, ("MA_MON_HOC",), path), "MA_MON_HOC", path)
    return SignatureSlot(Slot.GVBM, slot, target, expected, person=person, subject=subject)


def slots_of(root: etree._Element) -> RecordSlots:
    """The slots of the record whose root element is `root`. XmlRejected with a stable code when
    its frame is not a record's: RECORD_ELEMENT_MISSING, RECORD_ELEMENT_DUPLICATED,
    RECORD_TEXT_INVALID (see `facts_of`). A subject slot whose MON names no subject is kept,
    with no expected element: verification answers it WRONG_TARGET."""
    data = signed_content(root)
    info = information(data)
    parts = t.children(info, ("TRUONG", "KET_QUA_MON_HOC", "KY_XAC_NHAN"), _INFO)
    results = t.required(parts, "KET_QUA_MON_HOC", _INFO)
    confirm = t.required(parts, "KY_XAC_NHAN", _INFO)
    school = t.children(t.required(parts, "TRUONG", _INFO), ("MA_SO_THUE",), f"{_INFO}/TRUONG")
    # by Id, as a signature's reference finds its target (the last of equal Ids wins here; two
    # elements with one Id are answered DUPLICATE_ID by verification)
    subjects = {d.get("Id", ""): d for d in results.iterchildren(t.q("DIEM_TONG_KET"))}
    frame = t.children(data, ("DANH_SACH_THONG_TIN_KY",), _DATA)
    signers = t.children(
        t.required(frame, "DANH_SACH_THONG_TIN_KY", _DATA), ("DANH_SACH_GVBM", "GVCN"), _SIGNERS
    )
    teachers = t.required(signers, "DANH_SACH_GVBM", _SIGNERS)
    issue_frame = t.children(root, ("PHAT_HANH_HOC_BA",), "HOC_BA")
    issue = t.children(
        t.required(issue_frame, "PHAT_HANH_HOC_BA", "HOC_BA"), ("CBQL", "KY_PHAT_HANH"), _ISSUE
    )
    confirm_path = f"{_INFO}/KY_XAC_NHAN"
    homeroom_id = _person_id(confirm, "GVCN", confirm_path)
    principal_id = _person_id(confirm, "HIEU_TRUONG", confirm_path)
    tax_code = t.text_of(school, "MA_SO_THUE", f"{_INFO}/TRUONG", optional=True)
    gvcn = t.required(signers, "GVCN", _SIGNERS)
    cbql, seal = t.required(issue, "CBQL", _ISSUE), t.required(issue, "KY_PHAT_HANH", _ISSUE)
    return RecordSlots(
        subject_teachers=tuple(
            _subject_slot(slot, subjects) for slot in teachers.iterchildren(t.q("GVBM"))
        ),
        homeroom=SignatureSlot(Slot.GVCN, gvcn, "thongtinhocba", info, person=homeroom_id),
        principal=SignatureSlot(Slot.CBQL, cbql, "data", data, person=principal_id),
        seal=SignatureSlot(Slot.KY_PHAT_HANH, seal, "data", data, tax_code=tax_code),
    )
