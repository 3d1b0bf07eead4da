"""The development PKI for the schools and staff in the database: one SoftHSM2 token per school
holding a key and certificate for each staff member (label = personal ID) and the school's
organisation key (label = "MST:<tax code>"). Existing people keep their keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hocba.organizations.models import School, Staff
from hocba.signing import config
from hocba.signing.dev.pki import DEFAULT_OCSP_URL, DevPki, create
from hocba.signing.signers import Pkcs11Signer, import_to_token


def token_label(school: School) -> str:
    return f"HOCBA-{school.code}"[:32]


def org_label(school: School) -> str:
    return f"MST:{school.tax_code}"


@dataclass
class PkiSummary:
    path: Path
    people: int
    organisations: int
    tokens: int


def ensure_dev_pki(path: Path | None = None, ocsp_url: str = DEFAULT_OCSP_URL) -> PkiSummary:
    path = path or config.pki_dir()
    pki = DevPki.load(path) if (path / "pki.json").exists() else create(path, ocsp_url)
    people = pki.index.setdefault("people", {})
    orgs = pki.index.setdefault("orgs", {})
    tokens = pki.index.setdefault("tokens", {})
    for school in School.objects.order_by("code"):
        label = token_label(school)
        if label not in tokens:
            pki.init_token(label)
        items = []
        for person in Staff.objects.filter(school=school).order_by("personal_id"):
            if person.personal_id in people:
                continue
            key, cert = pki.issue_person(person.personal_id, person.full_name)
            p12 = pki.write_p12("people", person.personal_id, key, cert)
            people[person.personal_id] = {"p12": str(p12), "token": label}
            items.append((person.personal_id, key, cert))
        if school.tax_code and school.tax_code not in orgs:
            key, cert = pki.issue_org(school.tax_code, school.name)
            p12 = pki.write_p12("orgs", school.tax_code, key, cert)
            orgs[school.tax_code] = {"p12": str(p12), "token": label}
            items.append((org_label(school), key, cert))
        if items:
            import_to_token(config.pkcs11_library(), str(pki.softhsm_conf), label, pki.pin, items)
        pki.save()
    config.reset()
    return PkiSummary(path, len(people), len(orgs), len(tokens))


def token_signer(school: School, key_label: str, pin: str | None = None) -> Pkcs11Signer:
    """A signer for a key on the school's development token."""
    pki = DevPki.load(config.pki_dir())
    return Pkcs11Signer(
        config.pkcs11_library(),
        token_label(school),
        pin or pki.pin,
        key_label,
        str(pki.softhsm_conf),
    )
