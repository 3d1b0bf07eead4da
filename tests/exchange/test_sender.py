"""The sender against a real warehouse on loopback (Django's live server), through a proxy that
misbehaves: what is retried, what pauses, what is split, what the school sees."""

from __future__ import annotations

import datetime as dt
import itertools
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from hocba import limits
from hocba.exchange import services
from hocba.exchange.apps import package_size_fits
from hocba.exchange.client import HttpClient
from hocba.exchange.models import SenderState
from tests.exchange.helpers import (
    NGINX_413,
    Fault,
    acks,
    drive,
    outbox,
    outgoing,
    page,
    proxied,
    received,
    states,
    stored,
)
from tests.factories.database import school_account, school_with_outbox, seal_keeper
from tests.factories.records import SCHOOL, signed_records

FEW = 6

live = pytest.mark.django_db(transaction=True)


@pytest.fixture
def warehouse(live_server, settings):
    settings.WAREHOUSE_ENABLED = True
    return live_server.url


@pytest.fixture
def proxy(warehouse):
    yield from proxied(warehouse)


@pytest.fixture
def sender(proxy):
    client = HttpClient(f"{proxy.url}/api/v1/warehouse")
    yield client
    client.close()


def accepted_once(n: int) -> None:
    assert states() == {"ACCEPTED": n}
    assert stored().count() == n
    assert acks().filter(code="ACCEPTED").count() == n


TRANSIENT = {
    "a 502 page": page(502, "502 Bad Gateway"),
    "a 503 in JSON": Fault(status=503, body=b'{"error": {"code": "DOWN", "message": "x"}}',
                           content_type="application/json"),
    "a 500": page(500, "Server Error (500)"),
    "a broken connection": Fault(reset=True),
    "a 429": Fault(status=429, body=b"slow down", content_type="text/plain"),
    "a 200 page that is not a receipt": page(200, "Wi-Fi login"),
}  # fmt: skip


@live
@pytest.mark.parametrize("fault", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_what_is_not_an_answer_is_posted_again_later(proxy, sender, fault):
    school_with_outbox(signed_records(FEW))
    school_account()
    proxy.plan(fault, times=2)
    now = timezone.now()
    services.run_once(sender, now=now)
    package = outgoing().get()
    assert package.state == "BUILT" and package.attempts == 1 and package.last_error
    assert package.next_attempt_at > now
    services.run_once(sender, now=now)  # not due yet: nothing is posted
    assert len([s for s in proxy.seen if s.method == "POST" and "packages" in s.path]) == 1
    drive(sender)
    accepted_once(FEW)
    assert received().count() == 1


@live
def test_a_status_that_is_not_the_warehouse_s_answer_is_asked_again(proxy, sender):
    school_with_outbox(signed_records(FEW))
    school_account()
    proxy.plan(page(200, "Captive portal"), method="GET", path="/packages/", times=2)
    drive(sender)
    accepted_once(FEW)


@live
def test_a_retry_after_is_waited_for(proxy, sender):
    school_with_outbox(signed_records(FEW))
    school_account()
    busy = Fault(status=429, body=b"busy", content_type="text/plain")
    busy.headers["Retry-After"] = "900"
    proxy.plan(busy)
    now = timezone.now()
    services.run_once(sender, now=now)
    package = outgoing().get()
    assert package.state == "BUILT"
    assert package.next_attempt_at >= now + dt.timedelta(seconds=900)


@live
def test_a_413_for_a_package_the_warehouse_already_holds_does_not_split_it(proxy, sender):
    school_with_outbox(signed_records(FEW))
    school_account()
    proxy.plan(Fault(forward=True, status=413, body=NGINX_413.body))
    drive(sender)
    accepted_once(FEW)
    assert received().count() == 1
    assert not outgoing().filter(state="REPACKED").exists()


@live
def test_a_split_package_is_never_posted_again(proxy, sender):
    school_with_outbox(signed_records(FEW))
    school_account()
    proxy.max_body = 300_000
    drive(sender)
    accepted_once(FEW)
    retired = set(outgoing().filter(state="REPACKED").values_list("package_id", flat=True))
    assert retired
    at_the_warehouse = set(received().values_list("package_id", flat=True))
    assert not retired & at_the_warehouse
    assert SenderState.objects.get(sender_code=SCHOOL).package_bytes <= 300_000
    for item in outbox():
        assert item.package.state == "DONE"


@live
def test_a_wrong_secret_pauses_sending_until_the_credential_is_fixed(proxy, sender):
    school_with_outbox(signed_records(FEW))
    school_account()
    services.set_credential(SCHOOL, f"truong-{SCHOOL}", "not-the-secret-at-all")
    now = timezone.now()
    services.run_once(sender, now=now)
    state = SenderState.objects.get(sender_code=SCHOOL)
    assert state.paused and state.code == "invalid_client"
    assert not outbox().filter(state="REJECTED").exists()
    assert set(outbox().values_list("code", flat=True)) == {"invalid_client"}
    out = StringIO()
    call_command("exchange", "status", stdout=out)
    assert "invalid_client" in out.getvalue()

    from tests.factories.records import SECRET

    services.set_credential(SCHOOL, f"truong-{SCHOOL}", SECRET)
    services.retry_now(SCHOOL)
    services.run_once(sender, now=now)  # at once, though the wait is not over
    services.run_once(sender, now=now)
    accepted_once(FEW)
    assert not SenderState.objects.get(sender_code=SCHOOL).paused


@live
def test_the_outbox_page_shows_packages_on_their_way_with_their_last_problem(proxy, sender):
    school = school_with_outbox(signed_records(FEW))
    school_account()
    proxy.plan(page(502, "502 Bad Gateway"))
    services.run_once(sender)
    browser = Client()
    browser.force_login(seal_keeper(school))
    text = browser.get(f"/exchange/schools/{SCHOOL}/").content.decode()
    assert "Gói tin đang gửi" in text and "HTTP 502" in text


@pytest.mark.django_db
@pytest.mark.parametrize("limit", [250_000, 700_000])
def test_a_package_is_never_larger_than_the_sender_s_limit(settings, limit):
    from django.core.files.storage import default_storage

    settings.EXCHANGE_PACKAGE_BYTES = limit
    school_with_outbox(signed_records(FEW * 3))
    while services.pack(SCHOOL) is not None:
        pass
    packages = list(outgoing())
    assert sum(p.records for p in packages) == FEW * 3
    for package in packages:
        with default_storage.open(package.storage_name, "rb") as handle:
            assert len(handle.read()) == package.size <= limit


def test_the_default_package_fits_what_a_warehouse_takes(settings):
    assert settings.EXCHANGE_PACKAGE_BYTES <= limits.PACKAGE_BYTES
    assert settings.EXCHANGE_PACKAGE_RECORDS <= limits.PACKAGE_RECORDS
    assert package_size_fits() == []
    settings.EXCHANGE_PACKAGE_BYTES = limits.PACKAGE_BYTES + 1
    settings.EXCHANGE_PACKAGE_RECORDS = limits.PACKAGE_RECORDS + 1
    assert {e.id for e in package_size_fits()} == {"hocba.E101", "hocba.E102"}


@pytest.mark.django_db
def test_a_record_waiting_to_be_sent_again_goes_at_once_after_send_now_or_resend():
    school_with_outbox(signed_records(FEW))
    now = timezone.now()
    later = now + dt.timedelta(hours=1)
    outbox().update(code="PROCESSING_FAILED", retries=1, next_attempt_at=later)
    assert services.pack(SCHOOL, now=now) is None  # each waits for its time
    assert services.pack(SCHOOL, now=later).records == FEW
    outbox().update(state="PENDING", package=None, next_attempt_at=later)
    services.retry_now(SCHOOL)
    assert services.pack(SCHOOL, now=now).records == FEW
    outbox().update(state="REJECTED", package=None, next_attempt_at=later)
    assert services.resend(outbox()) == FEW
    assert services.pack(SCHOOL, now=now).records == FEW


@live
def test_each_package_is_posted_as_soon_as_it_is_sealed(proxy, sender, settings):
    settings.EXCHANGE_PACKAGE_RECORDS = 2
    school_with_outbox(signed_records(FEW))
    school_account()
    round_ = services.run_once(sender)
    assert (round_.packed, round_.submitted) == (3, 3)
    sealed = list(outgoing().order_by("created_at", "pk"))
    arrived = {str(r.package_id): r.received_at for r in received()}
    # the warehouse had each package before the next one was sealed
    for package, following in itertools.pairwise(sealed):
        assert arrived[str(package.package_id)] <= following.created_at
    accepted_once(FEW)


@live
def test_what_waits_in_the_outbox_is_sent_when_the_transaction_that_filled_it_commits(
    warehouse, settings
):
    settings.UPSTREAM_URL = f"{warehouse}/api/v1/warehouse"
    school_account()
    with transaction.atomic():
        school_with_outbox(signed_records(FEW))
        services.send_soon()
        assert not received().exists()  # nothing leaves before the commit
    # the round ran when the transaction committed (the test suite runs tasks as they are
    # enqueued; `hocba worker` runs them otherwise), and the warehouse answered in it
    accepted_once(FEW)
    assert outgoing().get().state == "DONE"


@live
def test_send_now_queues_a_round_for_the_worker_and_the_page_answers_at_once(
    warehouse, settings, database_queue
):
    """ "Gửi ngay" does not send inside the page's request (a slow warehouse would hold the
    page, and the web server's worker, for minutes): it queues a round, which the worker runs."""
    from django_tasks_db.models import DBTaskResult

    from hocba.exchange.tasks import send_outbox
    from hocba.jobs.worker import DatabaseWorker

    settings.UPSTREAM_URL = f"{warehouse}/api/v1/warehouse"
    school = school_with_outbox(signed_records(FEW))
    school_account()
    browser = Client()
    browser.force_login(seal_keeper(school))
    answer = browser.post(f"/exchange/schools/{SCHOOL}/send/", follow=True)
    assert "Đã xếp một lượt gửi" in answer.content.decode()
    assert not received().exists() and states() == {"PENDING": FEW}
    assert list(DBTaskResult.objects.values_list("task_path", "status")) == [
        (send_outbox.module_path, "READY")
    ]
    DatabaseWorker(batch=True, heartbeat=False, interval=0).run()
    assert received().exists()  # the worker's round sent the packages
    for _ in range(10):  # the rounds it planned ask for the answers (run now, not in 2 s)
        if states() == {"ACCEPTED": FEW}:
            break
        DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
        DatabaseWorker(batch=True, heartbeat=False, interval=0).run()
    accepted_once(FEW)
