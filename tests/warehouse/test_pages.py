"""The outbox page (who seals for the school) and the statistics page (anyone, within scope)."""

from __future__ import annotations

import pytest

from hocba.exchange.models import OutboxItem

pytestmark = pytest.mark.django_db

THCS = "25000201"


def test_the_seal_keeper_sees_the_outbox_and_sends_rejected_records_again(demo, login):
    client = login("vt.chuvanan")
    page = client.get(f"/exchange/schools/{THCS}/")
    assert page.status_code == 200
    text = page.content.decode()
    accepted = OutboxItem.objects.filter(sender_code=THCS, state="ACCEPTED").count()
    assert accepted > 0
    assert f"<strong>{accepted}</strong>" in text
    item = OutboxItem.objects.filter(sender_code=THCS).first()
    OutboxItem.objects.filter(pk=item.pk).update(
        state="REJECTED", code="SIGNATURE_INVALID", message="Chữ ký số không hợp lệ"
    )
    rejected = client.get(f"/exchange/schools/{THCS}/?state=REJECTED").content.decode()
    assert "SIGNATURE_INVALID" in rejected and "Chữ ký số không hợp lệ" in rejected
    response = client.post(f"/exchange/schools/{THCS}/resend/", {"item": [str(item.pk)]})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.state == "PENDING" and item.package is None


@pytest.mark.parametrize("username", ["vt.hungvuong", "gvcn.chuvanan.6a", "so.phutho"])
def test_nobody_else_sees_or_touches_a_schools_outbox(demo, login, username):
    client = login(username)
    assert client.get(f"/exchange/schools/{THCS}/").status_code == 403
    assert client.post(f"/exchange/schools/{THCS}/resend/").status_code == 403
    assert client.post(f"/exchange/schools/{THCS}/send/").status_code == 403


def test_statistics_cover_what_the_user_may_see(demo, login):
    province = login("so.phutho").get("/exchange/stats/").content.decode()
    for name in ("Trường THCS Chu Văn An", "Trường THPT Hùng Vương", "Trường Tiểu học Kim Đồng"):
        assert name in province
    assert "<svg" in province
    school = login("ht.chuvanan").get("/exchange/stats/").content.decode()
    assert "Trường THCS Chu Văn An" in school
    assert "Trường THPT Hùng Vương" not in school


def test_statistics_need_a_login(client, demo):
    response = client.get("/exchange/stats/")
    assert response.status_code == 302 and "/login/" in response["Location"]
