import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from hocba.audit.models import AppendOnlyError, AuditEvent
from hocba.audit.services import record_event, verify_chain

pytestmark = pytest.mark.django_db


def make_events(n=3):
    with transaction.atomic():
        return [record_event(None, "test.event", object_type="x", object_id=i, new={"i": i})
                for i in range(n)]  # fmt: skip


def test_events_chain_to_each_other():
    events = make_events()
    assert events[1].prev_hash == events[0].hash
    assert verify_chain().intact


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    event = make_events(1)[0]
    event.summary = "changed"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(summary="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        record_event(None, "test.event", object_type="x", object_id=1)


def test_a_row_changed_in_the_database_breaks_the_chain_and_is_named(capsys):
    events = make_events(4)
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET summary = %s WHERE id = %s", ["sửa lén", events[2].pk]
        )
    with pytest.raises(CommandError) as error:
        call_command("audit", "verify")
    assert error.value.returncode == 1
    assert f"#{events[2].pk}" in str(error.value)


def test_a_deleted_last_row_is_detected():
    events = make_events(3)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    report = verify_chain()
    assert not report.intact and "missing" in report.problem
