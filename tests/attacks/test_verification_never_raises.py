"""Whatever a record carries and whoever answers the revocation requests, verification answers a
report: never an exception, a traceback from `hocba verify` or an HTTP 500.

The attack: a signature's KeyInfo carries a certificate whose issuer name is a trusted CA's but
that is signed otherwise (with Ed25519, with a signature algorithm nobody knows, or its bytes
mangled), so the check that the CA issued it raised instead of answering no; or the OCSP
responder a certificate names (asked over plain HTTP, so anyone on the path can answer) sends an
answer holding two single responses, mangled bytes, an answer about another certificate, an
answer dripped a byte at a time or one that never ends. Every verification of a record naming
that responder crashed, hung the worker, or believed what it should not.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from asn1crypto import core as asn1_core
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hocba.formats import build, parse_untrusted
from hocba.formats.report import Report
from hocba.signing.dev.pki import new_key
from hocba.signing.dev.servers import LoopbackServer
from hocba.signing.signers import Pkcs12Signer
from hocba.signing.verify import Verifier
from tests.attacks.record_kit import failed_codes
from tests.factories.records import PRINCIPAL_ID, TAX_CODE, Kit, make_kit, sample_record, sign_all
from tests.factories.records import SUBJECTS as RECORD_SUBJECTS
from tests.processes import free_port

VERDICTS = {
    "VALID", "TAMPERED", "UNTRUSTED_SIGNER", "REVOKED_CERTIFICATE", "INCOMPLETE",
    "RECORD_REVOKED", "INDETERMINATE", "MALFORMED",
}  # fmt: skip
SUBJECTS = {
    "CBQL": f"CCCD:{PRINCIPAL_ID}",
    "KY_PHAT_HANH": f"MST:{TAX_CODE}",
}
SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
"""The DER of the OID sha256WithRSAEncryption (1.2.840.113549.1.1.11)."""


def assert_a_report(report: Report) -> None:
    assert report.verdict in VERDICTS, report
    assert report.valid is (report.verdict == "VALID")
    assert isinstance(report.checks, tuple) and report.checks


# --- certificates that name a trusted CA as their issuer ------------------------------------


def _builder(kit: Kit, slot: str, key: Any) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Kẻ giả mạo"),
            x509.NameAttribute(NameOID.USER_ID, SUBJECTS[slot]),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(kit.pki.issuing.subject)  # the trusted issuing CA's name
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )


def with_oid(der: bytes, oid: bytes) -> bytes:
    """`der` with its signature algorithm (sha256WithRSAEncryption, in the signed part and
    around it) replaced by the OID `oid` of the same length."""
    assert der.count(SHA256_RSA) == 2 and len(oid) == len(SHA256_RSA)
    return der.replace(SHA256_RSA, oid)


def forged(kit: Kit, slot: str, kind: str) -> Pkcs12Signer:
    """A signer whose certificate names the trusted CA as issuer without being issued by it:
    signed with Ed25519, or with an RSA signature under an algorithm nobody knows."""
    key = ec.generate_private_key(ec.SECP256R1())  # what signs the record's slot
    builder = _builder(kit, slot, key)
    if kind == "ed25519":
        cert = builder.sign(ed25519.Ed25519PrivateKey.generate(), None)
    elif kind == "unknown-algorithm":
        der = builder.sign(new_key(), hashes.SHA256()).public_bytes(serialization.Encoding.DER)
        # 1.2.840.113549.1.1.127: an RSA signature algorithm that does not exist
        cert = x509.load_der_x509_certificate(with_oid(der, SHA256_RSA[:-1] + b"\x7f"))
    elif kind == "ecdsa-named-rsa":
        # an ECDSA signature while the CA's key is RSA
        cert = builder.sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    else:
        raise AssertionError(kind)
    return Pkcs12Signer(key, cert)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    return make_kit(tmp_path_factory.mktemp("never-raises-pki"))


@pytest.fixture(scope="module")
def issued(kit: Kit) -> bytes:
    content = kit.signed()
    assert kit.verifier().verify(content).verdict == "VALID"
    return content


def signed_with(kit: Kit, slot: str, signer: Pkcs12Signer) -> bytes:
    """The sample record signed through its four steps, `slot` by `signer`."""
    signers = {**kit.signers, slot: signer}
    return sign_all(build(sample_record()), RECORD_SUBJECTS, lambda name, _: signers[name])


@pytest.mark.parametrize("kind", ["ed25519", "unknown-algorithm", "ecdsa-named-rsa"])
@pytest.mark.parametrize("slot", ["CBQL", "KY_PHAT_HANH"])
def test_a_certificate_naming_a_trusted_ca_but_signed_otherwise_is_an_untrusted_signer(
    kit, slot, kind
):
    report = kit.verifier().verify(signed_with(kit, slot, forged(kit, slot, kind)))
    assert_a_report(report)
    assert report.verdict == "UNTRUSTED_SIGNER"
    assert [
        (c.status, c.code) for c in report.checks if c.check == "certificate" and c.slot == slot
    ] == [("FAIL", "CHAIN_UNTRUSTED")]


def test_the_same_record_read_by_a_warehouse_gives_a_report(kit):
    content = signed_with(kit, "CBQL", forged(kit, "CBQL", "ed25519"))
    report = kit.verifier().verify_parsed(parse_untrusted(content, keep_whitespace=True))
    assert report.verdict == "UNTRUSTED_SIGNER"
    report, facts = kit.verifier().verify_read(parse_untrusted(content, keep_whitespace=True))
    assert report.verdict == "UNTRUSTED_SIGNER"
    assert facts is not None and report.record is not None
    assert facts.record_id == report.record.record_id


_CERTIFICATE = re.compile(rb"<ds:X509Certificate>([A-Za-z0-9+/=]+)</ds:X509Certificate>")


def certificate_texts(content: bytes) -> list[bytes]:
    return _CERTIFICATE.findall(content)


def der_mutations(der: bytes) -> st.SearchStrategy[bytes]:
    """A certificate's DER changed the ways an attacker would: its signature algorithm swapped
    for another OID of the same length (the issuer name still the CA's), bytes flipped, cut or
    spliced."""
    position = st.integers(0, len(der) - 1)
    other_oid = st.binary(min_size=1, max_size=1).map(lambda last: SHA256_RSA[:-1] + last)
    swapped = other_oid.map(lambda oid: der.replace(SHA256_RSA, oid))
    flipped = st.lists(st.tuples(position, st.integers(1, 255)), min_size=1, max_size=6).map(
        lambda flips: _flip(der, flips)
    )
    cut = position.map(lambda at: der[:at])
    spliced = st.tuples(position, position, st.binary(max_size=32)).map(
        lambda t: der[: min(t[:2])] + t[2] + der[max(t[:2]) :]
    )
    return st.one_of(swapped, swapped, flipped, cut, spliced)


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for at, mask in flips:
        out[at] ^= mask
    return bytes(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_change_to_a_certificate_inside_a_signature_gives_a_report(kit, issued, data):
    texts = certificate_texts(issued)
    text = data.draw(st.sampled_from(texts))
    der = base64.b64decode(text)
    mutated = data.draw(der_mutations(der))
    content = issued.replace(text, base64.b64encode(mutated))
    report = kit.verifier().verify(content)
    assert_a_report(report)
    if mutated != der:
        assert report.verdict != "VALID"


class BrokenChecker:
    """A revocation checker with a fault nobody foresaw (it raises a RuntimeError)."""

    def status(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a fault in the revocation checker")


def test_an_unforeseen_fault_is_a_malformed_report_with_its_own_code(kit, issued):
    verifier = kit.verifier()
    verifier.revocation = BrokenChecker()  # type: ignore[assignment]
    report = verifier.verify(issued)
    assert report.verdict == "MALFORMED" and not report.valid
    assert failed_codes(report) == {"XML_UNREADABLE"}
    assert report.checks[0].message()
    report, facts = verifier.verify_read(parse_untrusted(issued, keep_whitespace=True))
    assert report.verdict == "MALFORMED" and facts is None


# --- the command line and the API ------------------------------------------------------------


def trust_env(kit: Kit) -> dict[str, str]:
    return {
        "HOCBA_TRUST_ANCHORS": str(kit.pki.path / "ca/root.pem"),
        "HOCBA_TRUST_INTERMEDIATES": str(kit.pki.path / "ca/issuing.pem"),
        "HOCBA_CRLS": str(kit.pki.crl_path),
        "HOCBA_OCSP": "0",
    }


@pytest.mark.parametrize("kind", ["ed25519", "unknown-algorithm"])
def test_the_command_line_answers_a_forged_certificate_with_a_report_and_no_traceback(
    kit, tmp_path, kind
):
    path = tmp_path / "hoc-ba.xml"
    path.write_bytes(signed_with(kit, "CBQL", forged(kit, "CBQL", kind)))
    env = {**os.environ, **trust_env(kit), "HOCBA_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "hocba.cli", "verify", "--json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["verdict"] == "UNTRUSTED_SIGNER"
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.fixture
def api_trusting(kit, settings):
    """The API's verifier trusting the kit's CA; uploads not rate-limited."""
    from django.core.cache import cache

    from hocba.signing import config

    settings.TRUST_ANCHORS = [str(kit.pki.path / "ca/root.pem")]
    settings.TRUST_INTERMEDIATES = [str(kit.pki.path / "ca/issuing.pem")]
    settings.CRLS = [str(kit.pki.crl_path)]
    settings.OCSP = False
    config.reset()
    cache.clear()
    settings.VERIFY_LOOKUPS_PER_MINUTE = 1_000_000
    yield config
    config.reset()
    cache.clear()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["ed25519", "unknown-algorithm", "ecdsa-named-rsa"])
def test_the_api_answers_a_forged_certificate_with_a_report_never_a_500(
    client, kit, api_trusting, kind
):
    content = signed_with(kit, "KY_PHAT_HANH", forged(kit, "KY_PHAT_HANH", kind))
    response = client.post("/api/v1/verify", content, content_type="application/xml")
    assert response.status_code == 200
    assert response.json()["verdict"] == "UNTRUSTED_SIGNER"


@pytest.mark.django_db
def test_the_api_answers_an_unforeseen_fault_with_422_and_its_code(client, kit, api_trusting):
    api_trusting.verifier().revocation = BrokenChecker()
    response = client.post("/api/v1/verify", kit.signed(), content_type="application/xml")
    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "XML_UNREADABLE" and body["error"]["message"]
    assert body["report"]["verdict"] == "MALFORMED"


# --- whoever answers the OCSP requests -------------------------------------------------------


@dataclass
class Responder:
    """An OCSP responder on loopback whose answer each test chooses: `answer(request)` gives
    the body (bytes, or chunks to send one by one with `pause` seconds between them)."""

    kit: Kit
    port: int
    answer: Callable[[ocsp.OCSPRequest], bytes | Iterable[bytes]] = lambda request: b""
    pause: float = 0.0
    asked: list[float] = field(default_factory=list)
    sent: list[int] = field(default_factory=lambda: [0])
    headers: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        self.asked.append(time.time())
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = ocsp.load_der_ocsp_request(environ["wsgi.input"].read(length))
        body = self.answer(request)
        start("200 OK", [("Content-Type", "application/ocsp-response"), *self.headers])
        if isinstance(body, bytes):
            self.sent[0] += len(body)
            return [body]
        return self._slowly(body)

    def _slowly(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if self.pause:
                time.sleep(self.pause)
            self.sent[0] += len(chunk)
            yield chunk

    def verifier(self, timeout: float | None = None) -> Verifier:
        """A verifier asking this responder; `timeout`: its deadline for an exchange."""
        verifier = self.kit.verifier(use_ocsp=True)
        if timeout is not None:
            verifier.revocation.timeout = timeout
        return verifier


@pytest.fixture(scope="module")
def ocsp_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def ocsp_kit(tmp_path_factory, ocsp_port) -> Kit:
    return make_kit(
        tmp_path_factory.mktemp("ocsp-pki"), ocsp_url=f"http://127.0.0.1:{ocsp_port}/ocsp"
    )


@pytest.fixture(scope="module")
def ocsp_issued(ocsp_kit) -> bytes:
    return ocsp_kit.signed()


@pytest.fixture
def responder(ocsp_kit, ocsp_port) -> Iterator[Responder]:
    answering = Responder(ocsp_kit, ocsp_port)
    with LoopbackServer(answering, ocsp_port, threads=True):
        yield answering


def single(
    request: ocsp.OCSPRequest,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    serial: int | None = None,
    name_hash: bytes | None = None,
    key_hash: bytes | None = None,
    reason: x509.ReasonFlags | None = None,
) -> ocsp.OCSPResponseBuilder:
    now = dt.datetime.now(dt.UTC)
    revoked = status == ocsp.OCSPCertStatus.REVOKED
    return ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash if name_hash is None else name_hash,
        issuer_key_hash=request.issuer_key_hash if key_hash is None else key_hash,
        serial_number=request.serial_number if serial is None else serial,
        algorithm=request.hash_algorithm,
        cert_status=status,
        this_update=now - dt.timedelta(minutes=1),
        next_update=now + dt.timedelta(hours=1),
        revocation_time=now - dt.timedelta(days=2) if revoked else None,
        revocation_reason=reason if revoked else None,
    )


def by_ca(kit: Kit, builder: ocsp.OCSPResponseBuilder) -> bytes:
    """`builder` signed by the issuing CA, as DER."""
    response = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, kit.pki.issuing).sign(
        kit.pki.issuing_key, hashes.SHA256()
    )
    return response.public_bytes(serialization.Encoding.DER)


def two_singles(kit: Kit, first: bytes, second: bytes) -> bytes:
    """An answer holding the single responses of the answers `first` and `second`, in this
    order, signed by the issuing CA."""
    outer = asn1_ocsp.OCSPResponse.load(first)
    basic = outer["response_bytes"]["response"].parsed
    data = basic["tbs_response_data"]
    other = asn1_ocsp.OCSPResponse.load(second)["response_bytes"]["response"].parsed
    data["responses"] = asn1_ocsp.Responses(
        [data["responses"][0].copy(), other["tbs_response_data"]["responses"][0].copy()]
    )
    key = kit.pki.issuing_key
    assert isinstance(key, rsa.RSAPrivateKey)
    basic["signature"] = key.sign(data.dump(force=True), padding.PKCS1v15(), hashes.SHA256())
    outer["response_bytes"]["response"] = asn1_core.ParsableOctetString(basic.dump(force=True))
    return outer.dump(force=True)


def revocations(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c.status, c.source or "", c.code or "") for c in report.checks if c.check == "revocation"
    ]


@pytest.mark.parametrize("asked_first", [True, False])
@pytest.mark.parametrize(
    ("status", "verdict"),
    [(ocsp.OCSPCertStatus.GOOD, "VALID"), (ocsp.OCSPCertStatus.REVOKED, "REVOKED_CERTIFICATE")],
)
def test_an_ocsp_answer_holding_two_single_responses_is_read_for_the_one_asked(
    responder, ocsp_issued, asked_first, status, verdict
):
    kit = responder.kit

    def answer(request: ocsp.OCSPRequest) -> bytes:
        asked = by_ca(kit, single(request, status, reason=x509.ReasonFlags.key_compromise))
        other_status = (
            ocsp.OCSPCertStatus.REVOKED
            if status == ocsp.OCSPCertStatus.GOOD
            else ocsp.OCSPCertStatus.GOOD
        )
        other = by_ca(kit, single(request, other_status, serial=request.serial_number + 1))
        return two_singles(kit, *((asked, other) if asked_first else (other, asked)))

    responder.answer = answer
    report = responder.verifier().verify(ocsp_issued)
    assert_a_report(report)
    assert report.verdict == verdict
    assert {source for _, source, _ in revocations(report)} == {"ocsp"}


@pytest.fixture(scope="module")
def good_answer(ocsp_kit) -> Callable[[ocsp.OCSPRequest], bytes]:
    return lambda request: by_ca(ocsp_kit, single(request))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_change_to_an_ocsp_answer_gives_a_report(responder, ocsp_issued, good_answer, data):
    position = st.integers(0, 1500)
    change = data.draw(
        st.one_of(
            st.lists(st.tuples(position, st.integers(1, 255)), min_size=1, max_size=6).map(
                lambda flips: lambda der: _flip(der, [(at % len(der), m) for at, m in flips])
            ),
            position.map(lambda at: lambda der: der[: at % len(der)]),
            st.tuples(position, position, st.binary(max_size=40)).map(
                lambda t: lambda der: der[: min(t[:2])] + t[2] + der[max(t[:2]) :]
            ),
            st.binary(max_size=200).map(lambda junk: lambda der: junk),
        )
    )
    responder.answer = lambda request: change(good_answer(request))
    report = responder.verifier().verify(ocsp_issued)
    assert_a_report(report)
    assert report.verdict in ("VALID", "INDETERMINATE", "REVOKED_CERTIFICATE")


@pytest.mark.parametrize("field_", ["issuer_name_hash", "issuer_key_hash", "serial"])
def test_an_ocsp_answer_about_another_certificate_is_not_believed(
    responder, ocsp_issued, field_, tmp_path
):
    """The certificate is revoked (the CRL says so); the responder answers GOOD, signed by the
    CA, for a CertID that differs from the one asked in one field."""
    kit = responder.kit
    # the principal's certificate, revoked in the CRL before the record was signed
    cbql = kit.signers["CBQL"].certificate
    kit.pki.revoke(cbql, when=cbql.not_valid_before_utc)
    try:

        def answer(request: ocsp.OCSPRequest) -> bytes:
            changed: dict[str, Any] = {
                "issuer_name_hash": {"name_hash": bytes(20)},
                "issuer_key_hash": {"key_hash": bytes(20)},
                "serial": {"serial": request.serial_number ^ 1},
            }[field_]
            return by_ca(kit, single(request, **changed))

        responder.answer = answer
        report = responder.verifier().verify(ocsp_issued)
    finally:
        kit.pki.index["revoked"].clear()
        kit.pki.write_crl()
    assert report.verdict == "REVOKED_CERTIFICATE"
    cbql_checks = [c for c in report.checks if c.check == "revocation" and c.slot == "CBQL"]
    assert [(c.status, c.source) for c in cbql_checks] == [("FAIL", "crl")]


def delegate(
    kit: Kit,
    usage: list[x509.ObjectIdentifier] | None,
    issuer: tuple[x509.Certificate, Any] | None = None,
    expired: bool = False,
) -> tuple[x509.Certificate, Any]:
    """A responder certificate with extended key usage `usage`, issued by `issuer` (the
    issuing CA by default)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_cert, issuer_key = issuer or (kit.pki.issuing, kit.pki.issuing_key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OCSP responder")]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=10))
        .not_valid_after(now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=10))
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def impostor_ca(kit: Kit) -> tuple[x509.Certificate, Any]:
    """A CA of its own making under the issuing CA's name."""
    key = new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(kit.pki.issuing.subject)
        .issuer_name(kit.pki.issuing.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=10))
        .not_valid_after(now + dt.timedelta(days=10))
        .sign(key, hashes.SHA256())
    )
    return cert, key


@pytest.mark.parametrize(
    ("who", "believed"),
    [
        ("delegated by the CA", True),
        ("without OCSPSigning", False),
        ("with another usage only", False),
        ("issued by an impostor under the CA's name", False),
        ("expired", False),
    ],
)
def test_a_delegated_responder_is_believed_only_when_the_ca_gave_it_ocsp_signing(
    responder, ocsp_issued, who, believed
):
    kit = responder.kit
    usage = {
        "without OCSPSigning": None,
        "with another usage only": [ExtendedKeyUsageOID.EMAIL_PROTECTION],
    }.get(who, [ExtendedKeyUsageOID.OCSP_SIGNING])
    cert, key = delegate(
        kit,
        usage,
        issuer=impostor_ca(kit) if who.startswith("issued by an impostor") else None,
        expired=who == "expired",
    )

    def answer(request: ocsp.OCSPRequest) -> bytes:
        # the delegated responder says the certificate is revoked for a compromised key
        builder = single(
            request, ocsp.OCSPCertStatus.REVOKED, reason=x509.ReasonFlags.key_compromise
        )
        response = (
            builder.responder_id(ocsp.OCSPResponderEncoding.HASH, cert)
            .certificates([cert])
            .sign(key, hashes.SHA256())
        )
        return response.public_bytes(serialization.Encoding.DER)

    responder.answer = answer
    report = responder.verifier().verify(ocsp_issued)
    if believed:
        assert report.verdict == "REVOKED_CERTIFICATE"
        assert {source for _, source, _ in revocations(report)} == {"ocsp"}
    else:  # no answer from OCSP: the CRL (which lists nothing) answers
        assert report.verdict == "VALID"
        assert {source for _, source, _ in revocations(report)} == {"crl"}


def test_a_responder_dripping_its_answer_holds_the_verifier_no_longer_than_the_deadline(
    responder, ocsp_issued, good_answer
):
    deadline = 0.6
    responder.pause = 0.1  # a byte every tenth of a second: each read is quick
    # the first 60 bytes dripped (6 s in all), then the rest at once
    responder.answer = lambda request: _dripped(good_answer(request), 60)
    started = time.monotonic()
    report = responder.verifier(timeout=deadline).verify(ocsp_issued)
    elapsed = time.monotonic() - started
    # four certificates asked in turn, each exchange cut at its deadline; the CRL answers
    assert elapsed < 4 * deadline + 1.5, elapsed
    assert report.verdict == "VALID"
    assert {source for _, source, _ in revocations(report)} == {"crl"}


def _dripped(data: bytes, count: int) -> Iterator[bytes]:
    for at in range(count):
        yield data[at : at + 1]
    yield data[count:]


@pytest.mark.parametrize("declared", [False, True])
def test_an_ocsp_answer_larger_than_the_limit_is_dropped_unread(
    responder, ocsp_issued, good_answer, declared
):
    total = 64 * 1024 * 1024  # a thousand times the limit
    chunk = 64 * 1024

    def endless(request: ocsp.OCSPRequest) -> Iterator[bytes]:
        first = good_answer(request)
        yield first
        for _ in range(total // chunk):
            yield bytes(chunk)

    if declared:
        responder.headers = [("Content-Length", str(total + 2048))]
    responder.answer = endless
    report = responder.verifier().verify(ocsp_issued)
    assert report.verdict == "VALID"
    assert {source for _, source, _ in revocations(report)} == {"crl"}
    # four certificates asked; what the responder could write before the connection closed
    # (socket buffers) is far from all it offered
    assert responder.sent[0] < total, responder.sent[0]
