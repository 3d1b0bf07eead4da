"""Records and packages signed with certificates of the test run's development PKI, outside the
school's signing service: any record id, version, event and issuer fields a test needs (the
records a school could sign with its own keys, whatever it writes into them), each verifying
at the warehouse with the same trust as the demo's records."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from hocba.formats import build
from hocba.formats import model as m
from hocba.formats import package as pkg
from hocba.signing import config
from hocba.signing import package as sealing
from hocba.signing.dev.pki import DevPki
from hocba.signing.signers import Pkcs12Signer
from tests.records.factories import sample_record
from tests.signing.helpers import sign_all, sign_step

TEACHER_ID = "025085001234"  # the subject teacher of the sample record
HOMEROOM_ID = "025085004321"
PRINCIPAL_ID = "025070001111"


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
        for personal_id, name in (
            (TEACHER_ID, "Nguyễn Thị Hoa"),
            (HOMEROOM_ID, "Lê Văn Chủ"),
            (PRINCIPAL_ID, "Đỗ Gia Tuấn"),
        ):
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
            content = sign_all(build(record), ["TOAN", "GDTC"], self._signer_for(issuer))
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
