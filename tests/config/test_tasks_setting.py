"""HOCBA_TASKS chooses where background tasks wait: the database by default, Redis (with
HOCBA_REDIS_URL, on every queue), or nowhere (run at once); anything else stops `hocba` with one
line naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from hocba.config import settings as hocba_settings


def test_the_database_is_the_queue_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("HOCBA_TASKS", raising=False)
    tasks, rq_queues = hocba_settings._tasks()
    assert tasks["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert tasks["default"]["QUEUES"] == list(hocba_settings.TASK_QUEUES) and rq_queues == {}


def test_redis_takes_every_queue_at_the_configured_address(monkeypatch):
    monkeypatch.setenv("HOCBA_TASKS", "redis")
    monkeypatch.setenv("HOCBA_REDIS_URL", "redis://10.0.0.5:6379/2")
    tasks, rq_queues = hocba_settings._tasks()
    assert tasks["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    assert set(rq_queues) == set(hocba_settings.TASK_QUEUES)
    assert {q["URL"] for q in rq_queues.values()} == {"redis://10.0.0.5:6379/2"}


@pytest.mark.parametrize(
    ("kind", "url", "named"),
    [("redis", "", "HOCBA_REDIS_URL"), ("celery", "", "HOCBA_TASKS")],
)
def test_a_queue_that_cannot_be_used_stops_the_start(monkeypatch, kind, url, named):
    monkeypatch.setenv("HOCBA_TASKS", kind)
    monkeypatch.setenv("HOCBA_REDIS_URL", url)
    with pytest.raises(ImproperlyConfigured, match=named):
        hocba_settings._tasks()
