"""Certificates as the project reads them: who they name (personal ID number, school tax code),
what they may do, whether they chain to a trusted root at a given time. Pure (no Django)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

from hocba import limits
from hocba.signing.caches import Bounded

_SHA256 = hashes.SHA256()

HOLDER = NameOID.USER_ID
"""The one subject attribute that names a certificate's holder: UID (0.9.2342.19200300.100.1.1),
as Vietnamese certification providers write it."""
PERSON = re.compile(r"CCCD:([0-9]{12})")
"""The whole UID of a personal certificate: the 12-digit personal ID number."""
ORGANISATION = re.compile(r"MST:([0-9]{10}(?:-[0-9]{3})?)")
"""The whole UID of an organisation certificate: its tax code (10 digits, or 13 for a branch)."""


@dataclass(frozen=True)
class Holder:
    """Who a certificate names: a person (by personal ID number) or an organisation (by tax
    code), never both; neither when the subject does not name one the way the profile reads."""

    personal_id: str | None = None
    tax_code: str | None = None


def holder_of(cert: x509.Certificate) -> Holder:
    """The holder named by the subject's UID attribute, parsed as a whole: `CCCD:<12 digits>`
    for a person, `MST:<10 digits>[-<3 digits>]` for an organisation. Nothing else in the
    subject counts (an OU or an O that contains an ID number names nobody), and a subject with
    no UID or with more than one names nobody: which of two values would be the holder is not
    for the verifier to guess."""
    values = cert.subject.get_attributes_for_oid(HOLDER)
    if len(values) != 1 or not isinstance(values[0].value, str):
        return Holder()
    value = values[0].value
    person = PERSON.fullmatch(value)
    if person is not None:
        return Holder(personal_id=person.group(1))
    organisation = ORGANISATION.fullmatch(value)
    if organisation is not None:
        return Holder(tax_code=organisation.group(1))
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
    """Key usage allows digital signatures or non-repudiation (absent extension: allowed)."""
    try:
        usage = cert.extensions.get_extension_for_oid(ExtensionOID.KEY_USAGE).value
    except x509.ExtensionNotFound:
        return True
    return bool(usage.digital_signature or usage.content_commitment)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    key = issuer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(
                cert.signature,
                cert.tbs_certificate_bytes,
                padding.PKCS1v15(),
                cert.signature_hash_algorithm,
            )
        elif isinstance(key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(
                cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
            )
        else:
            return False
    except InvalidSignature:
        return False
    return True


def valid_at(cert: x509.Certificate, when: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= when <= cert.not_valid_after_utc


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    except x509.ExtensionNotFound:
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
