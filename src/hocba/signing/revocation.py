"""Is a certificate revoked? OCSP first (the responder named in the certificate), then the CRLs
the deployment configured; UNKNOWN when neither can answer.

Answers are fresh: a running process sees a revocation within `refresh` seconds (the setting
HOCBA_REVOCATION_REFRESH). An OCSP answer is kept until its nextUpdate and never longer than
`refresh` after it was received; a stale one (nextUpdate passed) is not believed. CRL files are
looked at every `refresh` seconds, and at once when the nextUpdate of the copy held passes; a
file that changed is read again (a file that cannot be read keeps the last good copy until its
nextUpdate). An answer drawn from a CRL is kept until the files are looked at next.

Whatever is built from answers and kept (a report in the cache, a page) asks `horizon()` until
when it may be kept: the earliest expiry of the answers it rests on, so the interval bounds the
staleness end to end, through every layer. Answers are kept in a bounded cache
(`limits.REVOCATION_ANSWERS_CACHED`, least recently used dropped first).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from hocba import limits
from hocba.signing.caches import Bounded
from hocba.signing.certs import ocsp_urls

DEFAULT_REFRESH = 300.0
"""Seconds within which a new revocation is seen (HOCBA_REVOCATION_REFRESH)."""


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
    until: float = math.inf
    """When the answer must be asked again (seconds since the epoch): the earlier of its
    source's nextUpdate and the refresh interval."""


@dataclass
class Horizon:
    """Until when a result built from revocation answers may be kept."""

    until: float = math.inf
    """The earliest `Answer.until` among the answers given (seconds since the epoch)."""


_HORIZON: ContextVar[Horizon | None] = ContextVar("hocba_revocation_horizon", default=None)


@contextmanager
def horizon() -> Iterator[Horizon]:
    """Note the expiry of every answer given inside the block (in this thread or task): a
    report verified inside it may be kept until `Horizon.until`, no longer."""
    seen = Horizon()
    token = _HORIZON.set(seen)
    try:
        yield seen
    finally:
        _HORIZON.reset(token)


@dataclass
class CrlFile:
    """A CRL published as a file by the deployment, read again when it changes."""

    path: Path
    crl: x509.CertificateRevocationList | None = None
    """The last copy read, if any could be."""
    stamp: tuple[int, int, int] | None = None
    """(inode, size, modification time in ns) of the file when that copy was read."""

    @property
    def next_update(self) -> float:
        """The held copy's nextUpdate (seconds since the epoch); infinite without one."""
        if self.crl is None or self.crl.next_update_utc is None:
            return math.inf
        return self.crl.next_update_utc.timestamp()

    def read(self) -> None:
        """Read the file (OSError, ValueError when it cannot be read or is no CRL)."""
        stat = os.stat(self.path)
        data = self.path.read_bytes()
        self.crl = (
            x509.load_pem_x509_crl(data)
            if data.lstrip().startswith(b"-----")
            else x509.load_der_x509_crl(data)
        )
        self.stamp = (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def look(self, now: float) -> None:
        """Read the file again when it changed or the held copy is past its nextUpdate; keep the
        held copy when the file cannot be read (a publisher replacing it, say)."""
        try:
            stat = os.stat(self.path)
        except OSError:
            return
        if (stat.st_ino, stat.st_size, stat.st_mtime_ns) == self.stamp and now < self.next_update:
            return
        try:
            self.read()
        except (OSError, ValueError):
            return


@dataclass
class RevocationChecker:
    crl_files: list[CrlFile] = field(default_factory=list)
    use_ocsp: bool = True
    timeout: float = 2.0
    refresh: float = DEFAULT_REFRESH
    """Seconds within which a revocation is seen (see the module's docstring)."""
    _answers: Bounded[tuple[int, int], tuple[x509.Certificate, Answer]] = field(
        default_factory=lambda: Bounded(
            limits.REVOCATION_ANSWERS_CACHED, until=lambda entry: entry[1].until
        ),
        repr=False,
    )
    _crls_due: float = 0.0
    """When the CRL files are looked at next (seconds since the epoch); the first answer
    looks."""
    _crls_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _client: httpx.Client | None = None

    @classmethod
    def from_files(
        cls, paths: list[str], use_ocsp: bool = True, refresh: float = DEFAULT_REFRESH
    ) -> RevocationChecker:
        """A checker over these CRL files (read now: a missing or broken file raises OSError or
        ValueError here; later, a file that cannot be read keeps its last good copy)."""
        files = [CrlFile(Path(path)) for path in paths]
        for crl_file in files:
            crl_file.read()
        return cls(crl_files=files, use_ocsp=use_ocsp, refresh=refresh)

    def status(
        self, cert: x509.Certificate, issuer: x509.Certificate, serial: int | None = None
    ) -> Answer:
        """`serial`: the certificate's serial number when the caller already holds it (reading
        it from the certificate costs more than the cached answer)."""
        now = time.time()
        if now >= self._crls_due:
            self._look(now)
        # keyed by the issuer object too (two CAs may use the same serial); the entry holds the
        # issuer, so its id cannot be reused while the entry lives
        key = (cert.serial_number if serial is None else serial, id(issuer))
        found = self._answers.get(key)
        if found is not None and found[0] is issuer:
            answer = found[1]
        else:
            answer = self._ask(cert, issuer, now)
            self._answers.put(key, (issuer, answer))
        seen = _HORIZON.get()
        if seen is not None and answer.until < seen.until:
            seen.until = answer.until
        return answer

    def cached(self) -> int:
        """How many answers are held."""
        return len(self._answers)

    def _look(self, now: float) -> None:
        with self._crls_lock:
            if now < self._crls_due:  # another thread just looked
                return
            for crl_file in self.crl_files:
                crl_file.look(now)
            self._crls_due = self._next_look(now)

    def _next_look(self, now: float) -> float:
        """The next refresh, or the first nextUpdate of a held copy before it."""
        upcoming = [f.next_update for f in self.crl_files if f.next_update > now]
        return min([now + self.refresh, *upcoming])

    def _ask(self, cert: x509.Certificate, issuer: x509.Certificate, now: float) -> Answer:
        if self.use_ocsp:
            for url in ocsp_urls(cert):
                answer = self._ocsp(url, cert, issuer, now)
                if answer is not None:
                    return answer
        # what the CRLs say holds until they are looked at again
        until = self._crls_due
        for crl_file in self.crl_files:
            crl = crl_file.crl
            if crl is None or crl.issuer != issuer.subject:
                continue
            if not now < crl_file.next_update:
                continue
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                continue
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                return Answer(Status.REVOKED, "crl", entry.revocation_date_utc, until)
            return Answer(Status.GOOD, "crl", until=until)
        return Answer(Status.UNKNOWN, "", until=min(until, now + self.refresh))

    def _ocsp(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate, now: float
    ) -> Answer | None:
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
        next_update = answer.next_update_utc
        if next_update is not None and not now < next_update.timestamp():
            return None  # a stale answer (replayed, or from a responder that fell behind)
        until = now + self.refresh
        if next_update is not None:
            until = min(until, next_update.timestamp())
        if answer.certificate_status == ocsp.OCSPCertStatus.GOOD:
            return Answer(Status.GOOD, "ocsp", until=until)
        if answer.certificate_status == ocsp.OCSPCertStatus.REVOKED:
            return Answer(Status.REVOKED, "ocsp", answer.revocation_time_utc, until)
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
