"""Signing through the service with PKCS#11 keys on SoftHSM2: the demo's records, the order,
who may sign, batches that fail for one record, revocation, the CSC remote service and the
local signer agent."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, utils

from hocba.records.models import Record, RecordVersion, State
from hocba.records.services import correct_record, read_xml, revoke_record
from hocba.signing import config
from hocba.signing.agent import SignerAgent
from hocba.signing.dev.pki import DevPki
from hocba.signing.dev.servers import CscCredential, CscService, LoopbackServer
from hocba.signing.dev.tokens import org_label, token_signer
from hocba.signing.services import SigningRefused, sign_records
from hocba.signing.signers import CscSigner, Pkcs12Signer, SignerError
from hocba.signing.verify import Verifier
from tests.conftest import require_tool
from tests.factories.database import user

pytestmark = pytest.mark.django_db


def verifier() -> Verifier:
    checker = config.revocation_checker()
    checker.use_ocsp = False
    return Verifier(config.trust_store(), checker)


def staff_of(username):
    return user(username).staff


def test_every_demo_record_is_issued_and_verifies(demo):
    versions = list(RecordVersion.objects.all())
    assert versions and all(v.state == State.ISSUED for v in versions)
    check = verifier()
    for version in versions:
        report = check.verify(read_xml(version))
        assert report.verdict == "VALID", [c for c in report.checks if c.status != "PASS"]


def xmlsec_verify(xmlsec, pki_dir, path, xpath):
    return subprocess.run(
        [
            xmlsec,
            "--verify",
            "--trusted-pem",
            pki_dir / "ca/root.pem",
            "--untrusted-pem",
            pki_dir / "ca/issuing.pem",
            "--id-attr:Id",
            "urn:hocba:xml:1:DU_LIEU_HOC_BA",
            "--id-attr:Id",
            "urn:hocba:xml:1:THONG_TIN_HOC_BA",
            "--id-attr:Id",
            "urn:hocba:xml:1:DIEM_TONG_KET",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "--node-xpath",
            xpath,
            path,
        ],
        capture_output=True,
        text=True,
    )


def test_xmlsec1_verifies_each_signature_and_rejects_a_changed_score(demo, tmp_path):
    xmlsec = require_tool("xmlsec1")
    version = RecordVersion.objects.filter(record__school__code="25000201").first()
    content = read_xml(version)
    path = tmp_path / "record.xml"
    path.write_bytes(content)
    pki_dir = config.pki_dir()
    slots = [
        f"//*[local-name()='GVBM'][@MON='{mon}']/*[local-name()='Signature']"
        for mon in sorted(
            set(__import__("re").findall(r'MON="(mon-[A-Z_0-9]+)"', content.decode()))
        )
    ]
    slots += [
        "//*[local-name()='DANH_SACH_THONG_TIN_KY']/*[local-name()='GVCN']/*[local-name()='Signature']",
        "//*[local-name()='CBQL']/*[local-name()='Signature']",
        "//*[local-name()='KY_PHAT_HANH']/*[local-name()='Signature']",
    ]
    for xpath in slots:
        done = xmlsec_verify(xmlsec, pki_dir, path, xpath)
        assert done.returncode == 0, (xpath, done.stderr[-500:])
    text = content.decode()
    import re

    year = re.search(r"<DIEM_CA_NAM>([0-9.]+)</DIEM_CA_NAM>", text)
    changed = (
        text[: year.start(1)] + ("9.9" if year.group(1) != "9.9" else "1.0") + text[year.end(1) :]
    )
    path.write_text(changed, encoding="utf-8")
    first = re.search(r'<DIEM_TONG_KET Id="(mon-[A-Z_0-9]+)"', text).group(1)
    teacher_slot = f"//*[local-name()='GVBM'][@MON='{first}']/*[local-name()='Signature']"
    for xpath in (teacher_slot, slots[-1]):
        assert xmlsec_verify(xmlsec, pki_dir, path, xpath).returncode != 0


def draft(demo):
    """A fresh version to sign: a correction of an issued record of 7A."""
    record = Record.objects.filter(class_group__name="7A", school__code="25000201").first()
    return correct_record(user("ht.chuvanan"), record, "Điều chỉnh để thử ký")


def test_the_order_is_enforced(demo):
    version = draft(demo)
    school = version.record.school
    homeroom = user(f"gvcn.chuvanan.{version.record.class_group.name.lower()}")
    signer = token_signer(school, homeroom.staff.personal_id)
    try:
        report = sign_records(homeroom, [version], "GVCN", signer)
    finally:
        signer.close()
    assert report.signed == [] and report.failed[0][1] == "ORDER"
    principal = user("ht.chuvanan")
    signer = token_signer(school, principal.staff.personal_id)
    try:
        report = sign_records(principal, [version], "CBQL", signer)
    finally:
        signer.close()
    assert report.failed[0][1] == "ORDER"
    version.refresh_from_db()
    assert version.state == State.DRAFT


def sign_four_steps(version):
    school = version.record.school
    class_group = version.record.class_group
    from hocba.organizations.models import Role, RoleAssignment

    teachers = {
        a.staff
        for a in RoleAssignment.objects.filter(role=Role.SUBJECT_TEACHER, class_group=class_group)
    }
    for person in teachers:
        signer = token_signer(school, person.personal_id)
        try:
            sign_records(person.user, [version], "GVBM", signer)
        finally:
            signer.close()
    homeroom = RoleAssignment.objects.get(role=Role.HOMEROOM_TEACHER, class_group=class_group).staff
    principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff
    keeper = RoleAssignment.objects.get(role=Role.SEAL_KEEPER, school=school).staff
    for slot, person, label in (
        ("GVCN", homeroom, homeroom.personal_id),
        ("CBQL", principal, principal.personal_id),
        ("KY_PHAT_HANH", keeper, org_label(school)),
    ):
        signer = token_signer(school, label)
        try:
            report = sign_records(person.user, [version], slot, signer)
        finally:
            signer.close()
        assert report.signed == [version], report.failed
    version.refresh_from_db()
    return version


def test_a_correction_signed_in_four_steps_supersedes_the_previous_version(demo):
    version = sign_four_steps(draft(demo))
    assert version.state == State.ISSUED
    assert version.record.versions.get(version=1).state == State.SUPERSEDED
    assert verifier().verify(read_xml(version)).verdict == "VALID"


def test_a_revocation_is_signed_by_the_principal(demo):
    record = Record.objects.filter(school__code="25000201").last()
    version = revoke_record(user("ht.chuvanan"), record, "Cấp nhầm")
    principal = user("ht.chuvanan")
    signer = token_signer(record.school, principal.staff.personal_id)
    try:
        report = sign_records(principal, [version], "CBQL", signer)
    finally:
        signer.close()
    assert report.issued == [version]
    assert record.versions.get(version=1).state == State.REVOKED
    assert verifier().verify(read_xml(record.versions.get(version=2))).verdict == "RECORD_REVOKED"


def test_a_certificate_of_someone_else_is_refused(demo):
    version = draft(demo)
    school = version.record.school
    other = user("ht.chuvanan")
    signer = token_signer(school, other.staff.personal_id)  # the principal's key
    try:
        with pytest.raises(SigningRefused) as refused:
            sign_records(
                user(f"gvcn.chuvanan.{version.record.class_group.name.lower()}"),
                [version],
                "GVCN",
                signer,
            )
    finally:
        signer.close()
    assert refused.value.code == "CERT_NOT_YOURS"


def test_a_teacher_cannot_sign_another_class(demo):
    version = draft(demo)
    outsider = user("gvcn.chuvanan.8a")
    signer = token_signer(version.record.school, outsider.staff.personal_id)
    try:
        report = sign_records(outsider, [version], "GVCN", signer)
    finally:
        signer.close()
    assert report.signed == [] and report.failed
    assert isinstance(report.failed[0][1], str)


def test_a_wrong_pin_is_refused(demo):
    school = demo.schools["chuvanan"]
    with pytest.raises(SignerError) as error:
        token_signer(school, user("ht.chuvanan").staff.personal_id, pin="000000")
    assert error.value.code == "WRONG_PIN"


def test_one_bad_record_leaves_the_others_signed_and_the_batch_resumable(demo):
    from django.core.files.storage import default_storage

    from hocba.organizations.models import Role, RoleAssignment

    records = list(Record.objects.filter(class_group__name="7A", school__code="25000201")[:2])
    versions = [correct_record(user("ht.chuvanan"), r, "Điều chỉnh") for r in records]
    teacher = (
        RoleAssignment.objects.filter(
            role=Role.SUBJECT_TEACHER, class_group=records[0].class_group, subject_code="TOAN"
        )
        .get()
        .staff
    )
    good_bytes = read_xml(versions[1])
    with default_storage.open(versions[1].storage_name, "wb") as handle:
        handle.write(b"damaged")  # the second version's file is damaged on disk
    signer = token_signer(records[0].school, teacher.personal_id)
    try:
        first_run = sign_records(teacher.user, versions, "GVBM", signer)
    finally:
        signer.close()
    assert first_run.signed == [versions[0]]
    assert [v for v, _, _ in first_run.failed] == [versions[1]]
    with default_storage.open(versions[1].storage_name, "wb") as handle:
        handle.write(good_bytes)
    signer = token_signer(records[0].school, teacher.personal_id)
    try:
        second_run = sign_records(teacher.user, versions, "GVBM", signer)
    finally:
        signer.close()
    assert second_run.signed == [versions[1]]
    assert [v for v, _ in second_run.skipped] == [versions[0]]
    for version in versions:
        version.refresh_from_db()
        assert version.state == State.SIGNING
        assert b"sig-gvbm-TOAN" in read_xml(version)


def test_a_record_signed_by_someone_else_meanwhile_is_listed_and_the_rest_of_the_batch_lands(
    demo,
):
    """Two teachers of the class sign at the same moment: the batch that saves second finds
    one record changed since it prepared it, lists it (CONCURRENT_UPDATE) and saves the other,
    and a second run signs it on top of the other teacher's signature."""
    from hocba.audit.services import verify_chain
    from hocba.organizations.models import Role, RoleAssignment

    records = list(Record.objects.filter(class_group__name="7A", school__code="25000201")[:2])
    versions = [correct_record(user("ht.chuvanan"), r, "Điều chỉnh") for r in records]
    teachers = {
        a.subject_code: a.staff
        for a in RoleAssignment.objects.filter(
            role=Role.SUBJECT_TEACHER, class_group=records[0].class_group
        )
    }
    maths, literature = teachers["TOAN"], teachers["NGU_VAN"]
    assert maths != literature
    school = records[0].school

    class SignsMeanwhile:
        """The maths teacher's key; once it has signed (the school's token takes one session
        at a time), the literature teacher signs record 2."""

        def __init__(self, signer):
            self.signer, self.certificate = signer, signer.certificate

        def sign_digests(self, digests):
            values = self.signer.sign_digests(digests)
            self.signer.close()
            other = token_signer(school, literature.personal_id)
            try:
                again = RecordVersion.objects.select_related("record__class_group").get(
                    pk=versions[1].pk
                )
                assert sign_records(literature.user, [again], "GVBM", other).signed
            finally:
                other.close()
            return values

    first = sign_records(
        maths.user, versions, "GVBM", SignsMeanwhile(token_signer(school, maths.personal_id))
    )
    assert first.signed == [versions[0]]
    assert [(v, code) for v, code, _ in first.failed] == [(versions[1], "CONCURRENT_UPDATE")]
    stored = RecordVersion.objects.get(pk=versions[1].pk)
    assert b"sig-gvbm-NGU_VAN" in read_xml(stored) and b"sig-gvbm-TOAN" not in read_xml(stored)
    signer = token_signer(school, maths.personal_id)
    try:
        second = sign_records(maths.user, [stored], "GVBM", signer)
    finally:
        signer.close()
    assert second.signed == [stored]
    content = read_xml(RecordVersion.objects.get(pk=versions[1].pk))
    assert b"sig-gvbm-NGU_VAN" in content and b"sig-gvbm-TOAN" in content
    assert verify_chain().intact


def test_csc_signs_500_hashes_under_one_authorisation(tmp_path):
    pki_dir = config.pki_dir()
    pki = DevPki.load(pki_dir)
    key, cert = pki.issue_person("025085001234", "Nguyễn Thị Hoa")
    service = CscService(
        "token-abc",
        {"cred-1": CscCredential(Pkcs12Signer(key, cert), "1234", "777888")},
        max_hashes=500,
    )
    with LoopbackServer(service) as server:
        signer = CscSigner(server.url, "token-abc", "cred-1", "1234", "777888")
        digests = [hashlib.sha256(str(i).encode()).digest() for i in range(500)]
        values = signer.sign_digests(digests)
        signer.close()
        assert len(values) == 500
        cert.public_key().verify(
            values[123], digests[123], padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())
        )
        assert service.calls.count("/csc/v2/credentials/authorize") == 1
        assert service.calls.count("/csc/v2/signatures/signHash") == 1
        wrong = CscSigner(server.url, "token-abc", "cred-1", "1234", "000000")
        with pytest.raises(SignerError) as error:
            wrong.sign_digests(digests[:3])
        assert error.value.code == "WRONG_OTP" and "OTP" in error.value.message
        wrong_pin = CscSigner(server.url, "token-abc", "cred-1", "9999", "777888")
        with pytest.raises(SignerError) as error:
            wrong_pin.sign_digests(digests[:3])
        assert error.value.code == "WRONG_PIN"


def test_a_wrong_otp_embeds_nothing(demo):
    version = draft(demo)
    record = version.record
    homeroom_staff = user(f"gvcn.chuvanan.{record.class_group.name.lower()}").staff
    from hocba.organizations.models import Role, RoleAssignment

    teacher = (
        RoleAssignment.objects.filter(role=Role.SUBJECT_TEACHER, class_group=record.class_group)
        .first()
        .staff
    )
    pki = DevPki.load(config.pki_dir())
    p12 = pki.index["people"][teacher.personal_id]["p12"]
    holder = Pkcs12Signer.from_file(__import__("pathlib").Path(p12), pki.pin)
    service = CscService("t", {"c": CscCredential(holder, "1234", "424242")})
    before = (version.xml_sha256, version.state)
    with LoopbackServer(service) as server:
        signer = CscSigner(server.url, "t", "c", "1234", "111111")
        with pytest.raises(SignerError):
            sign_records(teacher.user, [version], "GVBM", signer)
        signer = CscSigner(server.url, "t", "c", "1234", "424242")
        report = sign_records(teacher.user, [version], "GVBM", signer)
    version.refresh_from_db()
    assert before[1] == State.DRAFT
    assert report.signed == [version] and version.state == State.SIGNING
    del homeroom_staff


def test_the_signer_agent_signs_with_the_token(demo):
    """A batch registered by the site's page is signed after the PIN typed on the agent's own
    page; a wrong PIN there signs nothing (the attacks on the agent: tests/attacks)."""
    import re

    school = demo.schools["chuvanan"]
    person = user("ht.chuvanan").staff
    pki = DevPki.load(config.pki_dir())
    site = "http://127.0.0.1:8000"
    agent = SignerAgent(config.pkcs11_library(), str(pki.softhsm_conf), [site])
    digest = hashlib.sha256(b"SignedInfo").digest()
    with agent.serve():
        batch = httpx.post(
            f"{agent.url}/v1/batches",
            json={
                "token": f"HOCBA-{school.code}",
                "key": person.personal_id,
                "digests": [base64.b64encode(digest).decode()],
                "about": {"step": "CBQL", "school": school.name, "records": ["Học sinh — 7A"]},
            },
            headers={"Origin": site},
        ).json()
        page = httpx.get(batch["confirm"]).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]

        def confirm(pin: str) -> dict:  # type: ignore[type-arg]
            httpx.post(
                batch["confirm"],
                data={"csrf": csrf, "action": "sign", "pin": pin},
                headers={"Origin": agent.url},
            )
            return httpx.post(  # type: ignore[no-any-return]
                f"{agent.url}/v1/batches/{batch['batch']}",
                json={"secret": batch["secret"]},
                headers={"Origin": site},
            ).json()

        assert confirm("000000") == {"state": "WAITING"}
        assert "Sai mã PIN" in httpx.get(batch["confirm"]).text
        answer = confirm(pki.pin)
        assert answer["state"] == "SIGNED"
        from cryptography import x509

        der = httpx.post(
            f"{agent.url}/v1/certificate",
            json={"token": f"HOCBA-{school.code}", "key": person.personal_id},
            headers={"Origin": site},
        ).json()["certificate"]
        cert = x509.load_der_x509_certificate(base64.b64decode(der))
        cert.public_key().verify(
            base64.b64decode(answer["signatures"][0]),
            digest,
            padding.PKCS1v15(),
            utils.Prehashed(hashes.SHA256()),
        )


def test_cli_verify_exit_codes(demo, tmp_path):
    import os
    import sys

    version = RecordVersion.objects.filter(
        state=State.ISSUED, record__school__code="25000201"
    ).first()
    good = tmp_path / "good.xml"
    good.write_bytes(read_xml(version))
    bad = tmp_path / "bad.xml"
    text = good.read_text(encoding="utf-8")
    import re

    year = re.search(r"<DIEM_HK1>([0-9.]+)</DIEM_HK1>", text)
    bad.write_text(
        text[: year.start(1)] + ("1.0" if year.group(1) != "1.0" else "2.0") + text[year.end(1) :],
        encoding="utf-8",
    )
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"<<<")
    env = {**os.environ, "HOCBA_OCSP": "0"}
    trust = ["--trust", str(config.pki_dir() / "ca/root.pem")]
    # the test database is not the data directory's: only the PKI files are read
    env["HOCBA_TRUST_INTERMEDIATES"] = str(config.pki_dir() / "ca/issuing.pem")
    env["HOCBA_CRLS"] = str(config.pki_dir() / "crl/issuing.crl")

    def run(path):
        return subprocess.run(
            [sys.executable, "-m", "hocba.cli", "verify", "--json", *trust, str(path)],
            capture_output=True,
            text=True,
            env=env,
        )

    ok = run(good)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["verdict"] == "VALID"
    tampered = run(bad)
    assert tampered.returncode == 1 and json.loads(tampered.stdout)["verdict"] == "TAMPERED"
    assert run(junk).returncode == 2


def test_a_token_that_appears_after_the_module_started_is_found(demo, tmp_path):
    """A PKCS#11 module reads its tokens when it starts; a token plugged in afterwards (or one
    it could not read at that moment) is found by starting the module again, when nothing in
    this process has a session open: the signer gets as far as the token's keys."""
    import uuid

    from hocba.signing.signers import Pkcs11Signer, SignerError

    pki = DevPki.load(config.pki_dir())
    school = Record.objects.first().school
    signer = token_signer(school, org_label(school))  # the module is started, and in use
    signer.close()
    label = f"MOI-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", label,
         "--pin", "123456", "--so-pin", "12345678"],
        env={**os.environ, "SOFTHSM2_CONF": str(pki.softhsm_conf)},
        check=True, capture_output=True,
    )  # fmt: skip
    with pytest.raises(SignerError) as found:
        Pkcs11Signer(config.pkcs11_library(), label, "123456", "khoa", str(pki.softhsm_conf))
    assert found.value.code == "KEY_NOT_FOUND"  # the new token was seen (it holds no key yet)
