"""The package (gói tin): records travelling from a school to a warehouse, sealed by the sender.

A package carries each record as the exact bytes that were signed (base64 in `HOC_BA`, with
its id, version, event and SHA-256), so nothing the record's signatures cover is touched on the
way. The sender's organisation certificate seals `NOI_DUNG` with the same XMLDSig + XAdES-BES
profile as the record (`hocba.signing.profile`); the seal goes in `CHU_KY`, outside what it
signs. The schema is `formats/hocba-package.xsd` (`hocba records xsd --package`).

Pure: lxml + the signature profile, no Django.
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
from hocba.formats.safe import XmlRejected, parse_untrusted
from hocba.signing import profile
from hocba.signing.signers import Signer

NS = "urn:hocba:goi-tin:1"
CONTENT_ID = "noidung"
SEAL_ID = "goitin-ky"
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


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def xsd_text() -> str:
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
    content: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class SchoolCount:
    """What a school reports about itself with each package (for statistics)."""

    school_code: str
    school_year: str
    students: int
    created: int
    issued: int


@dataclass(frozen=True)
class Sender:
    kind: str
    """TRUONG (a school) or SO (a provincial department forwarding)."""
    code: str
    tax_code: str


@dataclass
class Package:
    """A package as read by a warehouse (after the seal's cryptography was checked)."""

    package_id: str
    sender: Sender
    created_at: dt.datetime
    entries: list[Entry]
    counts: list[SchoolCount] = field(default_factory=list)
    seal_certificate: x509.Certificate | None = None
    seal_time: dt.datetime | None = None
    entry_problems: dict[int, tuple[str, str]] = field(default_factory=dict)
    """Entries whose bytes do not match their declared SHA-256 (index → code, message)."""


def entry_bytes(size: int) -> int:
    """At least what a record of `size` bytes adds to a sealed package (base64 is a third
    larger, in blocks of four characters; no line breaks)."""
    return 4 * -(-size // 3) + ENTRY_OVERHEAD_BYTES


def _time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def build(
    sender: Sender,
    entries: Sequence[Entry],
    counts: Sequence[SchoolCount] = (),
    package_id: str | None = None,
    created_at: dt.datetime | None = None,
) -> etree._Element:
    """The unsealed package element."""
    if not entries:
        raise ValueError("a package carries at least one record")
    if len(entries) > MAX_RECORDS:
        raise ValueError(f"a package carries at most {MAX_RECORDS} records")
    root = etree.Element(_q("GOI_TIN"), {"PHIEN_BAN_DINH_DANG": "1"}, nsmap={None: NS})
    content = etree.SubElement(root, _q("NOI_DUNG"), {profile.ID: CONTENT_ID})
    etree.SubElement(content, _q("MA_GOI")).text = package_id or str(uuid.uuid4())
    who = etree.SubElement(content, _q("NGUOI_GUI"))
    etree.SubElement(who, _q("LOAI")).text = sender.kind
    etree.SubElement(who, _q("MA")).text = sender.code
    etree.SubElement(who, _q("MST")).text = sender.tax_code
    when = created_at or dt.datetime.now(dt.UTC)
    etree.SubElement(content, _q("THOI_GIAN_TAO")).text = _time(when)
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


def seal(root: etree._Element, signer: Signer, when: dt.datetime | None = None) -> bytes:
    """Seal the package with the sender's organisation key; the bytes to submit."""
    content = root.find(_q("NOI_DUNG"))
    slot = root.find(_q("CHU_KY"))
    assert content is not None and slot is not None
    prepared = profile.prepare(
        slot,
        content,
        signer.certificate,
        when or dt.datetime.now(dt.UTC),
        SEAL_ID,
        signer.algorithm,
    )
    profile.embed(prepared, signer.sign_digests([prepared.digest])[0])
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def read(data: bytes) -> Package:
    """Parse a submitted package and check its seal's cryptography (PackageRejected otherwise).

    What the seal's certificate is allowed to do (trusted chain, the sender's tax code, not
    revoked) is for the warehouse to decide; entries whose bytes do not match their declared
    hash are listed in `entry_problems`, so the other records can still be taken.
    """
    try:
        root = parse_untrusted(data, max_bytes=MAX_PACKAGE_BYTES, keep_whitespace=True)
    except XmlRejected as rejected:
        raise PackageRejected("PACKAGE_MALFORMED", rejected.message) from None
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
    slot = root.find(_q("CHU_KY"))
    signature = slot.find(f"{{{profile.DS}}}Signature") if slot is not None else None
    if signature is None:
        raise PackageRejected("PACKAGE_NOT_SEALED", "Gói tin chưa được ký số bởi đơn vị gửi")
    ids = profile.ids_of(root)
    checked = profile.check(signature, ids)
    if checked.problem is not None or checked.target_id != CONTENT_ID:
        raise PackageRejected(
            "PACKAGE_SIGNATURE_INVALID",
            f"Chữ ký số của gói tin không hợp lệ ({checked.problem or 'WRONG_TARGET'})",
        )
    content = ids[CONTENT_ID][0]
    who = content.find(_q("NGUOI_GUI"))
    assert who is not None
    sender = Sender(
        who.findtext(_q("LOAI"), ""), who.findtext(_q("MA"), ""), who.findtext(_q("MST"), "")
    )
    created = dt.datetime.fromisoformat(
        content.findtext(_q("THOI_GIAN_TAO"), "").replace("Z", "+00:00")
    )
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    package = Package(
        package_id=content.findtext(_q("MA_GOI"), ""),
        sender=sender,
        created_at=created,
        entries=[],
        seal_certificate=checked.certificate,
        seal_time=checked.signing_time,
    )
    for school in content.iterfind(f"{_q('THONG_KE')}/{_q('TRUONG')}"):
        package.counts.append(
            SchoolCount(
                school.get("MA_TRUONG", ""),
                school.get("NAM_HOC", ""),
                int(school.get("SO_HOC_SINH", "0")),
                int(school.get("SO_HOC_BA_DA_TAO", "0")),
                int(school.get("SO_HOC_BA_DA_PHAT_HANH", "0")),
            )
        )
    for index, element in enumerate(content.iterfind(f"{_q('DANH_SACH')}/{_q('HOC_BA')}")):
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
            package.entry_problems[index] = (
                "RECORD_HASH_MISMATCH",
                "Nội dung học bạ trong gói tin không khớp mã băm khai báo",
            )
        package.entries.append(entry)
    return package
