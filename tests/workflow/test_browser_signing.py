"""Signing from the browser in two steps, as the page does it (prepare on the server, the agent
signs the digests with the USB token after the PIN typed in its own window, complete on the
server) — here without a browser and with the token directly; the Playwright test walks the same
path in Chromium with the agent."""

from __future__ import annotations

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization

from hocba.records.models import Record, State
from hocba.records.services import correct_record
from hocba.signing.dev.tokens import token_signer
from hocba.workflow import services
from tests.factories.database import user

pytestmark = pytest.mark.django_db


def drafts(n: int = 3):  # type: ignore[no-untyped-def]
    records = Record.objects.filter(school__code="25000201", class_group__name="7A")[:n]
    return [
        correct_record(user("ht.chuvanan"), r, "Sửa để thử ký trên trình duyệt") for r in records
    ]


def subject_group(username: str):  # type: ignore[no-untyped-def]
    return next(g for g in services.waiting_for(user(username)) if g.slot == "GVBM")


def teacher_with_work() -> str:
    from hocba.organizations.models import Role, RoleAssignment

    assignment = RoleAssignment.objects.filter(
        role=Role.SUBJECT_TEACHER, class_group__school__code="25000201", class_group__name="7A",
        class_group__school_year__name="2024-2025",
    ).select_related("staff__user").first()  # fmt: skip
    return assignment.staff.user.username


def test_prepare_sign_with_the_token_and_complete(demo, login):
    versions = drafts()
    username = teacher_with_work()
    teacher = user(username)
    group = subject_group(username)
    assert {v.pk for v in versions} <= {v.pk for v in group.versions}
    token = token_signer(versions[0].record.school, teacher.staff.personal_id)
    client = login(username)
    prepared, values = signed_by_agent(client, group, token)
    assert prepared["total"] == len(group.versions)
    answer = client.post(
        "/signing/complete/",
        {"session": prepared["session"], "values": values},
        content_type="application/json",
    ).json()
    while not answer["finished"]:
        answer = client.post(
            "/signing/complete/",
            {"session": prepared["session"], "values": {}},
            content_type="application/json",
        ).json()
    assert answer["signed"] == len(group.versions) and answer["failed"] == []
    for version in versions:
        version.refresh_from_db()
        assert version.state == State.SIGNING
    assert not any(v.pk in {x.pk for x in versions} for v in subject_group(username).versions)


def test_prepare_says_what_the_batch_signs_for_the_agents_page(demo, login):
    """The signer agent shows the teacher what is signed (step, school, class, subject, one line
    per record) before the PIN; the server says it with the digests."""
    from hocba.gradebook.models import ClassSubject

    versions = drafts(2)
    username = teacher_with_work()
    group = subject_group(username)
    token = token_signer(versions[0].record.school, user(username).staff.personal_id)
    der = token.certificate.public_bytes(serialization.Encoding.DER)
    token.close()
    prepared = (
        login(username)
        .post(
            "/signing/prepare/",
            {"group": group.key, "certificate": base64.b64encode(der).decode()},
            content_type="application/json",
        )
        .json()
    )
    about = prepared["batch"]
    record = versions[0].record
    subject = ClassSubject.objects.get(
        class_group=record.class_group, subject_code=group.subject_code
    ).name
    assert about["step"] == "GVBM" and about["school"] == record.school.name
    assert about["classes"] == [record.class_group.name] and about["subject"] == subject
    assert len(about["records"]) == prepared["total"] == len(group.versions)
    # one line per signature, in the digests' order: what the agent shows is what it signs
    assert len(about["records"]) == len(prepared["digests"])
    assert (
        f"{record.student.full_name} — {record.class_group.name} (phiên bản 2)" in about["records"]
    )


def test_the_signer_agent_takes_the_batch_as_prepare_describes_it(demo, login):
    """The agent signs exactly as many digests as the description lists: what prepare answers
    is registered as it is, and the agent's page leads with the number of signatures."""
    import httpx

    from hocba.signing import config
    from hocba.signing.agent import SignerAgent
    from hocba.signing.dev.tokens import token_label

    versions = drafts(3)
    username = teacher_with_work()
    group = subject_group(username)
    personal_id = user(username).staff.personal_id
    token = token_signer(versions[0].record.school, personal_id)
    der = token.certificate.public_bytes(serialization.Encoding.DER)
    token.close()
    prepared = (
        login(username)
        .post(
            "/signing/prepare/",
            {"group": group.key, "certificate": base64.b64encode(der).decode()},
            content_type="application/json",
        )
        .json()
    )
    site = "http://127.0.0.1:8000"
    agent = SignerAgent(config.pkcs11_library(), config.softhsm_conf(), [site])
    with agent.serve():
        answer = httpx.post(
            f"{agent.url}/v1/batches",
            json={
                "token": token_label(versions[0].record.school),
                "key": personal_id,
                "digests": prepared["digests"],
                "about": prepared["batch"],
            },
            headers={"Origin": site},
        )
        assert answer.status_code == 201, answer.text
        page = httpx.get(answer.json()["confirm"]).text
    assert f'<strong class="count">{len(prepared["digests"])}</strong>' in page


def test_a_wrong_value_embeds_nothing(demo, login):
    versions = drafts(1)
    username = teacher_with_work()
    teacher = user(username)
    group = subject_group(username)
    token = token_signer(versions[0].record.school, teacher.staff.personal_id)
    der = token.certificate.public_bytes(serialization.Encoding.DER)
    token.close()
    client = login(username)
    prepared = client.post(
        "/signing/prepare/",
        {"group": group.key, "certificate": base64.b64encode(der).decode()},
        content_type="application/json",
    ).json()
    bogus = {d: base64.b64encode(b"\x00" * 256).decode() for d in prepared["digests"]}
    response = client.post(
        "/signing/complete/",
        {"session": prepared["session"], "values": bogus},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BAD_SIGNATURE_VALUE"
    versions[0].refresh_from_db()
    assert versions[0].state == State.DRAFT


def test_nobody_signs_what_is_not_theirs(demo, login):
    drafts(1)
    username = teacher_with_work()
    group = subject_group(username)
    other = login("gvcn.hungvuong.10a")
    response = other.post(
        "/signing/prepare/", {"group": group.key, "certificate": ""},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403 and response.json()["error"]["code"] == "NOT_YOUR_GROUP"
    assert login("so.phutho").get("/signing/").status_code == 200  # nothing waits for a Sở officer
    page = login(username).get("/signing/").content.decode()
    assert group.title in page


def test_the_principal_sees_progress_per_class_and_step(demo, login):
    versions = drafts(2)
    page = login("ht.chuvanan").get("/signing/schools/25000201/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Tiến độ ký học bạ" in text and "7A" in text
    row = re.search(r'7A</a></td><td class="num">(\d+)</td><td class="num">(\d+)</td>', text)
    assert row is not None and int(row.group(2)) >= len(versions)  # waiting for subject teachers
    assert "<svg" in text  # signatures per day
    assert "Kết quả cuối năm theo lớp" in text and "Được lên lớp" in text
    assert login("so.phutho").get("/signing/schools/25000201/").status_code == 200
    assert login("ht.hungvuong").get("/signing/schools/25000201/").status_code == 403
    assert login("gvcn.hungvuong.10a").get("/signing/schools/25000201/").status_code == 403


def test_the_homeroom_teacher_previews_a_draft_before_signing(demo, login, tmp_path):
    import subprocess

    from tests.conftest import require_tool

    version = drafts(1)[0]
    homeroom = f"gvcn.chuvanan.{version.record.class_group.name.lower()}"
    response = login(homeroom).get(f"/signing/preview/{version.pk}.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    path = tmp_path / "preview.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(
        [require_tool("pdftotext"), "-raw", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "BẢN XEM TRƯỚC" in " ".join(text.split()), text[:300]  # the rotated watermark
    assert version.record.student.full_name in text
    assert login("gvcn.hungvuong.10a").get(f"/signing/preview/{version.pk}.pdf").status_code == 403


def test_remote_signing_from_the_page_with_pin_and_otp(demo, login, settings):
    from pathlib import Path

    from hocba.signing import config
    from hocba.signing.dev.pki import DevPki
    from hocba.signing.dev.servers import CscCredential, CscService, LoopbackServer
    from hocba.signing.signers import Pkcs12Signer

    versions = drafts(2)
    username = teacher_with_work()
    teacher = user(username)
    group = subject_group(username)
    pki = DevPki.load(config.pki_dir())
    holder = Pkcs12Signer.from_file(
        Path(pki.index["people"][teacher.staff.personal_id]["p12"]), pki.pin
    )
    service = CscService("tok", {"cred": CscCredential(holder, "1234", "424242")})
    client = login(username)
    with LoopbackServer(service) as server:
        settings.CSC_URL = server.url
        assert "Ký số từ xa" in client.get("/signing/").content.decode()
        form = {"group": group.key, "access_token": "tok", "credential": "cred", "pin": "1234"}
        wrong = client.post("/signing/csc/", {**form, "otp": "000000"}, follow=True)
        assert "OTP" in wrong.content.decode() or "WRONG_OTP" in wrong.content.decode()
        for version in versions:
            version.refresh_from_db()
            assert version.state == State.DRAFT
        right = client.post("/signing/csc/", {**form, "otp": "424242"}, follow=True)
        assert f"Đã ký {len(group.versions)} học bạ" in right.content.decode()
    for version in versions:
        version.refresh_from_db()
        assert version.state == State.SIGNING


def test_a_group_of_ones_own_with_nothing_left_is_not_a_refusal(demo, login):
    """The seal keeper has just signed everything: the principal's click on the school's seal
    group finds nothing to sign (404), where another school's group is refused (403)."""
    principal = user("ht.chuvanan")
    school = principal.staff.school
    assert f"KY-{school.pk}" in services.group_keys(principal)
    assert services.group_of(principal, f"KY-{school.pk}") is None  # nothing waits at the seal
    client = login("ht.chuvanan")
    own = client.post(
        "/signing/prepare/", {"group": f"KY-{school.pk}", "certificate": ""},
        content_type="application/json",
    )  # fmt: skip
    assert own.status_code == 404 and own.json()["error"]["code"] == "NOTHING_TO_SIGN"
    other = user("ht.hungvuong").staff.school
    theirs = client.post(
        "/signing/prepare/", {"group": f"KY-{other.pk}", "certificate": ""},
        content_type="application/json",
    )  # fmt: skip
    assert theirs.status_code == 403 and theirs.json()["error"]["code"] == "NOT_YOUR_GROUP"


def signed_by_agent(client, group, token):  # type: ignore[no-untyped-def]
    """What the page and the agent do: prepare the group, sign its digests with the token;
    the prepared batch and the values to complete it with (digest → value, base64)."""
    try:
        der = token.certificate.public_bytes(serialization.Encoding.DER)
        prepared = client.post(
            "/signing/prepare/",
            {"group": group.key, "certificate": base64.b64encode(der).decode()},
            content_type="application/json",
        ).json()
        digests = [base64.b64decode(d) for d in prepared["digests"]]
        values = token.sign_digests(digests)
    finally:
        token.close()
    encoded = {base64.b64encode(d).decode(): base64.b64encode(v).decode()
               for d, v in zip(digests, values, strict=True)}  # fmt: skip
    return prepared, encoded


def sign_before_the_seal(versions) -> None:  # type: ignore[no-untyped-def]
    """Subject teachers, the homeroom teacher and the principal sign `versions` with their
    tokens, as their own groups list them."""
    from hocba.organizations.models import Staff
    from hocba.signing.services import sign_records

    school = versions[0].record.school
    ours = {v.pk for v in versions}
    people = list(Staff.objects.filter(user__isnull=False).select_related("user"))
    for slot in ("GVBM", "GVCN", "CBQL"):
        for person in people:
            for group in services.waiting_for(person.user):
                mine = [v for v in group.versions if v.pk in ours]
                if group.slot != slot or not mine:
                    continue
                token = token_signer(school, person.personal_id)
                try:
                    report = sign_records(
                        person.user, mine, slot, token, subject_code=group.subject_code or None
                    )
                finally:
                    token.close()
                assert not report.failed, report.failed


def test_the_seal_keepers_batch_ends_with_the_issued_records_views_drawn_in_the_background(
    demo, login, django_capture_on_commit_callbacks
):
    from hocba.documents.models import Document, RenderJob
    from hocba.signing.dev.tokens import org_label

    versions = drafts(2)
    sign_before_the_seal(versions)
    keeper = user("vt.chuvanan")
    school = versions[0].record.school
    group = services.group_of(keeper, f"KY-{school.pk}")
    assert {v.pk for v in versions} <= {v.pk for v in group.versions}
    client = login("vt.chuvanan")
    prepared, values = signed_by_agent(client, group, token_signer(school, org_label(school)))
    with django_capture_on_commit_callbacks(execute=True):
        answer = {"finished": False}
        while not answer["finished"]:
            answer = client.post(
                "/signing/complete/",
                {"session": prepared["session"], "values": values},
                content_type="application/json",
            ).json()
    for version in versions:
        version.refresh_from_db()
        assert version.state == State.ISSUED
        assert Document.objects.filter(version=version).count() == 1  # drawn and sealed
    batch = RenderJob.objects.latest("pk")
    assert set(batch.version_ids) >= {v.pk for v in versions}
    page = client.get("/signing/").content.decode()
    assert "đang được dựng và đóng dấu số" in page and f"/documents/jobs/{batch.pk}/" in page
    # one batch per class (the workers share a school's classes), linked by the class's name
    assert batch.class_group_id == versions[-1].record.class_group_id
    assert f">{batch.class_group.name}</a>" in page
    total = len(batch.version_ids)
    progress = client.get(f"/documents/jobs/{batch.pk}/").content.decode()
    assert f"Hoàn tất: {total}/{total}" in progress
