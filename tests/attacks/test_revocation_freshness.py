"""A revocation is seen while the service runs, and what verification keeps about certificates is
bounded.

The attack: a signer's key is compromised and the CA revokes the certificate while the
verification service runs. A service that read the CRL once, or keeps every revocation answer
forever, goes on saying VALID for records signed with that key (those dated back to the
compromise, and new ones the thief signs), while `hocba verify` run afresh says
REVOKED_CERTIFICATE. Variants: the revocation published in a new CRL file, in a CRL replacing one
whose nextUpdate passed, by OCSP (an answer past its nextUpdate, an answer valid for hours but
older than the refresh interval), a stale OCSP answer replayed; every signing slot; and the
acceptance case, two workers of `hocba serve` answering the API and the QR page.

The second attack: a flood of uploads, each signed with certificates never seen before, must not
grow the caches of a long-running worker without bound.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import gc
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from lxml import etree

from hocba import limits
from hocba.formats import build, parse_untrusted
from hocba.formats.builder import serialize
from hocba.signing import profile
from hocba.signing.certs import TrustStore
from hocba.signing.dev.pki import DevPki, create
from hocba.signing.dev.servers import LoopbackServer, ocsp_app
from hocba.signing.revocation import RevocationChecker
from hocba.signing.signers import Pkcs12Signer
from hocba.signing.verify import Verifier
from tests.factories.records import (
    HOMEROOM_ID,
    PRINCIPAL_ID,
    SLOTS,
    SUBJECTS,
    TARGETS,
    TEACHER_ID,
    sample_record,
    sign_all,
    slot_of,
)
from tests.processes import HOCBA, clean_env, free_port, run

TAX = "2600100202"
REFRESH = 1.0
"""The refresh interval of the verifiers below (seconds)."""


def wait_past(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.05)


@dataclasses.dataclass
class School:
    """A development PKI, the four signers of a record, and records they signed."""

    pki: DevPki
    signers: dict[str, Pkcs12Signer]

    def sign(self, record_id: str = "2f1c8a0e-4b7d-4c2a-9e51-3d6f0a9b8c71") -> bytes:
        record = sample_record(record_id=record_id)
        return sign_all(build(record), SUBJECTS, lambda slot, _subject: self.signers[slot])

    def verifier(self, refresh: float, use_ocsp: bool = False, crls: bool = True) -> Verifier:
        """A verifier kept for the whole test, as a server process keeps its own."""
        trust = TrustStore.from_pem(
            [(self.pki.path / "ca/root.pem").read_bytes()],
            [(self.pki.path / "ca/issuing.pem").read_bytes()],
        )
        checker = RevocationChecker.from_files(
            [str(self.pki.crl_path)] if crls else [], use_ocsp=use_ocsp
        )
        checker.refresh = refresh
        return Verifier(trust, checker)

    def write_crl(self, next_update: dt.datetime) -> None:
        """A CRL of the revocations so far, valid until `next_update`."""
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.pki.issuing.subject)
            .last_update(now - dt.timedelta(minutes=1))
            .next_update(next_update)
        )
        for serial, at in self.pki.revoked_serials().items():
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build()
            )
        crl = builder.sign(self.pki.issuing_key, hashes.SHA256())
        self.pki.crl_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))


def new_school(path: Path, ocsp_url: str = "http://127.0.0.1:9/ocsp") -> School:
    pki = create(path, ocsp_url=ocsp_url)
    people = {
        "GVBM": Pkcs12Signer(*pki.issue_person(TEACHER_ID, "Nguyễn Thị Hoa")),
        "GVCN": Pkcs12Signer(*pki.issue_person(HOMEROOM_ID, "Lê Văn Chủ")),
        "CBQL": Pkcs12Signer(*pki.issue_person(PRINCIPAL_ID, "Đỗ Gia Tuấn")),
        "KY_PHAT_HANH": Pkcs12Signer(*pki.issue_org(TAX, "Trường THCS Chu Văn An")),
    }
    return School(pki, people)


@pytest.fixture
def school(tmp_path: Path) -> School:
    return new_school(tmp_path / "pki")


def failed_revocations(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (c.slot, c.source or "")
        for c in report.checks
        if c.check == "revocation" and c.status == "FAIL"
    ]


def before_signing() -> dt.datetime:
    """A moment before the signatures made in a test: a compromise the CA dates back."""
    return dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


# --- CRL files -------------------------------------------------------------------------------


@pytest.mark.parametrize("slot", SLOTS)
def test_a_running_verifier_sees_a_certificate_revoked_in_a_new_crl_within_the_interval(
    school, slot
):
    signed = school.sign()
    verifier = school.verifier(REFRESH)
    assert verifier.verify(signed).verdict == "VALID"

    school.pki.revoke(school.signers[slot].certificate, when=before_signing())
    wait_past(time.time() + REFRESH)

    report = verifier.verify(signed)
    assert report.verdict == "REVOKED_CERTIFICATE"
    expected = len(SUBJECTS) if slot == "GVBM" else 1
    assert failed_revocations(report) == [(slot, "crl")] * expected


@pytest.mark.parametrize(
    ("reason", "honest_verdict"),
    [
        # the key is in the thief's hands: no signature of it stands, whatever time it claims
        (x509.ReasonFlags.key_compromise, "REVOKED_CERTIFICATE"),
        # the certificate replaced: what was signed before stands
        (x509.ReasonFlags.superseded, "VALID"),
    ],
)
@pytest.mark.parametrize("slot", ["GVBM", "KY_PHAT_HANH"])
def test_a_record_signed_with_a_stolen_key_after_its_revocation_is_refused_by_a_running_verifier(
    school, slot, reason, honest_verdict
):
    verifier = school.verifier(REFRESH)
    honest = school.sign()
    assert verifier.verify(honest).verdict == "VALID"

    # signing times are written to the second: the key is stolen in a later second
    time.sleep(1.05)
    school.pki.revoke(
        school.signers[slot].certificate,
        when=dt.datetime.now(dt.UTC).replace(microsecond=0),
        reason=reason,
    )
    forged = school.sign(record_id="0d3b1f47-8a6e-4c59-b2d1-7e9f4a6c3b28")  # by the thief
    wait_past(time.time() + REFRESH)

    report = verifier.verify(forged)
    assert report.verdict == "REVOKED_CERTIFICATE"
    assert {where for where, _ in failed_revocations(report)} == {slot}
    # signed before the revocation, the honest record keeps its signatures only when the
    # reason says nothing against the key
    assert verifier.verify(honest).verdict == honest_verdict


def test_a_crl_whose_next_update_passes_is_read_again_before_the_interval(school):
    signed = school.sign()
    verifier = school.verifier(refresh=3600)  # only the nextUpdate can make it look again
    short = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)
    school.write_crl(next_update=short)
    assert verifier.verify(signed).verdict == "VALID"

    school.pki.revoke(school.signers["CBQL"].certificate, when=before_signing())
    wait_past(short.timestamp())

    report = verifier.verify(signed)
    assert report.verdict == "REVOKED_CERTIFICATE"
    assert failed_revocations(report) == [("CBQL", "crl")]


def test_a_crl_past_its_next_update_with_no_newer_one_is_not_believed(school):
    signed = school.sign()
    verifier = school.verifier(refresh=3600)
    short = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    school.write_crl(next_update=short)
    assert verifier.verify(signed).verdict == "VALID"

    wait_past(short.timestamp())  # the publisher fell silent: the CRL may hide a revocation

    report = verifier.verify(signed)
    assert report.verdict == "INDETERMINATE"
    unknown = [c for c in report.checks if c.check == "revocation"]
    assert unknown and all(c.status == "UNKNOWN" for c in unknown)


def test_a_crl_file_caught_half_written_keeps_the_last_good_copy(school):
    signed = school.sign()
    verifier = school.verifier(REFRESH)
    assert verifier.verify(signed).verdict == "VALID"
    good = school.pki.crl_path.read_bytes()
    school.pki.crl_path.write_bytes(good[: len(good) // 2])
    wait_past(time.time() + REFRESH)

    assert verifier.verify(signed).verdict == "VALID"

    school.pki.revoke(school.signers["GVCN"].certificate, when=before_signing())
    wait_past(time.time() + REFRESH)
    assert verifier.verify(signed).verdict == "REVOKED_CERTIFICATE"


def crl_pem(
    school: School, revoked: Iterable[x509.Certificate], number: int, valid_for: float = 86_400
) -> bytes:
    """A CRL of the issuing CA listing `revoked`, numbered `number`."""
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(school.pki.issuing.subject)
        .last_update(now - dt.timedelta(minutes=1))
        .next_update(now + dt.timedelta(seconds=valid_for))
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(cert.serial_number)
            .revocation_date(before_signing())
            .build()
        )
    crl = builder.sign(school.pki.issuing_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("listed_in", ["first", "second"])
@pytest.mark.parametrize("slot", ["GVCN", "KY_PHAT_HANH"])
def test_every_crl_of_the_issuer_is_asked_and_one_listing_the_certificate_revokes_it(
    school, tmp_path, slot, listed_in
):
    """Two CRLs of the same CA are configured (a deployment publishing a new one beside the
    old, or partitioned lists): the first one that is valid answered alone, so a certificate
    listed only in the other one was GOOD."""
    signed = school.sign()
    revoked = school.signers[slot].certificate
    files = [tmp_path / "first.crl", tmp_path / "second.crl"]
    for path in files:
        listing = [revoked] if path.stem == listed_in else []
        path.write_bytes(crl_pem(school, listing, number=7))
    checker = RevocationChecker.from_files([str(path) for path in files], use_ocsp=False)
    report = Verifier(school.verifier(REFRESH).trust, checker).verify(signed)
    assert report.verdict == "REVOKED_CERTIFICATE"
    assert {where for where, _ in failed_revocations(report)} == {slot}


def test_a_crl_replaced_by_an_older_copy_is_not_believed(school):
    """Whoever can write the published CRL (or sits between the publisher and the server)
    puts back an older CRL, validly signed and not yet past its nextUpdate, from before the
    revocation."""
    signed = school.sign()
    revoked = school.signers["CBQL"].certificate
    older = crl_pem(school, [], number=41)
    school.pki.crl_path.write_bytes(crl_pem(school, [revoked], number=42))
    verifier = school.verifier(REFRESH)
    assert verifier.verify(signed).verdict == "REVOKED_CERTIFICATE"

    school.pki.crl_path.write_bytes(older)
    wait_past(time.time() + REFRESH)
    report = verifier.verify(signed)
    assert report.verdict == "INDETERMINATE"
    assert {c.status for c in report.checks if c.check == "revocation"} == {"UNKNOWN"}

    # a newer CRL is believed again (the certificate taken off the list: a hold released)
    school.pki.crl_path.write_bytes(crl_pem(school, [], number=43))
    wait_past(time.time() + REFRESH)
    assert verifier.verify(signed).verdict == "VALID"


def test_an_older_crl_configured_beside_a_newer_one_is_not_believed(school, tmp_path):
    signed = school.sign()
    revoked = school.signers["GVBM"].certificate
    newer, older = tmp_path / "newer.crl", tmp_path / "older.crl"
    newer.write_bytes(crl_pem(school, [], number=9))
    older.write_bytes(crl_pem(school, [revoked], number=8))  # listed, then taken off
    checker = RevocationChecker.from_files([str(older), str(newer)], use_ocsp=False)
    report = Verifier(school.verifier(REFRESH).trust, checker).verify(signed)
    assert report.verdict == "VALID"


# --- OCSP ------------------------------------------------------------------------------------


@pytest.fixture
def ocsp_school(tmp_path: Path) -> Iterator[tuple[School, int]]:
    port = free_port()
    yield new_school(tmp_path / "pki", ocsp_url=f"http://127.0.0.1:{port}/ocsp"), port


@pytest.mark.parametrize(
    ("valid_for", "refresh"),
    [
        pytest.param(1.5, 3600, id="answer-past-its-next-update"),
        pytest.param(3600, REFRESH, id="answer-older-than-the-interval"),
    ],
)
def test_an_ocsp_answer_is_asked_again_and_the_revocation_seen(ocsp_school, valid_for, refresh):
    school, port = ocsp_school
    signed = school.sign()
    asked: list[float] = []
    answering = responder(school, valid_for=dt.timedelta(seconds=valid_for))

    def counted(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        asked.append(time.time())
        return answering(environ, start)

    with LoopbackServer(counted, port):
        verifier = school.verifier(refresh, use_ocsp=True, crls=False)
        first = verifier.verify(signed)
        assert first.verdict == "VALID"
        assert {c.source for c in first.checks if c.check == "revocation"} == {"ocsp"}
        started = time.time()

        school.pki.revoke(school.signers["GVBM"].certificate, when=before_signing())
        wait_past(started + min(valid_for, refresh))

        report = verifier.verify(signed)
    assert report.verdict == "REVOKED_CERTIFICATE"
    assert failed_revocations(report) == [("GVBM", "ocsp")] * len(SUBJECTS)
    assert any(moment > started for moment in asked)


def responder(
    school: School, valid_for: dt.timedelta, age: dt.timedelta = dt.timedelta(0)
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The CA's OCSP responder: answers signed by the issuing CA, valid for `valid_for` from
    their thisUpdate, `age` ago. An age past the validity replays answers produced earlier
    (validly signed, long past their nextUpdate), as someone between the server and the
    responder could."""

    def app(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = ocsp.load_der_ocsp_request(environ["wsgi.input"].read(length))
        produced = dt.datetime.now(dt.UTC) - age
        revoked = {
            serial: at for serial, at in school.pki.revoked_serials().items() if at <= produced
        }
        at = revoked.get(request.serial_number)
        response = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=request.serial_number,
                algorithm=request.hash_algorithm,
                cert_status=ocsp.OCSPCertStatus.GOOD if at is None else ocsp.OCSPCertStatus.REVOKED,
                this_update=produced,
                next_update=produced + valid_for,
                revocation_time=at,
                revocation_reason=None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, school.pki.issuing)
            .sign(school.pki.issuing_key, hashes.SHA256())
        )
        start("200 OK", [("Content-Type", "application/ocsp-response")])
        return [response.public_bytes(serialization.Encoding.DER)]

    return app


@pytest.mark.parametrize(
    ("crls", "verdict"), [(True, "REVOKED_CERTIFICATE"), (False, "INDETERMINATE")]
)
def test_a_replayed_ocsp_answer_past_its_next_update_is_not_believed(ocsp_school, crls, verdict):
    school, port = ocsp_school
    signed = school.sign()
    school.pki.revoke(school.signers["KY_PHAT_HANH"].certificate, when=before_signing())
    yesterday = responder(school, valid_for=dt.timedelta(hours=1), age=dt.timedelta(days=1))
    with LoopbackServer(yesterday, port):
        report = school.verifier(REFRESH, use_ocsp=True, crls=crls).verify(signed)
    assert report.verdict == verdict
    assert not [c for c in report.checks if c.check == "revocation" and c.source == "ocsp"]


# --- bounded caches --------------------------------------------------------------------------


HOSTILE_KEY = ec.generate_private_key(ec.SECP256R1())


def self_signed(number: int, padding: int = 0) -> Pkcs12Signer:
    """A certificate nobody issued, its subject padded with `padding` extra attributes (a
    parsed name takes tens of times its encoded size in memory)."""
    attributes = [
        x509.NameAttribute(NameOID.COMMON_NAME, f"Kẻ giả mạo {number}"),
        x509.NameAttribute(NameOID.USER_ID, f"CCCD:{TEACHER_ID}"),
        *(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{i}") for i in range(padding)),
    ]
    name = x509.Name(attributes)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(HOSTILE_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(HOSTILE_KEY, hashes.SHA256())
    )
    return Pkcs12Signer(HOSTILE_KEY, cert)


def hostile_uploads(count: int, padding: int = 0) -> Iterator[bytes]:
    """Records whose every signature is made with a certificate never seen before."""
    content = build(sample_record())
    number = 0
    for _ in range(count):
        root = parse_untrusted(content, keep_whitespace=True)
        ids = profile.ids_of(root)
        now = dt.datetime.now(dt.UTC)
        for slot in SLOTS:
            for subject in SUBJECTS if slot == "GVBM" else [None]:
                number += 1
                signer = self_signed(number, padding)
                target = ids[f"mon-{subject}" if slot == "GVBM" else TARGETS[slot]][0]
                prepared = profile.prepare(
                    slot_of(root, slot, subject),
                    target,
                    signer.certificate,
                    now,
                    f"sig-{number}",
                    signer.algorithm,
                )
                profile.embed(prepared, signer.sign_digests([prepared.digest])[0])
        yield serialize(root)


def test_a_flood_of_uploads_with_new_certificates_leaves_every_cache_within_its_bound(school):
    verifier = school.verifier(REFRESH)
    assert verifier.verify(school.sign()).verdict == "VALID"
    per_upload = len(SUBJECTS) + 3
    uploads = 2 * limits.CERTIFICATE_FACTS_CACHED // per_upload
    for content in hostile_uploads(uploads):
        assert verifier.verify(content).verdict == "UNTRUSTED_SIGNER"
    # the caches of the worker (private: nothing else shows what a process holds)
    assert len(verifier._facts) <= limits.CERTIFICATE_FACTS_CACHED
    assert len(profile._CERTS) <= limits.CERTIFICATES_CACHED
    assert len(verifier.trust._chains) <= limits.CERTIFICATE_CHAINS_CACHED
    assert profile._NEW_CERTS.used <= limits.UNTRUSTED_CERTIFICATE_BYTES_CACHED
    # the school's own certificates are still known, and verify as before
    assert verifier.verify(school.sign()).verdict == "VALID"


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_thousand_uploads_with_large_new_certificates_leave_the_worker_within_100_mb(school):
    verifier = school.verifier(REFRESH)
    uploads = list(hostile_uploads(1_000, padding=150))  # certificates of about 4 KB each
    gc.collect()
    start = resident_mib()
    for content in uploads:
        assert verifier.verify(content).verdict == "UNTRUSTED_SIGNER"
    gc.collect()
    grown = resident_mib() - start
    print(f"resident memory grew by {grown:.1f} MiB")
    assert grown < 100


def test_revocation_answers_for_many_certificates_stay_at_their_bound(tmp_path):
    """Revocation answers are asked only for certificates that chain to a trust anchor: a CA
    (here with fast EC keys) issuing many certificates, all checked against its CRL."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CA thử")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(now)
        .next_update(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "ca.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    checker = RevocationChecker.from_files([str(tmp_path / "ca.crl")], use_ocsp=False)
    holder = ec.generate_private_key(ec.SECP256R1()).public_key()
    for serial in range(2, 2 + 2 * limits.REVOCATION_ANSWERS_CACHED):
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{serial}")]))
            .issuer_name(name)
            .public_key(holder)
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        assert checker.status(cert, ca).status == "GOOD"
    assert len(checker._answers) == limits.REVOCATION_ANSWERS_CACHED


# --- the acceptance case: `hocba serve --workers 2` -------------------------------------------

SERVER_REFRESH = 2.0


@dataclasses.dataclass
class Issued:
    record_id: str
    version: int
    code: str
    xml: bytes

    @property
    def seal(self) -> x509.Certificate:
        """The school's certificate that sealed (KY_PHAT_HANH) the record."""
        root = etree.fromstring(self.xml)
        text = root.xpath(
            "//*[local-name()='KY_PHAT_HANH']//*[local-name()='X509Certificate']/text()"
        )
        return x509.load_der_x509_certificate(base64.b64decode(text[0]))


@dataclasses.dataclass
class Instance:
    data: Path
    ocsp_port: int
    records: dict[str, Issued]
    """One issued record per school code."""


LIST_ISSUED = """
import base64, json
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml
out = {}
for v in RecordVersion.objects.filter(state=State.ISSUED).select_related("record__school"):
    out.setdefault(v.record.school.code, [str(v.record.record_id), v.version, v.xml_sha256[:12],
                   base64.b64encode(read_xml(v)).decode()])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """A demo province in its own data directory, its development PKI naming an OCSP responder
    on a free loopback port."""
    data = tmp_path_factory.mktemp("instance")
    env = clean_env(data)
    port = free_port()
    run(env, "migrate", "-v0")
    run(env, "pki", "init-dev", "--ocsp-url", f"http://127.0.0.1:{port}/ocsp")
    run(env, "demo", "--students-per-school", "1")
    listed = json.loads(run(env, "shell", "-v0", "-c", LIST_ISSUED))
    records = {
        school: Issued(rid, version, code, base64.b64decode(xml))
        for school, (rid, version, code, xml) in listed.items()
    }
    assert records
    return Instance(data, port, records)


@pytest.fixture
def instance(built: Instance, tmp_path: Path) -> Instance:
    """A copy of the demo province for one test (its revocations stay there)."""
    data = tmp_path / "data"
    shutil.copytree(built.data, data)
    return dataclasses.replace(built, data=data)


@pytest.fixture
def server(instance: Instance) -> Iterator[Callable[..., tuple[str, subprocess.Popen[bytes]]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(**extra: str) -> tuple[str, subprocess.Popen[bytes]]:
        port = free_port()
        env = clean_env(
            instance.data,
            HOCBA_REVOCATION_REFRESH=str(SERVER_REFRESH),
            HOCBA_VERIFY_RATE="100000000",
            **extra,
        )
        log = (instance.data / f"serve-{port}.log").open("ab")
        process = subprocess.Popen(
            [HOCBA, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/xac-minh/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("hocba serve did not answer")
        return base, process

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def workers_of(master: subprocess.Popen[bytes]) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def verdicts(base: str, record: Issued, rounds: int) -> list[str]:
    """What the upload API, the lookup API and the QR page say, `rounds` times each, from eight
    clients at once, each request on a new connection (so both workers take some)."""

    def upload(_: int) -> str:
        answer = httpx.post(
            f"{base}/api/v1/verify",
            content=record.xml,
            headers={"Content-Type": "application/xml"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text[:300]
        return str(answer.json()["verdict"])

    def lookup(_: int) -> str:
        answer = httpx.get(
            f"{base}/api/v1/verify/{record.record_id}/{record.version}",
            params={"h": record.code},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text[:300]
        return str(answer.json()["verdict"])

    def page(_: int) -> str:
        answer = httpx.get(
            f"{base}/xac-minh/{record.record_id}/{record.version}",
            params={"h": record.code},
            timeout=30,
        )
        assert answer.status_code == 200
        return answer.text.split('data-verdict="', 1)[1].split('"', 1)[0]

    with ThreadPoolExecutor(8) as pool:
        return [
            verdict for ask in (upload, lookup, page) for verdict in pool.map(ask, range(rounds))
        ]


@pytest.mark.instances
@pytest.mark.parametrize("source", ["crl", "ocsp"])
def test_two_server_workers_report_a_revocation_within_the_configured_interval(
    instance, server, source
):
    record = instance.records[sorted(instance.records)[0]]
    pki = DevPki.load(instance.data / "pki")
    responder = LoopbackServer(ocsp_app(pki), instance.ocsp_port)
    with responder:
        base, master = server(HOCBA_OCSP="1" if source == "ocsp" else "0")
        # every worker has verified the record and keeps what it learnt
        assert set(verdicts(base, record, 24)) == {"VALID"}

        pki.revoke(record.seal, when=record.seal.not_valid_before_utc)  # compromised from the start
        revoked = time.time()
        wait_past(revoked + SERVER_REFRESH)

        workers = workers_of(master)
        assert len(workers) == 2
        ticks = {pid: cpu_ticks(pid) for pid in workers}
        answers = verdicts(base, record, 24)
        busy = {pid for pid in workers if cpu_ticks(pid) > ticks[pid]}
        report = httpx.post(
            f"{base}/api/v1/verify",
            content=record.xml,
            headers={"Content-Type": "application/xml"},
            timeout=30,
        ).json()

    assert set(answers) == {"REVOKED_CERTIFICATE"}, answers
    assert busy == set(workers)  # both workers answered some of them
    sources = {
        c.get("source")
        for c in report["checks"]
        if c["check"] == "revocation" and c["status"] == "FAIL"
    }
    assert sources == {source}
