"""Shared fixtures: the demo province built once per test database, users by role, and access to
real external components (failing instead of skipping when CI=true)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from hocba.demo.builder import Demo, build_demo

DEMO_STUDENTS_PER_SCHOOL = 12
IN_CI = os.environ.get("CI") == "true"


def pytest_configure(config: pytest.Config) -> None:
    """Files, the development PKI and its tokens go to a fresh directory for each test run."""
    from django.conf import settings

    data = Path(tempfile.mkdtemp(prefix="hocba-test-"))
    settings.DATA_DIR = data
    settings.MEDIA_ROOT = data / "files"
    # the development PKI (built by the demo fixture) seals and is trusted, here and in every
    # `hocba` process a test starts
    settings.DEV_PKI = True
    os.environ["HOCBA_DEV_PKI"] = "1"
    # tasks run in the test's own process and transaction, when they are enqueued (services
    # enqueue after commit: `django_capture_on_commit_callbacks(execute=True)` runs them; a
    # submitted package is processed when the test's transaction commits); the worker's own
    # tests choose the database backend (tests/jobs)
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.immediate.ImmediateBackend",
            "QUEUES": list(settings.TASK_QUEUES),
        }
    }
    # passwords and warehouse secrets hashed quickly in tests (deployments keep Django's default)
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


def require_tool(name: str) -> str:
    """Path of an external program the test needs; skip without it (fail under CI)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _fresh_local_cache() -> None:
    """Each test starts without the pages a process keeps in memory (the shared cache lives in
    the test database and goes with each test's transaction)."""
    from django.core.cache import caches

    caches["local"].clear()


@pytest.fixture(scope="session")
def demo(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[Demo]:
    """The demo province, built once in the test database; each test runs in a transaction
    that is rolled back, so the demo stays as built."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        built = build_demo(students_per_school=DEMO_STUDENTS_PER_SCHOOL, seed=7)
    yield built


@pytest.fixture
def login(client: Client):  # type: ignore[no-untyped-def]
    """Log the test client in as a demo account."""

    def _login(username: str) -> Client:
        user = get_user_model().objects.get(username=username)
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def database_queue(settings):  # type: ignore[no-untyped-def]
    """Tasks go through the database queue (`django-tasks-db`), as `hocba worker` takes them,
    starting from an empty queue (on PostgreSQL, tasks that other tests' processes committed
    share the test database and are not this test's)."""
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": list(settings.TASK_QUEUES),
        }
    }
    DBTaskResult.objects.all().delete()
