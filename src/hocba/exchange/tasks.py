"""The exchange's background tasks (queue `exchange`, run by `hocba worker`)."""

from __future__ import annotations

from django_tasks import task

from hocba.exchange import services


@task(queue_name="exchange")
def send_outbox() -> int:
    """One round of sending to the upstream warehouse (enqueued after commit by whatever
    fills the outbox, and by a round for the next one while anything is on its way); the
    packages answered in it. Safe to run again, and beside another round."""
    result = services.send_round()
    return result.answered if result is not None else 0
