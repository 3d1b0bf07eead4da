"""Property-based requests against the warehouse's OpenAPI description (schemathesis): whatever
a client sends, the warehouse answers without a server error."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hocba.warehouse.auth import create_account, issue_token
from hocba.warehouse.models import Account

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application()).include(
    path_regex="^/api/v1/warehouse/"
)


@pytest.fixture
def bearer(settings, demo) -> str:  # type: ignore[no-untyped-def]
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
