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

Whoever answers an OCSP request (it goes over plain HTTP) may answer anything: the exchange has
one deadline in all (`limits.OCSP_EXCHANGE_SECONDS`, however slowly the bytes come), the answer
a size limit (`limits.OCSP_RESPONSE_BYTES`), and an answer counts only when it is about exactly
the certificate asked (the whole CertID: issuer name hash, issuer key hash, serial number) and
signed by the issuing CA or by a responder the CA delegated it to (a certificate the CA issued
with the OCSPSigning extended key usage). Anything else, or anything that cannot be read, is no
answer. Every CRL the deployment configured for the issuer is asked (REVOKED when any lists the
certificate), and a CRL older than one already read for the issuer (a lower crlNumber: a replayed
copy) is not believed.

An answer carries the revocation reason: whether a signature dated before the revocation still
stands depends on it (`Answer.invalidates`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import os
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpcore
import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.x509 import ocsp

from hocba import limits
from hocba.signing.caches import Bounded
from hocba.signing.certs import can_sign_ocsp, issued_by, ocsp_urls, valid_at

logger = logging.getLogger(__name__)

DEFAULT_REFRESH = 300.0
"""Seconds within which a new revocation is seen (HOCBA_REVOCATION_REFRESH)."""


class Status(StrEnum):
    GOOD = "GOOD"
    REVOKED = "REVOKED"
    UNKNOWN = "UNKNOWN"


BACKDATING_HARMLESS = frozenset(
    {
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
    }
)
"""Revocation reasons that say nothing against the key: the holder left, the certificate was
replaced, the activity ended, a right was withdrawn. A signature made before such a revocation
stands. For any other reason (keyCompromise, cACompromise, aACompromise, certificateHold,
unspecified, none given) the key may be in other hands, and whoever holds it writes the signing
time: without a time stamp from a trusted authority, no signature of that key stands."""


@dataclass(frozen=True)
class Answer:
    status: Status
    source: str
    """"ocsp", "crl" or "" when nothing answered."""
    revoked_at: dt.datetime | None = None
    until: float = math.inf
    """When the answer must be asked again (seconds since the epoch): the earlier of its
    source's nextUpdate and the refresh interval."""
    reason: x509.ReasonFlags | None = None
    """Why the certificate was revoked (the CRL entry's CRLReason, the OCSP revocationReason);
    None when the source gave none."""

    def invalidates(self, claimed: dt.datetime) -> bool:
        """Whether this answer makes a signature claiming to be made at `claimed` fail: the
        certificate is revoked, and either the revocation came first or its reason does not
        allow trusting a signing time the signer wrote (`BACKDATING_HARMLESS`)."""
        if self.status is not Status.REVOKED:
            return False
        if self.revoked_at is None or self.reason not in BACKDATING_HARMLESS:
            return True
        return self.revoked_at <= claimed


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
    timeout: float = limits.OCSP_EXCHANGE_SECONDS
    """Seconds an OCSP exchange may take in all (connecting, sending, every byte of the
    answer)."""
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
    _crl_numbers: dict[bytes, int] = field(default_factory=dict, repr=False)
    """The highest crlNumber of a CRL read and believed, by issuer (the SHA-256 of its
    certificate): an older one is a replay. One entry per issuing CA of the trust store."""
    _pool: httpcore.ConnectionPool | None = field(default=None, repr=False)

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
        return self._from_crls(cert, issuer, now)

    def _from_crls(self, cert: x509.Certificate, issuer: x509.Certificate, now: float) -> Answer:
        """What the CRLs of `issuer` say: REVOKED when any believed one lists the certificate,
        GOOD when at least one is believed and none does, else UNKNOWN. A CRL is believed when
        it is the issuer's, signed by it, before its nextUpdate, and not older (by crlNumber)
        than one already read for the issuer. What they say holds until the files are looked
        at again."""
        until = self._crls_due
        believed: list[tuple[int, x509.CertificateRevocationList]] = []
        for crl_file in self.crl_files:
            crl = crl_file.crl
            if crl is None or not now < crl_file.next_update:
                continue
            try:
                if crl.issuer != issuer.subject:
                    continue
                if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                    continue
                believed.append((_crl_number(crl), crl))
            except (ValueError, TypeError, UnsupportedAlgorithm):
                continue
        if believed:
            key = issuer.fingerprint(hashes.SHA256())
            with self._crls_lock:
                newest = max(self._crl_numbers.get(key, -1), *(number for number, _ in believed))
                self._crl_numbers[key] = newest
            believed = [(number, crl) for number, crl in believed if number >= newest]
        if not believed:
            return Answer(Status.UNKNOWN, "", until=min(until, now + self.refresh))
        for _, crl in believed:
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                return Answer(
                    Status.REVOKED, "crl", entry.revocation_date_utc, until, _entry_reason(entry)
                )
        return Answer(Status.GOOD, "crl", until=until)

    def _ocsp(
        self, url: str, cert: x509.Certificate, issuer: x509.Certificate, now: float
    ) -> Answer | None:
        """The responder's answer about `cert`, or None when there is none to believe: the
        exchange failed or took longer than `timeout` in all, the answer is too large, cannot
        be read, is about another certificate, is not signed by the CA or its delegated
        responder, or is past its nextUpdate."""
        started = time.monotonic()
        deadline = _DEADLINE.set(started + self.timeout)
        try:
            request = (
                ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303 - OCSP CertID
            )
            data = self._exchange(url, request.public_bytes(serialization.Encoding.DER))
            return None if data is None else _judge(data, request, issuer, now, self.refresh)
        except Exception as error:  # whatever the answer or the exchange makes the libraries raise
            logger.info("no OCSP answer from %s: %s: %s", url, type(error).__name__, error)
            return None
        finally:
            _DEADLINE.reset(deadline)

    def _exchange(self, url: str, body: bytes) -> bytes | None:
        """POST `body` to `url`; the answer's bytes, or None when it is not a 200 or is larger
        than `limits.OCSP_RESPONSE_BYTES`. Raises when the exchange fails or passes the
        deadline."""
        if self._pool is None:
            # one pool for every OCSP request
            self._pool = httpcore.ConnectionPool(
                ssl_context=_ssl_context(), network_backend=_DeadlineBackend()
            )
        each = {"connect": self.timeout, "read": self.timeout, "write": self.timeout,
                "pool": self.timeout}  # fmt: skip
        headers = [
            (b"Host", httpx.URL(url).netloc),
            (b"Content-Type", b"application/ocsp-request"),
            (b"Accept", b"application/ocsp-response"),
        ]
        with self._pool.stream(
            "POST", url, headers=headers, content=body, extensions={"timeout": each}
        ) as response:
            if response.status != 200:
                return None
            declared = _content_length(response.headers)
            if declared is not None and declared > limits.OCSP_RESPONSE_BYTES:
                return None
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_stream():
                size += len(chunk)
                if size > limits.OCSP_RESPONSE_BYTES:
                    return None
                chunks.append(chunk)
        return b"".join(chunks)


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    """The CRL's crlNumber; -1 without one (older than any numbered CRL)."""
    try:
        return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return -1


def _entry_reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    """The CRLReason of a CRL entry; None without one (or when it cannot be read)."""
    try:
        return entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    except (x509.ExtensionNotFound, ValueError):
        return None


def _judge(
    data: bytes, request: ocsp.OCSPRequest, issuer: x509.Certificate, now: float, refresh: float
) -> Answer | None:
    """The answer `data` gives to `request`, if it is one to believe."""
    answer = ocsp.load_der_ocsp_response(data)
    if answer.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return None
    single = next((one for one in answer.responses if _same_cert_id(one, request)), None)
    if single is None or not _signed_for(answer, issuer, now):
        return None
    next_update = single.next_update_utc
    if next_update is not None and not now < next_update.timestamp():
        return None  # a stale answer (replayed, or from a responder that fell behind)
    until = now + refresh
    if next_update is not None:
        until = min(until, next_update.timestamp())
    if single.certificate_status == ocsp.OCSPCertStatus.GOOD:
        return Answer(Status.GOOD, "ocsp", until=until)
    if single.certificate_status == ocsp.OCSPCertStatus.REVOKED:
        return Answer(
            Status.REVOKED, "ocsp", single.revocation_time_utc, until, single.revocation_reason
        )
    return None


def _same_cert_id(single: ocsp.OCSPSingleResponse, request: ocsp.OCSPRequest) -> bool:
    """Whether a single response is about exactly the certificate asked: the same hash
    algorithm, issuer name hash, issuer key hash and serial number."""
    try:
        return (
            single.serial_number == request.serial_number
            and single.issuer_name_hash == request.issuer_name_hash
            and single.issuer_key_hash == request.issuer_key_hash
            and single.hash_algorithm.name == request.hash_algorithm.name
        )
    except (ValueError, UnsupportedAlgorithm):
        return False


def _signed_for(answer: ocsp.OCSPResponse, issuer: x509.Certificate, now: float) -> bool:
    """Whether `answer` is signed by the issuing CA, or by a responder it delegated: a
    certificate in the answer issued by the CA, valid now, with the OCSPSigning extended key
    usage."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    delegated = [
        responder
        for responder in answer.certificates
        if issued_by(responder, issuer) and can_sign_ocsp(responder) and valid_at(responder, moment)
    ]
    return any(_signature_holds(answer, signer) for signer in [issuer, *delegated])


def _signature_holds(answer: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    try:
        key = signer.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            algorithm = answer.signature_hash_algorithm
            if algorithm is None:
                return False
            key.verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            algorithm = answer.signature_hash_algorithm
            if algorithm is None:
                return False
            key.verify(answer.signature, answer.tbs_response_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(answer.signature, answer.tbs_response_bytes)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context per process (building one costs ~40 ms)."""
    return httpx.create_ssl_context()


# --- one deadline for a whole exchange -------------------------------------------------------

_DEADLINE: ContextVar[float] = ContextVar("hocba_ocsp_deadline", default=math.inf)
"""When the OCSP exchange under way in this thread must be over (time.monotonic())."""


def _left(timeout: float | None, late: type[Exception]) -> float:
    """The time one network operation may take: what is left before the deadline, or its own
    timeout if that is shorter (`late` raised when nothing is left)."""
    remaining = _DEADLINE.get() - time.monotonic()
    if remaining <= 0:
        raise late("the OCSP exchange passed its deadline")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the exchange's deadline: httpx's and
    httpcore's timeouts bound each operation, so a responder sending its answer a byte at a
    time would otherwise hold the caller as long as it likes."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(
                ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
            )
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own network backend, its connections bound by the deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
