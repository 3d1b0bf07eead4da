"""Students and parents: their own records only, downloads logged, share links with an expiry
that can be revoked, every opening logged."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from hocba.audit.models import AuditEvent
from hocba.family.models import ShareLink, StudentAccess
from hocba.records.models import Record, State

pytestmark = pytest.mark.django_db


def account(relation: str = "SELF") -> StudentAccess:
    return StudentAccess.objects.select_related("user", "student").filter(relation=relation)[0]


def own_version(access: StudentAccess):  # type: ignore[no-untyped-def]
    record = Record.objects.get(student=access.student, versions__state=State.ISSUED)
    return record, record.versions.get(state=State.ISSUED)


def test_a_student_and_a_parent_see_and_download_only_their_own(client, demo, login):
    access = account("SELF")
    record, version = own_version(access)
    page = login(access.user.username).get("/my/").content.decode()
    assert access.student.full_name in page
    assert str(record.record_id) in page
    pdf = client.get(f"/my/records/{record.record_id}/v{version.version}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xml = client.get(f"/my/records/{record.record_id}/v{version.version}.xml")
    assert xml.status_code == 200 and b"HOC_BA" in xml.content
    assert (
        AuditEvent.objects.filter(
            action="family.download", actor=access.user, object_id=str(version.pk)
        ).count()
        == 2
    )
    other = Record.objects.filter(versions__state=State.ISSUED).exclude(student=access.student)[0]
    assert client.get(f"/my/records/{other.record_id}/v1.pdf").status_code == 403
    assert client.get(f"/my/records/{other.record_id}/v1.xml").status_code == 403
    assert client.post(f"/my/records/{other.record_id}/share/", {}).status_code == 403
    assert client.get(f"/my/records/{uuid.uuid4()}/v1.xml").status_code == 404
    parent = StudentAccess.objects.get(student=access.student, relation="PARENT")
    assert access.student.full_name in login(parent.user.username).get("/my/").content.decode()


def test_staff_and_strangers_have_no_student_page(client, demo, login):
    assert client.get("/my/").status_code == 302  # sign in first
    assert login("gvcn.chuvanan.6a").get("/my/").status_code == 403


def test_a_share_link_opens_until_revoked_or_expired_and_every_opening_is_logged(
    client, demo, login
):
    access = account("SELF")
    record, _version = own_version(access)
    student = login(access.user.username)
    response = student.post(
        f"/my/records/{record.record_id}/share/",
        {"recipient": "Trường THPT Việt Trì – hội đồng tuyển sinh", "days": "14"},
    )
    assert response.status_code == 302
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    token = re.search(r"/chia-se/([A-Za-z0-9_-]+)/", text).group(1)  # type: ignore[union-attr]
    link = ShareLink.objects.get(record=record)
    assert token not in link.token_hash  # only the hash is kept
    student.logout()

    opened = client.get(f"/chia-se/{token}/")
    page = opened.content.decode()
    assert opened.status_code == 200
    assert 'data-verdict="VALID"' in page and access.student.full_name in page
    assert access.student.personal_id not in page
    pdf = client.get(f"/chia-se/{token}/hoc-ba.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    link.refresh_from_db()
    assert link.opened == 2
    assert (
        AuditEvent.objects.filter(action="family.share.open", object_id=str(link.pk)).count() == 2
    )

    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    expired = client.get(f"/chia-se/{token}/")
    assert expired.status_code == 410 and "hết hạn" in expired.content.decode()
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() + dt.timedelta(days=1))

    # only its creator may revoke it
    other = StudentAccess.objects.filter(relation="SELF").exclude(user=access.user)[0]
    assert login(other.user.username).post(f"/my/shares/{link.pk}/revoke/").status_code == 403
    assert login(access.user.username).post(f"/my/shares/{link.pk}/revoke/").status_code == 302
    client.logout()
    revoked = client.get(f"/chia-se/{token}/")
    assert revoked.status_code == 410 and "thu hồi" in revoked.content.decode()
    assert client.get("/chia-se/not-a-real-token/").status_code == 404


def test_a_link_needs_a_recipient_and_a_sensible_expiry(demo, login):
    access = account("SELF")
    record, _ = own_version(access)
    student = login(access.user.username)
    for data in ({"recipient": "", "days": "10"}, {"recipient": "X", "days": "400"}):
        student.post(f"/my/records/{record.record_id}/share/", data)
    assert not ShareLink.objects.filter(record=record).exists()
