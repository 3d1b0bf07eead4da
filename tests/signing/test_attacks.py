"""Verification against a development PKI, without a database: a correctly signed record is
VALID, and every attack gets the right verdict and code."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hocba.formats import build
from hocba.formats import model as m
from hocba.signing.certs import TrustStore
from hocba.signing.dev.pki import create, new_key
from hocba.signing.dev.servers import LoopbackServer, ocsp_app
from hocba.signing.revocation import RevocationChecker
from hocba.signing.signers import Pkcs12Signer
from hocba.signing.verify import Verifier
from tests.factories.records import (
    HOMEROOM_ID,
    PRINCIPAL_ID,
    TEACHER_ID,
    sample_record,
    sign_all,
    sign_step,
)

OTHER_TEACHER_ID = "025085009999"
TAX = "2600100202"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return create(tmp_path_factory.mktemp("pki"), ocsp_url="http://127.0.0.1:9/ocsp")


@pytest.fixture(scope="module")
def signers(pki):
    people = {}
    for pid, name in (
        (TEACHER_ID, "Nguyễn Thị Hoa"),
        (OTHER_TEACHER_ID, "Trần Văn Khác"),
        (HOMEROOM_ID, "Lê Văn Chủ"),
        (PRINCIPAL_ID, "Đỗ Gia Tuấn"),
    ):
        people[pid] = Pkcs12Signer(*pki.issue_person(pid, name))
    people["seal"] = Pkcs12Signer(*pki.issue_org(TAX, "Trường THCS Chu Văn An"))
    return people


def verifier(pki, use_ocsp=False, crls=True):
    trust = TrustStore.from_pem(
        [(pki.path / "ca/root.pem").read_bytes()], [(pki.path / "ca/issuing.pem").read_bytes()]
    )
    checker = RevocationChecker.from_files([str(pki.crl_path)] if crls else [], use_ocsp=use_ocsp)
    return Verifier(trust, checker)


def standard(signers):
    def signer_for(slot, subject):
        return {
            "GVBM": signers[TEACHER_ID],
            "GVCN": signers[HOMEROOM_ID],
            "CBQL": signers[PRINCIPAL_ID],
            "KY_PHAT_HANH": signers["seal"],
        }[slot]

    return signer_for


def codes(report):
    return {c.code for c in report.checks if c.status != "PASS"}


@pytest.fixture(scope="module")
def signed(signers):
    return sign_all(build(sample_record()), ["TOAN", "GDTC"], standard(signers))


def test_a_correctly_signed_record_is_valid(pki, signed):
    report = verifier(pki).verify(signed)
    assert report.verdict == "VALID" and report.valid
    signatures = [c for c in report.checks if c.check == "signature"]
    assert [(c.slot, c.target) for c in signatures] == [
        ("GVBM", "mon-TOAN"),
        ("GVBM", "mon-GDTC"),
        ("GVCN", "thongtinhocba"),
        ("CBQL", "data"),
        ("KY_PHAT_HANH", "data"),
    ]
    assert report.record.status == "ISSUED"


def test_ecdsa_p256_keys_sign_too(pki):
    ec_signers = {
        "GVBM": Pkcs12Signer(*pki.issue_person(TEACHER_ID, "Hoa", key=new_key("ec"))),
        "GVCN": Pkcs12Signer(*pki.issue_person(HOMEROOM_ID, "Chủ", key=new_key("ec"))),
        "CBQL": Pkcs12Signer(*pki.issue_person(PRINCIPAL_ID, "Tuấn", key=new_key("ec"))),
        "KY_PHAT_HANH": Pkcs12Signer(*pki.issue_org(TAX, "Trường", key=new_key("ec"))),
    }
    content = sign_all(build(sample_record()), ["TOAN", "GDTC"], lambda slot, _: ec_signers[slot])
    assert b"ecdsa-sha256" in content
    assert verifier(pki).verify(content).verdict == "VALID"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # an element the profile does not have, inside KeyInfo
        (b"<ds:X509Data>", b"<ds:KeyName>x</ds:KeyName><ds:X509Data>"),
        # a third Reference
        (b"</ds:SignedInfo>", b"<ds:Reference URI=''/></ds:SignedInfo>"),
        # a signature algorithm the profile does not use
        (b"xmldsig-more#rsa-sha256", b"xmldsig#rsa-sha1"),
    ],
)
def test_a_signature_outside_the_profile_is_malformed(pki, signed, old, new):
    report = verifier(pki).verify(signed.replace(old, new, 1))
    assert report.verdict == "TAMPERED"
    failed = [c for c in report.checks if c.status == "FAIL"]
    assert failed[0].code == "MALFORMED_SIGNATURE" and failed[0].target == "mon-TOAN"


def test_a_score_changed_after_signing(pki, signed):
    tampered = signed.replace(b"<DIEM_CA_NAM>8.3</DIEM_CA_NAM>", b"<DIEM_CA_NAM>9.3</DIEM_CA_NAM>")
    report = verifier(pki).verify(tampered)
    assert report.verdict == "TAMPERED"
    failed = [c for c in report.checks if c.status == "FAIL"]
    assert failed[0].target == "mon-TOAN" and failed[0].code == "DIGEST_MISMATCH"
    assert failed[0].message() == "Nội dung đã bị thay đổi sau khi ký"


def test_a_signature_copied_from_another_record(pki, signers, signed):
    other = build(
        dataclasses.replace(
            sample_record(record_id="7b0c9d1e-2f3a-4b5c-8d6e-0f1a2b3c4d5e"),
            student=dataclasses.replace(sample_record().student, full_name="Phạm Văn Khác"),
        )
    )
    other_signed = sign_all(other, ["TOAN", "GDTC"], standard(signers))
    start = other_signed.index(b'<GVBM Id="ky-mon-TOAN"')
    end = other_signed.index(b"</GVBM>", start) + len(b"</GVBM>")
    copied_slot = other_signed[start:end]
    start2 = signed.index(b'<GVBM Id="ky-mon-TOAN"')
    end2 = signed.index(b"</GVBM>", start2) + len(b"</GVBM>")
    forged = signed[:start2] + copied_slot + signed[end2:]
    report = verifier(pki).verify(forged)
    assert report.verdict == "TAMPERED"


def test_signature_wrapping_with_a_duplicated_id(pki, signed):
    """The signed Toán result is hidden in the signature's Object; a changed one is shown."""
    import copy

    from lxml import etree

    from hocba.formats import parse_untrusted
    from hocba.formats.builder import serialize

    root = parse_untrusted(signed, keep_whitespace=True)
    ns = "{urn:hocba:xml:1}"
    shown = root.find(f".//{ns}DIEM_TONG_KET[@Id='mon-TOAN']")
    signature = root.find(
        f".//{ns}GVBM[@MON='mon-TOAN']/{{http://www.w3.org/2000/09/xmldsig#}}Signature"
    )
    hidden = etree.SubElement(signature, "{http://www.w3.org/2000/09/xmldsig#}Object")
    hidden.append(copy.deepcopy(shown))
    shown.find(f"{ns}DIEM_CA_NAM").text = "9.9"
    report = verifier(pki).verify(serialize(root))
    assert report.verdict in ("TAMPERED", "MALFORMED")
    if report.verdict == "TAMPERED":
        assert "DUPLICATE_ID" in codes(report)


def test_signature_wrapping_with_a_moved_target(pki, signers, signed):
    # the GVBM signature for Toán is pointed at another subject's result
    moved = signed.replace(b'URI="#mon-TOAN"', b'URI="#mon-GDTC"', 1)
    report = verifier(pki).verify(moved)
    assert report.verdict == "TAMPERED"
    assert "WRONG_TARGET" in codes(report) or "DIGEST_MISMATCH" in codes(report)
    relabelled = signed.replace(b'MON="mon-TOAN"', b'MON="mon-GDTC"', 1).replace(
        b'MON="mon-GDTC"', b'MON="mon-TOAN"', 1
    )
    assert verifier(pki).verify(relabelled).verdict != "VALID" or relabelled == signed


def test_another_teachers_certificate_in_a_gvbm_slot(pki, signers):
    def wrong(slot, subject):
        if slot == "GVBM" and subject == "TOAN":
            return signers[OTHER_TEACHER_ID]
        return standard(signers)(slot, subject)

    content = sign_all(build(sample_record()), ["TOAN", "GDTC"], wrong)
    report = verifier(pki).verify(content)
    assert report.verdict == "UNTRUSTED_SIGNER"
    assert "SIGNER_MISMATCH" in codes(report)


def test_an_expired_certificate(pki, signers):
    now = dt.datetime.now(dt.UTC)
    expired = Pkcs12Signer(
        *pki.issue_person(
            HOMEROOM_ID,
            "Lê Văn Chủ",
            not_before=now - dt.timedelta(days=400),
            not_after=now - dt.timedelta(days=30),
        )
    )

    def signer_for(slot, subject):
        return expired if slot == "GVCN" else standard(signers)(slot, subject)

    report = verifier(pki).verify(sign_all(build(sample_record()), ["TOAN", "GDTC"], signer_for))
    assert report.verdict == "UNTRUSTED_SIGNER"
    assert "CERT_NOT_VALID_AT_SIGNING" in codes(report)


def test_a_certificate_from_an_unknown_ca(tmp_path, pki, signers):
    stranger = create(tmp_path / "stranger")
    foreign = Pkcs12Signer(*stranger.issue_person(PRINCIPAL_ID, "Đỗ Gia Tuấn"))

    def signer_for(slot, subject):
        return foreign if slot == "CBQL" else standard(signers)(slot, subject)

    report = verifier(pki).verify(sign_all(build(sample_record()), ["TOAN", "GDTC"], signer_for))
    assert report.verdict == "UNTRUSTED_SIGNER" and "CHAIN_UNTRUSTED" in codes(report)


def revoked_principal(pki):
    key, cert = pki.issue_person(PRINCIPAL_ID, "Đỗ Gia Tuấn")
    pki.revoke(cert, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    return Pkcs12Signer(key, cert)


def test_a_revoked_certificate_by_crl(pki, signers):
    bad = revoked_principal(pki)

    def signer_for(slot, subject):
        return bad if slot == "CBQL" else standard(signers)(slot, subject)

    content = sign_all(build(sample_record()), ["TOAN", "GDTC"], signer_for)
    report = verifier(pki).verify(content)
    assert report.verdict == "REVOKED_CERTIFICATE"
    revocation = [c for c in report.checks if c.check == "revocation" and c.status == "FAIL"]
    assert revocation[0].code == "CERT_REVOKED" and revocation[0].source == "crl"


def test_a_revoked_certificate_by_ocsp(tmp_path, signers):
    with LoopbackServer(lambda e, s: [b""]) as probe:
        port = probe.port
    pki = create(tmp_path / "ocsp-pki", ocsp_url=f"http://127.0.0.1:{port}/ocsp")
    people = {
        pid: Pkcs12Signer(*pki.issue_person(pid, "X"))
        for pid in (TEACHER_ID, HOMEROOM_ID, PRINCIPAL_ID)
    }
    seal = Pkcs12Signer(*pki.issue_org(TAX, "Trường"))
    bad = revoked_principal(pki)

    def signer_for(slot, subject):
        return {
            "GVBM": people[TEACHER_ID],
            "GVCN": people[HOMEROOM_ID],
            "CBQL": bad,
            "KY_PHAT_HANH": seal,
        }[slot]

    content = sign_all(build(sample_record()), ["TOAN", "GDTC"], signer_for)
    with LoopbackServer(ocsp_app(pki), port):
        report = verifier(pki, use_ocsp=True, crls=False).verify(content)
    assert report.verdict == "REVOKED_CERTIFICATE"
    failed = [c for c in report.checks if c.check == "revocation" and c.status == "FAIL"]
    assert failed[0].source == "ocsp"
    good = [c for c in report.checks if c.check == "revocation" and c.status == "PASS"]
    assert good and all(c.source == "ocsp" for c in good)


def test_revocation_unknown_when_nothing_answers(pki, signed):
    report = verifier(pki, use_ocsp=True, crls=False).verify(signed)
    assert report.verdict == "INDETERMINATE"
    assert "OCSP_UNREACHABLE" in codes(report)


def test_an_extra_signature_appended_by_an_outsider(pki, signers, signed):
    outsider = Pkcs12Signer(*pki.issue_person("001099001234", "Người Lạ"))
    extra = sign_step(signed, "KY_PHAT_HANH", outsider, sig_id="sig-outsider")
    report = verifier(pki).verify(extra)
    assert report.verdict == "UNTRUSTED_SIGNER" and "SIGNER_MISMATCH" in codes(report)


def test_a_step_out_of_order(pki, signers):
    t0 = dt.datetime.now(dt.UTC)
    minute = dt.timedelta(minutes=1)
    content = build(sample_record())
    content = sign_step(content, "GVBM", signers[TEACHER_ID], "TOAN", when=t0)
    content = sign_step(content, "GVCN", signers[HOMEROOM_ID], when=t0 + minute)  # GDTC not yet
    content = sign_step(content, "GVBM", signers[TEACHER_ID], "GDTC", when=t0 + 2 * minute)
    content = sign_step(content, "CBQL", signers[PRINCIPAL_ID], when=t0 + 3 * minute)
    content = sign_step(content, "KY_PHAT_HANH", signers["seal"], when=t0 + 4 * minute)
    report = verifier(pki).verify(content)
    assert report.verdict == "INCOMPLETE" and "ORDER_VIOLATION" in codes(report)


def test_a_missing_step_is_incomplete(pki, signers):
    content = sign_all(
        build(sample_record()), ["TOAN", "GDTC"], standard(signers), slots=("GVBM", "GVCN", "CBQL")
    )
    report = verifier(pki).verify(content)
    assert report.verdict == "INCOMPLETE" and report.record.status == "SIGNING"


def test_a_revoked_record_says_so(pki, signers):
    record = sample_record(version=2, event="CANCEL", status=2, reason="Sai", replaces_version=1)
    content = sign_step(build(record), "CBQL", signers[PRINCIPAL_ID])
    report = verifier(pki).verify(content)
    assert report.verdict == "RECORD_REVOKED" and not report.valid


def test_not_a_record_is_malformed(pki):
    assert verifier(pki).verify(b"<html/>").verdict == "MALFORMED"
    assert verifier(pki).verify(b"not xml").verdict == "MALFORMED"


def test_schema_version_of_the_record_is_checked(pki, signed):
    broken = signed.replace(b"<TRANG_THAI>1</TRANG_THAI>", b"<TRANG_THAI>7</TRANG_THAI>")
    assert verifier(pki).verify(broken).verdict == "MALFORMED"


_ = m
