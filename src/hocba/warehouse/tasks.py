"""The warehouse's background tasks (queue `warehouse`, run by `hocba worker`)."""

from __future__ import annotations

from django_tasks import task

from hocba.warehouse import services


@task(queue_name="warehouse")
def process_package(package_pk: int) -> None:
    """Process a received package (`services.receive` enqueues this when the package is
    stored). Safe to run again, and at the same time as another worker: a package is processed
    once; if it still waits for an attempt afterwards, this task is enqueued again for then."""
    again = services.run_package(package_pk)
    if again is not None:
        services.schedule(package_pk, again)
