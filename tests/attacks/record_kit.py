"""What the record attacks start from, without a database: a development PKI with the keys of
the people a sample record names (so an attacker here holds trusted keys, like an insider), a
verifier trusting it (CRL answers, no network), and records signed through all four steps."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from hocba.formats import build
from hocba.formats.model import Record
from hocba.formats.report import Report
from hocba.signing.certs import TrustStore
from hocba.signing.dev.pki import DevPki, create, new_key
from hocba.signing.revocation import RevocationChecker
from hocba.signing.signers import Pkcs12Signer
from hocba.signing.verify import Verifier
from tests.records.factories import sample_record
from tests.signing.helpers import sign_all, sign_step

TEACHER_ID = "025085001234"
HOMEROOM_ID = "025085004321"
PRINCIPAL_ID = "025070001111"
TAX_CODE = "2600100202"
SUBJECTS = ["TOAN", "GDTC"]
SLOTS = ("GVBM", "GVCN", "CBQL", "KY_PHAT_HANH")


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

    def signed(self, record: Record | None = None) -> bytes:
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
    signers = {
        "GVBM": Pkcs12Signer(*pki.issue_person(TEACHER_ID, "Nguyễn Thị Hoa")),
        "GVCN": Pkcs12Signer(*pki.issue_person(HOMEROOM_ID, "Lê Văn Chủ")),
        "CBQL": Pkcs12Signer(*pki.issue_person(PRINCIPAL_ID, "Đỗ Gia Tuấn")),
        "KY_PHAT_HANH": Pkcs12Signer(*pki.issue_org(TAX_CODE, "Trường THCS Chu Văn An")),
    }
    return Kit(pki, signers)


def failed_codes(report: Report) -> set[str]:
    return {c.code or "" for c in report.checks if c.status == "FAIL"}
