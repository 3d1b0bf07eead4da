"""Certificates as the project reads them: who they name (personal ID number, school tax code),
what they may do, whether they chain to a trusted root at a given time. Pure (no Django)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from hocba import limits
from hocba.signing.caches import Bounded

_SHA256 = hashes.SHA256()

HOLDER = NameOID.USER_ID
"""The one subject attribute that names a certificate's holder: UID (0.9.2342.19200300.100.1.1),
as Vietnamese certification providers write it."""
PERSON = re.compile(r"(?:CCCD|CMND|SDDCN|PID):([0-9]{12})")
"""A whole UID value naming a person: the 12-digit personal ID number under one of the labels
Vietnamese certification providers write it with (căn cước công dân, chứng minh nhân dân, số
định danh cá nhân, personal ID)."""
ORGANISATION = re.compile(r"MST:([0-9]{10}(?:-[0-9]{3})?)")
"""A whole UID value naming an organisation: its tax code (10 digits, or 13 for a branch)."""


@dataclass(frozen=True)
class Holder:
    """Who a certificate names: a person (by personal ID number) or an organisation (by tax
    code), never both; neither when the subject does not name one the way the profile reads."""

    personal_id: str | None = None
    tax_code: str | None = None


def holder_of(cert: x509.Certificate) -> Holder:
    """The holder named by the subject's UID values, each parsed as a whole (never a search):

    - a person when the values name exactly one personal ID number (`PERSON`; the same number
      under two labels is one person, two different numbers name nobody). Other UID values
      beside it, such as the employer's `MST:` on the certificate of an employee ("cá nhân thuộc
      tổ chức"), do not change whose certificate it is: a person's certificate is never an
      organisation's;
    - an organisation when the UID values are its tax code and nothing else (`ORGANISATION`,
      one tax code): a value that might name a person, under a label this reader does not
      know, could make an employee's certificate pass for the organisation's seal.

    Nothing else in the subject counts: an ID number or tax code in an OU, an O, a CN or a
    serialNumber, or inside a longer UID value, names nobody."""
    try:
        values = [a.value for a in cert.subject.get_attributes_for_oid(HOLDER)]
    except ValueError:  # a subject that cannot be decoded names nobody
        return Holder()
    texts = [value if isinstance(value, str) else "" for value in values]
    people = {match.group(1) for match in map(PERSON.fullmatch, texts) if match is not None}
    if people:
        return Holder(personal_id=people.pop()) if len(people) == 1 else Holder()
    organisations = [ORGANISATION.fullmatch(text) for text in texts]
    codes = {match.group(1) for match in organisations if match is not None}
    if len(codes) == 1 and None not in organisations:
        return Holder(tax_code=codes.pop())
    return Holder()


def personal_id_of(cert: x509.Certificate) -> str | None:
    """The 12-digit personal ID a personal certificate names (`holder_of`)."""
    return holder_of(cert).personal_id


def tax_code_of(cert: x509.Certificate) -> str | None:
    """The tax code an organisation certificate names (`holder_of`)."""
    return holder_of(cert).tax_code


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def can_sign_documents(cert: x509.Certificate) -> bool:
    """Key usage allows digital signatures or non-repudiation (absent extension: allowed; an
    extension that cannot be decoded: not allowed)."""
    try:
        usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound:
        return True
    except ValueError:
        return False
    return bool(usage.digital_signature or usage.content_commitment)


def can_sign_ocsp(cert: x509.Certificate) -> bool:
    """The extended key usage names OCSPSigning (a responder the CA delegated its answers to)."""
    try:
        usage = cert.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.OCSP_SIGNING in usage


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` issued `cert`: the names match and the issuer's key verifies the
    certificate's signature (cryptography's own check, whatever the algorithms). Anything a
    hostile certificate can make that check raise (a signature algorithm nobody knows, a key and
    algorithm that do not go together, fields that cannot be decoded) answers False."""
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def valid_at(cert: x509.Certificate, when: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        str(d.access_location.value)
        for d in aia.value
        if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP
    ]


@dataclass
class TrustStore:
    """Trust anchors (roots) and intermediate certificates that may complete a chain."""

    roots: list[x509.Certificate] = field(default_factory=list)
    intermediates: list[x509.Certificate] = field(default_factory=list)
    _chains: Bounded[bytes, list[x509.Certificate]] = field(
        default_factory=lambda: Bounded(limits.CERTIFICATE_CHAINS_CACHED), repr=False
    )
    """Chains by certificate fingerprint ([] when there is none), bounded: anyone may upload
    certificates."""

    @classmethod
    def from_pem(cls, roots: Iterable[bytes], intermediates: Iterable[bytes] = ()) -> TrustStore:
        store = cls()
        for blob in roots:
            store.roots += x509.load_pem_x509_certificates(blob)
        for blob in intermediates:
            store.intermediates += x509.load_pem_x509_certificates(blob)
        return store

    def chain(self, cert: x509.Certificate) -> list[x509.Certificate] | None:
        """[cert, intermediate…, root] when it chains to a trust anchor, else None (cached)."""
        key = cert.fingerprint(_SHA256)
        found = self._chains.get(key)
        if found is not None:
            return found or None
        result = self._build(cert, [cert], 0)
        self._chains.put(key, result or [])
        return result

    def _build(
        self, cert: x509.Certificate, path: list[x509.Certificate], depth: int
    ) -> list[x509.Certificate] | None:
        if depth > 5:
            return None
        for root in self.roots:
            if cert == root:
                return path
            if issued_by(cert, root):
                return [*path, root]
        for candidate in self.intermediates:
            if candidate != cert and issued_by(cert, candidate):
                found = self._build(candidate, [*path, candidate], depth + 1)
                if found:
                    return found
        return None
