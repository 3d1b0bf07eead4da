"""The package (gói tin) format: records travelling from a school to a warehouse, sealed by the
sender.

A package carries each record as the exact bytes that were signed (base64 in `HOC_BA`, with
its id, version, event and SHA-256), so nothing the record's signatures cover is touched on the
way. The sender's organisation certificate seals `NOI_DUNG` (`#noidung`) with the record's
signature profile; the seal goes in `CHU_KY`, outside what it signs. The schema is
`hocba-package.xsd`.

This module builds the unsealed package, reads a received one's tree (hardened parser, schema)
and its content; sealing and checking the seal belong to `hocba.signing.package`. Pure (lxml),
no Django.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources

from cryptography import x509
from lxml import etree

from hocba import limits
from hocba.formats.builder import DS
from hocba.formats.safe import XmlRejected, parse_untrusted

NS = "urn:hocba:goi-tin:1"
CONTENT_ID = "noidung"
"""The Id of NOI_DUNG, what the seal references."""
SEAL_ID = "goitin-ky"
"""The Id of the seal's ds:Signature."""
MAX_PACKAGE_BYTES = limits.PACKAGE_BYTES
"""A warehouse refuses larger packages unread; senders build theirs well below it."""
MAX_RECORDS = limits.PACKAGE_RECORDS
ENVELOPE_BYTES = 16 * 1024
"""At least what a sealed package holds besides its records: the header and the seal (about
4 KB with one certificate)."""
ENTRY_OVERHEAD_BYTES = 512
"""At least what one record adds besides its base64 text: its element (about 180 bytes) and
the count line of its school (about 150 bytes)."""
EVENTS = ("NEW", "UPDATE", "CANCEL")
TRANSIENT_CODES = frozenset({"PROCESSING_FAILED"})
"""Per-record answers (status REJECTED) that a warehouse gives for a failure of its own, not of
the record: the sender sends the record again later and never holds it rejected
(docs/warehouse.md). A whole package failed this way is answered PACKAGE_PROCESSING_FAILED."""

_SIGNATURE = f"{{{DS}}}Signature"


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def xsd_text() -> str:
    """The package schema."""
    return resources.files("hocba.formats").joinpath("hocba-package.xsd").read_text("utf-8")


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.fromstring(xsd_text().encode("utf-8")))


class PackageRejected(ValueError):
    """The whole package is refused; `code` is stable, `message` Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Entry:
    """One record version in a package."""

    record_id: str
    version: int
    event: str
    """NEW, UPDATE or CANCEL."""
    content: bytes
    """The record's XML, exactly as signed."""

    @cached_property
    def sha256(self) -> str:
        """The hex SHA-256 of `content`, as the package declares it."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class SchoolCount:
    """What a school reports about itself with each package (for statistics)."""

    school_code: str
    school_year: str
    students: int
    created: int
    """Records created (drafted) for the year."""
    issued: int
    """Records issued for the year."""


@dataclass(frozen=True)
class Sender:
    kind: str
    """TRUONG (a school) or SO (a provincial department forwarding)."""
    code: str
    """The school's code or the Sở's code."""
    tax_code: str
    """The tax code of the organisation certificate that seals the package."""


@dataclass(frozen=True)
class Package:
    """A package as read by a warehouse (after the seal's cryptography was checked)."""

    package_id: str
    sender: Sender
    created_at: dt.datetime
    entries: list[Entry]
    counts: list[SchoolCount] = field(default_factory=list)
    seal_certificate: x509.Certificate | None = None
    """The certificate of the seal, once checked (`hocba.signing.package.read`)."""
    seal_time: dt.datetime | None = None
    """The signing time the seal claims, once checked."""
    entry_problems: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Entries whose bytes do not match their declared SHA-256 (index → code, message)."""


def entry_bytes(size: int) -> int:
    """At least what a record of `size` bytes adds to a sealed package (base64 is a third
    larger, in blocks of four characters; no line breaks)."""
    return 4 * -(-size // 3) + ENTRY_OVERHEAD_BYTES


def _time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, _q(name)).text = text


def build(
    sender: Sender,
    entries: Sequence[Entry],
    counts: Sequence[SchoolCount] = (),
    package_id: str | None = None,
    created_at: dt.datetime | None = None,
) -> etree._Element:
    """The unsealed package element, with its empty seal slot (`seal_slot`)."""
    if not entries:
        raise ValueError("a package carries at least one record")
    if len(entries) > MAX_RECORDS:
        raise ValueError(f"a package carries at most {MAX_RECORDS} records")
    root = etree.Element(_q("GOI_TIN"), {"PHIEN_BAN_DINH_DANG": "1"}, nsmap={None: NS})  # type: ignore[dict-item]
    content = etree.SubElement(root, _q("NOI_DUNG"), {"Id": CONTENT_ID})
    _sub(content, "MA_GOI", package_id or str(uuid.uuid4()))
    who = etree.SubElement(content, _q("NGUOI_GUI"))
    _sub(who, "LOAI", sender.kind)
    _sub(who, "MA", sender.code)
    _sub(who, "MST", sender.tax_code)
    _sub(content, "THOI_GIAN_TAO", _time(created_at or dt.datetime.now(dt.UTC)))
    if counts:
        stats = etree.SubElement(content, _q("THONG_KE"))
        for count in counts:
            etree.SubElement(
                stats,
                _q("TRUONG"),
                {
                    "MA_TRUONG": count.school_code,
                    "NAM_HOC": count.school_year,
                    "SO_HOC_SINH": str(count.students),
                    "SO_HOC_BA_DA_TAO": str(count.created),
                    "SO_HOC_BA_DA_PHAT_HANH": str(count.issued),
                },
            )
    listing = etree.SubElement(content, _q("DANH_SACH"))
    for entry in entries:
        element = etree.SubElement(
            listing,
            _q("HOC_BA"),
            {
                "MA_DINH_DANH_HOC_BA": entry.record_id,
                "PHIEN_BAN": str(entry.version),
                "SU_KIEN": entry.event,
                "SHA256": entry.sha256,
            },
        )
        element.text = base64.b64encode(entry.content).decode("ascii")
    etree.SubElement(root, _q("CHU_KY"))
    return root


def content_of(root: etree._Element) -> etree._Element:
    """NOI_DUNG of a package built by `build`: what the seal signs."""
    content = next(root.iterchildren(_q("NOI_DUNG")), None)
    assert content is not None, "not a package built by build()"
    return content


def seal_slot(root: etree._Element) -> etree._Element:
    """CHU_KY of a package built by `build`: where the seal goes."""
    slot = next(root.iterchildren(_q("CHU_KY")), None)
    assert slot is not None, "not a package built by build()"
    return slot


def package_id_of(data: bytes) -> str:
    """The package id (MA_GOI) of the package `data`, read before anything else is checked
    (PackageRejected("PACKAGE_MALFORMED") when it is not a package or the id not a UUID)."""
    root = _parse(data)
    content = next(root.iterchildren(_q("NOI_DUNG")), None)
    found = None if content is None else next(content.iterchildren(_q("MA_GOI")), None)
    text = "" if found is None or len(found) else found.text or ""
    if root.tag != _q("GOI_TIN") or not _is_uuid(text):
        raise PackageRejected("PACKAGE_MALFORMED", "Tệp gửi lên không phải gói tin học bạ")
    return text


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _parse(data: bytes) -> etree._Element:
    try:
        return parse_untrusted(data, max_bytes=MAX_PACKAGE_BYTES, keep_whitespace=True)
    except XmlRejected as rejected:
        raise PackageRejected("PACKAGE_MALFORMED", rejected.message) from None


def parse(data: bytes) -> tuple[etree._Element, etree._Element]:
    """The root of the package `data` (hardened parser, the schema) and its seal's ds:Signature;
    PackageRejected otherwise (PACKAGE_MALFORMED, PACKAGE_NOT_SEALED)."""
    root = _parse(data)
    if root.tag != _q("GOI_TIN"):
        raise PackageRejected("PACKAGE_MALFORMED", "Tệp gửi lên không phải gói tin học bạ")
    checker = schema()
    try:
        valid = checker.validate(root)
    except etree.Error as error:
        raise PackageRejected("PACKAGE_MALFORMED", f"Gói tin không đúng lược đồ: {error}") from None
    if not valid:
        errors = "; ".join(
            f"dòng {e.line}: {e.message}"
            for e in list(checker.error_log)[:3]  # type: ignore[call-overload]
        )
        raise PackageRejected("PACKAGE_MALFORMED", f"Gói tin không đúng lược đồ: {errors}")
    slot = next(root.iterchildren(_q("CHU_KY")), None)
    signature = None if slot is None else next(slot.iterchildren(_SIGNATURE), None)
    if signature is None:
        raise PackageRejected("PACKAGE_NOT_SEALED", "Gói tin chưa được ký số bởi đơn vị gửi")
    return root, signature


def _child_text(parent: etree._Element, name: str) -> str:
    found = next(parent.iterchildren(_q(name)), None)
    return "" if found is None else "".join(str(text) for text in found.itertext())


def read(content: etree._Element) -> Package:
    """The package whose NOI_DUNG, already checked against the schema and the seal, is
    `content` (the element the seal references, `#noidung`). Entries whose bytes do not match
    their declared hash are listed in `entry_problems`, so the other records can still be
    taken."""
    who = next(content.iterchildren(_q("NGUOI_GUI")))
    sender = Sender(_child_text(who, "LOAI"), _child_text(who, "MA"), _child_text(who, "MST"))
    created = dt.datetime.fromisoformat(
        _child_text(content, "THOI_GIAN_TAO").replace("Z", "+00:00")
    )
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    counts: list[SchoolCount] = []
    stats = next(content.iterchildren(_q("THONG_KE")), None)
    for school in () if stats is None else stats.iterchildren(_q("TRUONG")):
        counts.append(
            SchoolCount(
                school.get("MA_TRUONG", ""),
                school.get("NAM_HOC", ""),
                int(school.get("SO_HOC_SINH", "0")),
                int(school.get("SO_HOC_BA_DA_TAO", "0")),
                int(school.get("SO_HOC_BA_DA_PHAT_HANH", "0")),
            )
        )
    entries: list[Entry] = []
    problems: dict[int, tuple[str, str]] = {}
    listing = next(content.iterchildren(_q("DANH_SACH")))
    for index, element in enumerate(listing.iterchildren(_q("HOC_BA"))):
        try:
            raw = binascii.a2b_base64(element.text or "")  # line breaks are skipped
        except binascii.Error:
            raw = b""
        entry = Entry(
            element.get("MA_DINH_DANH_HOC_BA", ""),
            int(element.get("PHIEN_BAN", "0")),
            element.get("SU_KIEN", ""),
            raw,
        )
        if entry.sha256 != element.get("SHA256"):
            problems[index] = (
                "RECORD_HASH_MISMATCH",
                "Nội dung học bạ trong gói tin không khớp mã băm khai báo",
            )
        entries.append(entry)
    return Package(
        package_id=_child_text(content, "MA_GOI"),
        sender=sender,
        created_at=created,
        entries=entries,
        counts=counts,
        entry_problems=problems,
    )
