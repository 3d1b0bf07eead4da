"""A revoked key cannot backdate its signatures.

The attack: a signer's key is stolen; the CA revokes the certificate. The thief goes on signing
records, writing in each signature a signing time from before the revocation. The signing time
is the signer's own claim (no time stamp from a trusted authority vouches for it), so a verifier
that compares the revocation time with it accepts every backdated signature: before, a record
signed this way was VALID whatever the revocation said.

What holds now: for a revocation whose reason says the key may be in other hands
(keyCompromise, cACompromise, aACompromise, certificateHold, unspecified, or no reason at all),
no signature of the key stands, whatever time it claims; for a reason that says nothing against
the key (affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn: the teacher
left, the certificate was replaced), a signature claiming a time before the revocation stands.
Variants: every signing slot, the reason from the CRL entry and from the OCSP answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from hocba.formats import build
from hocba.signing.dev.servers import LoopbackServer
from tests.factories.records import SLOTS, SUBJECTS, Kit, make_kit, sample_record, sign_step
from tests.processes import free_port

Reason = x509.ReasonFlags
UNSAFE = [
    Reason.key_compromise, Reason.ca_compromise, Reason.aa_compromise, Reason.certificate_hold,
    Reason.unspecified, None,
]  # fmt: skip
"""Reasons after which no signature of the key stands (None: the source gave no reason)."""
HARMLESS = [
    Reason.affiliation_changed, Reason.superseded, Reason.cessation_of_operation,
    Reason.privilege_withdrawn,
]  # fmt: skip
"""Reasons that say nothing against the key."""

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
REVOKED_AT = NOW - dt.timedelta(hours=1)
BEFORE = NOW - dt.timedelta(hours=2)
"""What a backdated signature claims: an hour before the revocation."""


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, port: int) -> Kit:
    return make_kit(tmp_path_factory.mktemp("backdating-pki"), f"http://127.0.0.1:{port}/ocsp")


def signed_at(kit: Kit, when: dt.datetime) -> bytes:
    """The sample record signed through its four steps, every signature claiming `when`."""
    content = build(sample_record())
    for slot in SLOTS:
        for subject in SUBJECTS if slot == "GVBM" else [None]:
            content = sign_step(content, slot, kit.signers[slot], subject, when=when)
    return content


class Revocations:
    """What the CA says: revoked serial numbers with their time and reason, published as a CRL
    file (each entry with its CRLReason, the CRL numbered) and by an OCSP responder."""

    def __init__(self, kit: Kit) -> None:
        self.kit = kit
        self.revoked: dict[int, tuple[dt.datetime, Reason | None]] = {}
        self.number = 0

    def revoke(self, cert: x509.Certificate, reason: Reason | None) -> None:
        self.revoked[cert.serial_number] = (REVOKED_AT, reason)
        self.publish()

    def publish(self) -> None:
        self.number += 1
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.kit.pki.issuing.subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(now + dt.timedelta(days=1))
            .add_extension(x509.CRLNumber(self.number), critical=False)
        )
        for serial, (at, reason) in self.revoked.items():
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
            if reason is not None:
                entry = entry.add_extension(x509.CRLReason(reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        crl = builder.sign(self.kit.pki.issuing_key, hashes.SHA256())
        self.kit.pki.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))

    def responder(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = ocsp.load_der_ocsp_request(environ["wsgi.input"].read(length))
        now = dt.datetime.now(dt.UTC)
        at, reason = self.revoked.get(request.serial_number, (None, None))
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.GOOD if at is None else ocsp.OCSPCertStatus.REVOKED,
                this_update=now - dt.timedelta(minutes=1),
                next_update=now + dt.timedelta(hours=1),
                revocation_time=at,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, self.kit.pki.issuing)
            .sign(self.kit.pki.issuing_key, hashes.SHA256())
        )
        start("200 OK", [("Content-Type", "application/ocsp-response")])
        return [response.public_bytes(serialization.Encoding.DER)]


@pytest.fixture
def ca(kit: Kit, port: int) -> Iterator[Revocations]:
    revocations = Revocations(kit)
    revocations.publish()
    with LoopbackServer(revocations.responder, port, threads=True):
        yield revocations
    revocations.revoked.clear()
    revocations.publish()


@pytest.fixture(scope="module")
def backdated(kit: Kit) -> bytes:
    return signed_at(kit, BEFORE)


@pytest.fixture(scope="module")
def after(kit: Kit) -> bytes:
    return signed_at(kit, NOW)


def verify(kit: Kit, content: bytes, source: str) -> dict[str, Any]:
    return kit.verifier(use_ocsp=source == "ocsp").verify(content)


def failed_revocations(report: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (c.slot, c.source or "", c.code or "", c.reason or "")
        for c in report.checks
        if c.check == "revocation" and c.status == "FAIL"
    }


@pytest.mark.parametrize("source", ["crl", "ocsp"])
@pytest.mark.parametrize("reason", UNSAFE, ids=lambda r: r.value if r else "no-reason")
@pytest.mark.parametrize("slot", SLOTS)
def test_a_signature_backdated_before_a_revocation_for_a_compromised_key_does_not_stand(
    kit, ca, backdated, slot, reason, source
):
    assert verify(kit, backdated, source).verdict == "VALID"
    ca.revoke(kit.signers[slot].certificate, reason)

    report = verify(kit, backdated, source)
    assert report.verdict == "REVOKED_CERTIFICATE" and not report.valid
    assert {(where, src) for where, src, _, _ in failed_revocations(report)} == {(slot, source)}
    named = "" if reason is None else reason.value
    assert {(code, why) for _, _, code, why in failed_revocations(report)} == {
        ("CERT_REVOKED_UNSAFE_REASON", named)
    }


@pytest.mark.parametrize("source", ["crl", "ocsp"])
@pytest.mark.parametrize("reason", HARMLESS, ids=lambda r: r.value)
@pytest.mark.parametrize("slot", SLOTS)
def test_a_revocation_that_says_nothing_against_the_key_leaves_earlier_signatures_standing(
    kit, ca, backdated, after, slot, reason, source
):
    ca.revoke(kit.signers[slot].certificate, reason)

    assert verify(kit, backdated, source).verdict == "VALID"
    report = verify(kit, after, source)
    assert report.verdict == "REVOKED_CERTIFICATE"
    assert failed_revocations(report) == {(slot, source, "CERT_REVOKED", reason.value)}


@pytest.mark.parametrize("source", ["crl", "ocsp"])
def test_a_certificate_revoked_for_a_compromised_key_signs_nothing_new_either(
    kit, ca, after, source
):
    ca.revoke(kit.signers["KY_PHAT_HANH"].certificate, Reason.key_compromise)
    report = verify(kit, after, source)
    assert report.verdict == "REVOKED_CERTIFICATE"
    assert failed_revocations(report) == {("KY_PHAT_HANH", source, "CERT_REVOKED", "keyCompromise")}
