"""Is a certificate revoked? OCSP first (the responder named in the certificate), then the CRLs
the deployment configured; UNKNOWN when neither can answer. Answers are cached per serial."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from hocba.signing.certs import ocsp_urls


class Status(StrEnum):
    GOOD = "GOOD"
    REVOKED = "REVOKED"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class Answer:
    status: Status
    source: str
    """"ocsp", "crl" or "" when nothing answered."""
    revoked_at: dt.datetime | None = None


@dataclass
class RevocationChecker:
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)
    use_ocsp: bool = True
    timeout: float = 2.0
    _cache: dict[int, Answer] = field(default_factory=dict)
    _client: httpx.Client | None = None

    @classmethod
    def from_files(cls, paths: list[str], use_ocsp: bool = True) -> RevocationChecker:
        crls = []
        for path in paths:
            data = open(path, "rb").read()  # noqa: SIM115 - small files, read once
            crls.append(
                x509.load_pem_x509_crl(data)
                if data.startswith(b"-----")
                else x509.load_der_x509_crl(data)
            )
        return cls(crls=crls, use_ocsp=use_ocsp)

    def status(
        self, cert: x509.Certificate, issuer: x509.Certificate, serial: int | None = None
    ) -> Answer:
        """`serial`: the certificate's serial number when the caller already holds it (reading
        it from the certificate costs more than the cached answer)."""
        key = cert.serial_number if serial is None else serial
        if key not in self._cache:
            self._cache[key] = self._ask(cert, issuer)
        return self._cache[key]

    def _ask(self, cert: x509.Certificate, issuer: x509.Certificate) -> Answer:
        if self.use_ocsp:
            for url in ocsp_urls(cert):
                answer = self._ocsp(url, cert, issuer)
                if answer is not None:
                    return answer
        now = dt.datetime.now(dt.UTC)
        for crl in self.crls:
            if crl.issuer != issuer.subject or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                continue
            if crl.next_update_utc is not None and crl.next_update_utc < now:
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                return Answer(Status.REVOKED, "crl", entry.revocation_date_utc)
            return Answer(Status.GOOD, "crl")
        return Answer(Status.UNKNOWN, "")

    def _ocsp(self, url: str, cert: x509.Certificate, issuer: x509.Certificate) -> Answer | None:
        request = (
            ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303 - OCSP CertID
        )
        if self._client is None:
            # one client for every OCSP request: building a TLS context costs ~40 ms
            self._client = httpx.Client(timeout=self.timeout)
        try:
            response = self._client.post(
                url,
                content=request.public_bytes(serialization.Encoding.DER),
                headers={"Content-Type": "application/ocsp-request"},
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            answer = ocsp.load_der_ocsp_response(response.content)
        except ValueError:
            return None
        if answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        if answer.serial_number != cert.serial_number:
            return None
        try:
            issuer.public_key().verify(  # type: ignore[call-arg]
                answer.signature, answer.tbs_response_bytes, *_verify_args(issuer, answer)
            )
        except Exception:
            return None
        if answer.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return Answer(Status.GOOD, "ocsp")
        if answer.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            return Answer(Status.REVOKED, "ocsp", answer.revocation_time_utc)
        return None


def _verify_args(issuer: x509.Certificate, answer: ocsp.OCSPResponse) -> tuple[object, ...]:
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    key = issuer.public_key()
    algorithm = answer.signature_hash_algorithm
    if isinstance(key, rsa.RSAPublicKey):
        return (padding.PKCS1v15(), algorithm)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return (ec.ECDSA(algorithm),)  # type: ignore[arg-type]
    raise ValueError("unsupported responder key")
