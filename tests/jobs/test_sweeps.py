"""Work that waits with no task for it is found by `hocba worker` on its own (the sweeps the
apps register): a received package whose task was set aside or never enqueued is processed, and
an outbox whose chain of sending rounds broke gets a round; work that has its task is left
alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from hocba.exchange.models import OutboxItem
from hocba.exchange.services import enqueue_forgotten_round
from hocba.exchange.tasks import send_outbox
from hocba.jobs.worker import DatabaseWorker
from hocba.warehouse.models import ReceivedPackage, StoredRecord
from hocba.warehouse.services import enqueue_forgotten, receive
from hocba.warehouse.tasks import process_package
from tests.factories.database import caller, entry, issued, sealed

pytestmark = pytest.mark.django_db

TH = "25000101"


@pytest.fixture(autouse=True)
def _database_queue(database_queue):  # type: ignore[no-untyped-def]
    pass


def a_package_without_its_task(minutes_ago: int) -> ReceivedPackage:
    """A package stored while its task was lost: in a test the transaction never commits, so
    the task `receive` enqueues on commit never reaches the queue."""
    version = issued(TH)[0]
    StoredRecord.objects.filter(record_id=version.record.record_id).delete()
    row, _new = receive(caller(f"truong-{TH}"), sealed(TH, [entry(version)]), inline=False)
    assert not DBTaskResult.objects.exists()
    ReceivedPackage.objects.filter(pk=row.pk).update(
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    return row


def test_a_package_left_without_a_task_is_processed_by_the_worker_on_its_own(demo):
    row = a_package_without_its_task(minutes_ago=5)
    DatabaseWorker(batch=True, heartbeat=False, interval=0).run()
    row.refresh_from_db()
    assert row.status == ReceivedPackage.Status.DONE
    assert [(a.status, a.code) for a in row.acks.all()] == [("ACCEPTED", "ACCEPTED")]


def test_a_package_with_its_task_waiting_or_just_received_gets_no_second_task(demo):
    row = a_package_without_its_task(minutes_ago=5)
    process_package.enqueue(row.pk)
    assert enqueue_forgotten(timezone.now()) == 0
    assert DBTaskResult.objects.count() == 1
    DBTaskResult.objects.all().delete()
    ReceivedPackage.objects.filter(pk=row.pk).update(received_at=timezone.now())
    assert enqueue_forgotten(timezone.now()) == 0  # its task is on its way from the commit
    assert enqueue_forgotten(timezone.now() + dt.timedelta(minutes=2)) == 1
    assert list(DBTaskResult.objects.values_list("args_kwargs", flat=True)) == [
        {"args": [row.pk], "kwargs": {}}
    ]


def test_an_outbox_waiting_with_no_round_gets_one_and_only_one(demo, settings):
    settings.UPSTREAM_URL = "embedded"
    item = OutboxItem.objects.first()
    OutboxItem.objects.filter(pk=item.pk).update(
        state=OutboxItem.State.PENDING, package=None, next_attempt_at=None
    )
    now = timezone.now()
    assert enqueue_forgotten_round(now) == 1
    assert enqueue_forgotten_round(now) == 0  # the round is in the queue
    assert [r.task_path for r in DBTaskResult.objects.all()] == [send_outbox.module_path]
    OutboxItem.objects.filter(pk=item.pk).update(state=OutboxItem.State.ACCEPTED)
    DBTaskResult.objects.all().delete()
    assert enqueue_forgotten_round(now) == 0  # nothing waits
