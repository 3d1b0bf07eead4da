"""Records and what is built from them without a database: a complete record of each level as
dataclasses, records signed outside the service step by step (for what the service would refuse:
wrong certificates, wrong order, attacks) or through all four steps, and packages sealed by an
organisation key.

Two sets of keys: a `Kit` holds a fresh development PKI of its own (an attacker with trusted
keys, like an insider, and a verifier trusting only that PKI); `Keys` are issued by the test
run's development PKI, the one the warehouse and `config.verifier()` trust."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from lxml import etree

from hocba.formats import build, parse_untrusted
from hocba.formats import model as m
from hocba.formats import package as pkg
from hocba.formats.builder import NS, serialize
from hocba.signing import config, profile
from hocba.signing import package as sealing
from hocba.signing.certs import TrustStore
from hocba.signing.dev.pki import DevPki, create, new_key
from hocba.signing.revocation import RevocationChecker
from hocba.signing.signers import Pkcs12Signer, Signer
from hocba.signing.verify import Verifier

# The people and the school the sample record names.
TEACHER_ID = "025085001234"  # the subject teacher of both subjects
HOMEROOM_ID = "025085004321"
PRINCIPAL_ID = "025070001111"
TAX_CODE = "2600100202"
PEOPLE = (
    (TEACHER_ID, "Nguyễn Thị Hoa"),
    (HOMEROOM_ID, "Lê Văn Chủ"),
    (PRINCIPAL_ID, "Đỗ Gia Tuấn"),
)
SUBJECTS = ["TOAN", "GDTC"]
SLOTS = ("GVBM", "GVCN", "CBQL", "KY_PHAT_HANH")

TEACHER = m.Person(TEACHER_ID, "Nguyễn Thị Hoa")


# --- records as dataclasses ---------------------------------------------------------------


def sample_record(**envelope_changes) -> m.Record:
    envelope = m.Envelope(
        record_id="2f1c8a0e-4b7d-4c2a-9e51-3d6f0a9b8c71", version=1, event="NEW", status=1,
        circular="22/2021/TT-BGDĐT", school_year="2024-2025",
    )  # fmt: skip
    envelope = dataclasses.replace(envelope, **envelope_changes)
    return m.Record(
        envelope=envelope,
        school=m.School(
            "25",
            "Sở Giáo dục và Đào tạo Phú Thọ",
            "25000201",
            "Trường THCS Chu Văn An",
            "THCS",
            "Phường Tiên Cát",
            "Tỉnh Phú Thọ",
            "25",
            "08011",
            "",
            TAX_CODE,
        ),
        student=m.Student(
            "025212001234",
            "2502000001",
            "Nguyễn Thị Ánh",
            dt.date(2012, 3, 4),
            "2",
            "01",
            "VN",
            m.Place("Bệnh viện Đa khoa tỉnh Phú Thọ"),
            m.Place("Xã Hy Cương, Tỉnh Phú Thọ", "", "25"),
            m.Place("Số 5 đường Trần Phú, Phường Tiên Cát", "08011", "25"),
            father_name="Nguyễn Văn Bình",
            mother_name="Trần Thị Cúc",
        ),
        grade=7,
        class_name="7A",
        history=(
            m.HistoryRow("2023-2024", "6A", "Trường THCS Chu Văn An", "Tỉnh Phú Thọ"),
            m.HistoryRow("2024-2025", "7A", "Trường THCS Chu Văn An", "Tỉnh Phú Thọ"),
        ),
        subjects=(
            m.SubjectResult("TOAN", "Toán", TEACHER, "7.8", "8.6", "8.3", comment="Tiến bộ rõ"),
            m.SubjectResult("GDTC", "Giáo dục thể chất", TEACHER, "Đ", "Đ", "Đ"),
        ),
        summary=m.Summary(
            promoted=True,
            outcome="PROMOTED",
            outcome_text="Được lên lớp",
            completes_level=False,
            absences="2.0",
            homeroom_comment="Chăm ngoan, học tốt.",
            learning_hk1="T",
            learning_hk2="T",
            learning_year="T",
            conduct_hk1="K",
            conduct_hk2="T",
            conduct_year="T",
            award_title="HOC_SINH_GIOI",
        ),
        confirmation=m.Confirmation(
            m.Person(HOMEROOM_ID, "Lê Văn Chủ"),
            m.Person(PRINCIPAL_ID, "Đỗ Gia Tuấn", "Hiệu trưởng"),
            "Phú Thọ",
            dt.date(2025, 5, 30),
        ),
    )


def record_of_level(level: str, **envelope_changes) -> m.Record:
    """A complete record of a primary school (TH, TT27), a lower- or upper-secondary school
    (THCS, THPT, TT22) or a continuing-education centre (GDTX, TT43)."""
    record = sample_record(**envelope_changes)
    school = dataclasses.replace(record.school, level=level)
    if level == "THCS":
        return record
    if level == "THPT":
        return dataclasses.replace(
            record, school=dataclasses.replace(school, name="Trường THPT Hùng Vương"), grade=11,
            class_name="11A1",
        )  # fmt: skip
    if level == "GDTX":
        return dataclasses.replace(
            record,
            envelope=dataclasses.replace(record.envelope, circular="43/2021/TT-BGDĐT"),
            school=dataclasses.replace(school, name="Trung tâm GDNN-GDTX Việt Trì"),
            grade=10,
            class_name="10B",
        )
    assert level == "TH", level
    return dataclasses.replace(
        record,
        envelope=dataclasses.replace(record.envelope, circular="27/2020/TT-BGDĐT"),
        school=dataclasses.replace(school, name="Trường Tiểu học Kim Đồng"),
        grade=4,
        class_name="4B",
        subjects=(
            m.SubjectResult(
                "TIENG_VIET", "Tiếng Việt", TEACHER, level="T", test="9", comment="Đọc tốt"
            ),
            m.SubjectResult("TOAN", "Toán", TEACHER, level="H", test="7"),
        ),
        summary=m.Summary(
            promoted=True,
            outcome="PROMOTED",
            outcome_text="Được lên lớp",
            completes_level=False,
            absences="0",
            homeroom_comment="Ngoan, chăm học.",
            primary_result="HTT",
            qualities=(m.Mark("YEU_NUOC", "T"), m.Mark("CHAM_CHI", "Đ")),
            competencies=(m.Mark("TU_CHU_TU_HOC", "T"), m.Mark("NGON_NGU", "Đ")),
        ),
    )


# --- signing outside the service ---------------------------------------------------------

Q = f"{{{NS}}}"


def slot_of(root: etree._Element, slot: str, subject: str | None = None) -> etree._Element:
    if slot == "GVBM":
        return root.find(f".//{Q}DANH_SACH_GVBM/{Q}GVBM[@MON='mon-{subject}']")
    if slot == "GVCN":
        return root.find(f".//{Q}DANH_SACH_THONG_TIN_KY/{Q}GVCN")
    return root.find(f".//{Q}PHAT_HANH_HOC_BA/{Q}{slot}")


TARGETS = {"GVCN": "thongtinhocba", "CBQL": "data", "KY_PHAT_HANH": "data"}


def sign_step(
    content: bytes,
    slot: str,
    signer: Signer,
    subject: str | None = None,
    when: dt.datetime | None = None,
    sig_id: str | None = None,
) -> bytes:
    root = parse_untrusted(content, keep_whitespace=True)
    ids = profile.ids_of(root)
    target = ids[f"mon-{subject}" if slot == "GVBM" else TARGETS[slot]][0]
    element = slot_of(root, slot, subject)
    count = len(element)
    prepared = profile.prepare(
        element,
        target,
        signer.certificate,
        when or dt.datetime.now(dt.UTC),
        sig_id or f"sig-{slot.lower()}-{subject or ''}-{count}",
        signer.algorithm,
    )
    profile.embed(prepared, signer.sign_digests([prepared.digest])[0])
    return serialize(root)


def sign_all(
    content: bytes,
    subjects: list[str],
    signer_for: Callable[[str, str | None], Signer],
    slots: tuple[str, ...] = ("GVBM", "GVCN", "CBQL", "KY_PHAT_HANH"),
) -> bytes:
    for slot in slots:
        if slot == "GVBM":
            for subject in subjects:
                content = sign_step(content, "GVBM", signer_for("GVBM", subject), subject)
        else:
            content = sign_step(content, slot, signer_for(slot, None))
    return content


# --- a development PKI of its own ----------------------------------------------------------


@dataclass
class Kit:
    pki: DevPki
    signers: dict[str, Pkcs12Signer]
    """By slot: GVBM, GVCN, CBQL, KY_PHAT_HANH."""

    def verifier(self, use_ocsp: bool = False) -> Verifier:
        trust = TrustStore.from_pem(
            [(self.pki.path / "ca/root.pem").read_bytes()],
            [(self.pki.path / "ca/issuing.pem").read_bytes()],
        )
        return Verifier(
            trust, RevocationChecker.from_files([str(self.pki.crl_path)], use_ocsp=use_ocsp)
        )

    def signed(self, record: m.Record | None = None) -> bytes:
        """`record` (the sample record by default) signed in its order: all four steps, or the
        principal's alone for a revocation."""
        record = record or sample_record()
        content = build(record)
        if record.envelope.event == "CANCEL":
            return sign_step(content, "CBQL", self.signers["CBQL"])
        return self.sign_bytes(content)

    def sign_bytes(self, content: bytes, slots: tuple[str, ...] = SLOTS) -> bytes:
        """The record XML `content` signed through `slots` with the kit's keys."""
        return sign_all(content, SUBJECTS, lambda slot, _subject: self.signers[slot], slots)

    def person(self, subject: x509.Name) -> Pkcs12Signer:
        """A signer whose certificate, issued by the trusted CA, has exactly `subject`."""
        key = new_key()
        return Pkcs12Signer(key, self.pki._issue(subject, key))


def make_kit(path: Path, ocsp_url: str = "http://127.0.0.1:9/ocsp") -> Kit:
    pki = create(path, ocsp_url=ocsp_url)
    signers: dict[str, Pkcs12Signer] = {
        slot: Pkcs12Signer(*pki.issue_person(*person))
        for slot, person in zip(("GVBM", "GVCN", "CBQL"), PEOPLE, strict=True)
    }
    signers["KY_PHAT_HANH"] = Pkcs12Signer(*pki.issue_org(TAX_CODE, "Trường THCS Chu Văn An"))
    return Kit(pki, signers)


# --- the test run's development PKI -----------------------------------------------------


@dataclass(frozen=True)
class Issuer:
    """The issuer fields of a record (TRUONG) and of the account that sends it."""

    school_code: str
    tax_code: str
    province_code: str
    province_office_code: str

    def school(self, **changes: object) -> m.School:
        """The sample record's school with these issuer fields (and `changes`: its name,
        district …)."""
        base = sample_record().school
        return dataclasses.replace(
            base,
            code=self.school_code,
            tax_code=self.tax_code,
            province_code=self.province_code,
            province_office_code=self.province_office_code,
            **changes,  # type: ignore[arg-type]
        )


@dataclass
class Keys:
    """Signers from the development PKI (the one `config.verifier()` trusts): the sample record's
    teachers and principal, and one organisation seal per tax code, made on first use."""

    pki: DevPki
    people: dict[str, Pkcs12Signer] = field(default_factory=dict)
    seals: dict[str, Pkcs12Signer] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Keys:
        keys = cls(DevPki.load(config.pki_dir()))
        for personal_id, name in PEOPLE:
            keys.people[personal_id] = Pkcs12Signer(*keys.pki.issue_person(personal_id, name))
        return keys

    def seal(self, tax_code: str) -> Pkcs12Signer:
        if tax_code not in self.seals:
            self.seals[tax_code] = Pkcs12Signer(*self.pki.issue_org(tax_code, f"MST {tax_code}"))
        return self.seals[tax_code]

    def record(
        self,
        issuer: Issuer,
        record_id: str | None = None,
        version: int = 1,
        event: str = "NEW",
        reason: str = "",
        school_year: str | None = None,
        school_changes: dict[str, object] | None = None,
        **record_changes: object,
    ) -> pkg.Entry:
        """An issued record (every step signed) or, for a CANCEL, a revocation signed by the
        principal, as a package entry; `record_changes` replace fields of the sample record,
        `school_changes` fields of its school (TRUONG) besides the issuer's."""
        record_id = record_id or str(uuid.uuid4())
        changes: dict[str, object] = {"record_id": record_id, "version": version, "event": event}
        if version > 1:
            changes.update(reason=reason or "Điều chỉnh", replaces_version=version - 1)
        if event == "CANCEL":
            changes.update(status=2, reason=reason or "Cấp nhầm")
        if school_year is not None:
            changes["school_year"] = school_year
        school = issuer.school(**(school_changes or {}))
        record = dataclasses.replace(sample_record(**changes), school=school, **record_changes)
        if event == "CANCEL":
            content = sign_step(build(record), "CBQL", self.people[PRINCIPAL_ID])
        else:
            content = sign_all(build(record), SUBJECTS, self._signer_for(issuer))
        return pkg.Entry(record_id, version, event, content)

    def _signer_for(self, issuer: Issuer):  # type: ignore[no-untyped-def]
        def signer_for(slot: str, subject: str | None) -> Pkcs12Signer:
            if slot == "KY_PHAT_HANH":
                return self.seal(issuer.tax_code)
            return self.people[
                {"GVBM": TEACHER_ID, "GVCN": HOMEROOM_ID, "CBQL": PRINCIPAL_ID}[slot]
            ]

        return signer_for

    def package(self, sender: pkg.Sender, entries: Sequence[pkg.Entry]) -> bytes:
        """A package sealed by the sender's own organisation key (its tax code)."""
        return sealing.seal(pkg.build(sender, entries), self.seal(sender.tax_code))


# --- the sending school of the exchange tests -------------------------------------------------

# A school outside the demo province, sending real records to a real warehouse.
SCHOOL = "25000299"
TAX = "2600000299"
NAME = "Trường THCS Thử Nghiệm"
CLIENT_ID = f"truong-{SCHOOL}"
SECRET = "gui-hoc-ba-bi-mat-0123456789"


@functools.cache
def signed_records(n: int) -> tuple[bytes, ...]:
    """`n` records of the sending school, signed through all four steps (15 signatures each,
    about 58 KB, as a real school's) by the test run's development PKI, which the warehouse
    trusts (new record ids each call with a new `n`; the same bytes for the same `n` within a
    test run)."""
    from bench.records import records
    from bench.sign import fully_signed

    path = config.pki_dir()
    pki = DevPki.load(path) if (path / "pki.json").exists() else create(path)
    base = [
        dataclasses.replace(
            r, school=dataclasses.replace(r.school, code=SCHOOL, name=NAME, tax_code=TAX)
        )
        for r in records(n, seed=n)
    ]
    signed, _ = fully_signed(pki, base, tax_code=TAX)
    return tuple(signed)
