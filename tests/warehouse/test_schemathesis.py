"""Property-based requests against the warehouse's OpenAPI description (schemathesis): whatever
a client sends, the warehouse answers without a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hocba.warehouse.auth import create_account, issue_token
from hocba.warehouse.models import Account

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/v1/warehouse/"
)


@pytest.fixture
def keep_connection():  # type: ignore[no-untyped-def]
    """The real WSGI handler closes the database connection after each request, which would
    end the test's transaction (Django's own test client does the same as this)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(settings, demo, keep_connection) -> str:  # type: ignore[no-untyped-def]
    settings.WAREHOUSE_ENABLED = True
    create_account("fuzz", "fuzz-secret-0123456789", "Bộ GDĐT", Account.Kind.MINISTRY)
    value, _ = issue_token("fuzz", "fuzz-secret-0123456789", None, "127.0.0.1")
    return value


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_warehouse_api_never_fails_with_a_server_error(case, bearer):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {bearer}"}, checks=[not_a_server_error]
    )
