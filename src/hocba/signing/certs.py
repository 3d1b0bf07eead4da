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

PERSONAL_ID = re.compile(r"(?:CCCD|CMND|SDDCN|PID)\s*:\s*(\d{12})")
TAX_CODE = re.compile(r"MST\s*:\s*(\d{10}(?:-\d{3})?)")
_SHA256 = hashes.SHA256()


def subject_texts(cert: x509.Certificate) -> list[str]:
    return [str(a.value) for a in cert.subject]


def personal_id_of(cert: x509.Certificate) -> str | None:
    """The 12-digit personal ID a personal certificate names (UID "CCCD:…" as Vietnamese CAs
    write it, or the serialNumber attribute)."""
    for text in subject_texts(cert):
        match = PERSONAL_ID.search(text)
        if match:
            return match.group(1)
    for attribute in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        value = str(attribute.value)
        if re.fullmatch(r"\d{12}", value):
            return value
    return None


def tax_code_of(cert: x509.Certificate) -> str | None:
    """The tax code ("MST:…") an organisation certificate names."""
    for text in subject_texts(cert):
        match = TAX_CODE.search(text)
        if match:
            return match.group(1)
    return None


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
