"""Issuing a version puts it in the school's outbox in the same transaction: the records app
announces the issuing (`record_issued`) and the exchange writes the row, so a version is never
issued without being sent, nor sent without being issued."""

import pytest
from django.db import DatabaseError

from hocba.exchange.models import OutboxItem
from hocba.records.models import Record, State
from hocba.records.services import correct_record, mark_issued
from tests.factories.database import user
from tests.warehouse.faults import refusing

pytestmark = pytest.mark.django_db


def _corrected(demo):
    record = Record.objects.filter(school__code="25000201").first()
    assert record.latest().state == State.ISSUED  # the demo signs and issues every record
    return record, correct_record(user("ht.chuvanan"), record, "Sửa điểm Toán nhập nhầm")


def test_an_issued_correction_waits_in_the_schools_outbox(demo):
    record, v2 = _corrected(demo)
    waiting = OutboxItem.objects.filter(record_id=record.record_id, version=2)
    assert not waiting.exists()  # a draft is not sent
    mark_issued(v2, user("ht.chuvanan"))
    item = waiting.get()
    assert (item.state, item.event, item.xml_sha256, item.sender_code) == (
        OutboxItem.State.PENDING,
        "UPDATE",
        v2.xml_sha256,
        record.school.code,
    )


def test_a_version_whose_outbox_row_cannot_be_written_is_not_issued(demo):
    record, v2 = _corrected(demo)
    with refusing("exchange_outboxitem", "version", 2), pytest.raises(DatabaseError):
        mark_issued(v2, user("ht.chuvanan"))
    assert record.versions.get(version=2).state == State.DRAFT
    assert record.versions.get(version=1).state == State.ISSUED
    assert not OutboxItem.objects.filter(record_id=record.record_id, version=2).exists()
