"""Attack class: a school's records refused for good by what is not the warehouse's answer.

A school sends its records to the warehouse over HTTP. Whatever stands between them (the
network, a proxy with its own body limit, an error page, a server restarting) or a package the
warehouse refuses as a whole (a seal or an account it does not accept) must never make a record
REJECTED at the school: only the warehouse's answer for that record can. The records wait, with
the reason shown, are sent again (in smaller packages after a 413), and every one ends ACCEPTED,
stored once at the warehouse, once the way is clear.
"""

from __future__ import annotations

import pytest

from hocba.exchange.client import HttpClient
from hocba.limits import MiB
from hocba.warehouse.models import Account
from tests.exchange.helpers import (
    DJANGO_400,
    Fault,
    acks,
    drive,
    outbox,
    page,
    proxied,
    received,
    states,
    stored,
)
from tests.factories.database import school_account, school_with_outbox, seal_keeper
from tests.factories.records import SCHOOL, TAX, signed_records

pytestmark = pytest.mark.django_db(transaction=True)

RECORDS = 40  # about 3 MB in one package: above Django's default 2.5 MB


@pytest.fixture
def warehouse(live_server, settings):
    settings.WAREHOUSE_ENABLED = True
    return live_server.url


@pytest.fixture
def proxy(warehouse):
    yield from proxied(warehouse)


@pytest.fixture
def client():
    opened: list[HttpClient] = []

    def _client(base: str) -> HttpClient:
        opened.append(HttpClient(f"{base}/api/v1/warehouse"))
        return opened[-1]

    yield _client
    for each in opened:
        each.close()


def stored_once(n: int) -> None:
    """Every record is at the warehouse exactly once, each accepted by one answer."""
    assert stored().count() == n
    assert acks().filter(status="ACCEPTED", code="ACCEPTED").count() == n
    assert not acks().filter(status="REJECTED").exists()


def never_rejected() -> None:
    assert not outbox().filter(state="REJECTED").exists(), states()


def test_a_school_with_default_settings_sends_packages_above_django_s_default_limit(
    warehouse, client
):
    school_with_outbox(signed_records(RECORDS))
    school_account()
    drive(client(warehouse), after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    stored_once(RECORDS)
    sizes = list(received().values_list("size", flat=True))
    assert max(sizes) > 2.5 * MiB


NOT_ANSWERS = {
    "a Django 400 page": DJANGO_400,
    "a proxy's 403 page": page(403, "403 Forbidden"),
    "a 404 page of a misrouted proxy": page(404, "404 Not Found"),
    "a 405 page": page(405, "405 Not Allowed"),
    "a 409 in plain text": Fault(status=409, body=b"conflict", content_type="text/plain"),
    "a 400 in JSON that is not the API's": Fault(
        status=400, body=b'{"detail": "bad"}', content_type="application/json"
    ),
}


@pytest.mark.parametrize("fault", NOT_ANSWERS.values(), ids=NOT_ANSWERS.keys())
def test_an_error_page_instead_of_the_warehouse_s_answer_rejects_nothing(proxy, client, fault):
    school_with_outbox(signed_records(RECORDS))
    school_account()
    proxy.plan(fault, times=3)
    drive(client(proxy.url), after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    stored_once(RECORDS)
    assert [s.status for s in proxy.seen if s.method == "POST" and "packages" in s.path][:3] == [
        fault.status
    ] * 3


@pytest.mark.parametrize("limit", [int(1 * MiB), 600_000])
def test_a_proxy_refusing_the_package_s_size_makes_it_split_not_rejected(proxy, client, limit):
    school_with_outbox(signed_records(RECORDS))
    school_account()
    proxy.max_body = limit
    drive(client(proxy.url), after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    stored_once(RECORDS)
    assert any(s.status == 413 for s in proxy.seen)
    sizes = list(received().values_list("size", flat=True))
    assert len(sizes) > 1 and max(sizes) <= limit


def test_a_record_too_large_for_any_package_the_proxy_takes_waits_until_it_does(proxy, client):
    few = 6
    school_with_outbox(signed_records(few))
    school_account()
    proxy.max_body = 50_000  # less than one record's package
    drive(client(proxy.url), rounds=4, until=lambda: False, after_round=never_rejected)
    assert not stored().exists()
    waiting = outbox().exclude(state="ACCEPTED")
    assert waiting.count() == few
    assert set(waiting.values_list("code", flat=True)) == {"RECORD_TOO_LARGE"}
    proxy.max_body = None
    drive(client(proxy.url), after_round=never_rejected)
    assert states() == {"ACCEPTED": few}
    stored_once(few)


def test_a_package_the_warehouse_refuses_unread_waits_and_goes_in_a_new_package(proxy, client):
    school_with_outbox(signed_records(RECORDS))
    school_account()
    malformed = Fault(
        status=400,
        body='{"error": {"code": "PACKAGE_MALFORMED", "message": "Gói tin hỏng"}}'.encode(),
        content_type="application/json",
    )
    proxy.plan(malformed, times=2)
    drive(client(proxy.url), after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    stored_once(RECORDS)


def _tax_code_fixed() -> None:
    Account.objects.filter(school_code=SCHOOL).update(tax_code=TAX)


def _school_code_fixed() -> None:
    Account.objects.filter(tax_code=TAX).update(school_code=SCHOOL)


WRONG_ACCOUNTS = {
    # the Sở registered another tax code: the seal is not the sender's (package refused whole)
    "PACKAGE_NOT_SEALED_BY_SENDER": ({"tax_code": "2600000000"}, _tax_code_fixed),
    # the Sở registered another school code: the package's sender is not the account
    "PACKAGE_SENDER_MISMATCH": ({"school_code": "25000298"}, _school_code_fixed),
}


@pytest.mark.parametrize("code", WRONG_ACCOUNTS)
def test_a_package_refused_as_a_whole_leaves_its_records_waiting_with_the_reason_shown(
    warehouse, client, code
):
    from django.test import Client

    school = school_with_outbox(signed_records(RECORDS))
    wrong, fix = WRONG_ACCOUNTS[code]
    school_account(**wrong)
    sender = client(warehouse)
    drive(sender, rounds=4, until=lambda: False, after_round=never_rejected)
    assert not stored().exists()
    assert states().get("ACCEPTED", 0) == 0
    refused = list(received().order_by("pk").values_list("code", "size"))
    assert {c for c, _ in refused} == {code}
    # while the cause is there, the sender tries again with one record at a time
    assert len(refused) >= 2 and all(size < 200_000 for _, size in refused[1:])

    browser = Client()
    browser.force_login(seal_keeper(school))
    text = browser.get(f"/exchange/schools/{SCHOOL}/").content.decode()
    assert code in text
    assert "Tạm dừng gửi" in text  # Vietnamese first: the pause and what to do about it
    assert "Không có học bạ nào bị từ chối" in text

    fix()
    drive(sender, after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    stored_once(RECORDS)


def test_a_package_answered_without_an_answer_for_a_record_sends_that_record_again(proxy, client):
    school_with_outbox(signed_records(RECORDS))
    school_account()
    dropped: list[str] = []

    def drop_first(body: dict) -> dict:
        if body.get("status") == "DONE" and body["acks"]:
            dropped.append(body["acks"][0]["record_id"])
            body["acks"] = body["acks"][1:]
        return body

    proxy.plan(Fault(rewrite=drop_first), method="GET", path="/packages/")
    drive(client(proxy.url), after_round=never_rejected)
    assert states() == {"ACCEPTED": RECORDS}
    stored_once(RECORDS)
    again = outbox().get(record_id=dropped[0])
    assert again.code == "DUPLICATE" and again.sends == 2
