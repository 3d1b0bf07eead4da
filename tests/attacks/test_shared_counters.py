"""Counters in the shared cache are neither lost nor kept for ever.

Attacks:
- Redis: a counter increment racing its expiry (Django asked whether the key exists, then
  incremented it; a key that expired in between came back without an expiry, and a failure
  counter made that way locked a school's sender for good). The race is made to happen for real
  by pausing Redis's writes between the two steps (CLIENT PAUSE … WRITE lets reads through).
- Database: a flood of new keys (lookups from many addresses, made-up client ids) pushing the
  table past its MAX_ENTRIES, so that Django's cull deleted a third of all rows, live locks
  included, and a locked client id could try again at once.
- Made-up client ids filling the table at all: a failure is counted against a client id only
  when the account exists.
"""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from django.db import connection
from django.test import Client

from hocba.config import settings as hocba_settings
from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account
from tests.attacks.test_rate_limits import redis_url  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

SECRET = "a-long-enough-secret-for-tests"


def token(client_id: str, secret: str, address: str) -> tuple[int, str]:
    response = Client().post(
        "/api/v1/warehouse/oauth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        REMOTE_ADDR=address,
    )
    body = response.json()
    return response.status_code, body["error"]["code"] if "error" in body else ""


@pytest.fixture
def warehouse(settings):  # type: ignore[no-untyped-def]
    settings.WAREHOUSE_ENABLED = True
    create_account("so-25", SECRET, "Sở 25", Account.Kind.PROVINCE, province_code="25",
                   province_office_code="25", tax_code="2600999999")  # fmt: skip
    return settings


@pytest.fixture
def redis_server(warehouse, redis_url, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    """The deployment's cache with HOCBA_REDIS_URL set; a client of the same server."""
    monkeypatch.setenv("HOCBA_REDIS_URL", redis_url)
    monkeypatch.setenv("HOCBA_REDIS_PREFIX", f"t{uuid.uuid4().hex[:8]}")
    warehouse.CACHES = hocba_settings._caches()
    return redis.Redis.from_url(redis_url)


def test_a_counter_incremented_as_it_expires_keeps_an_expiry(warehouse, redis_server):
    """The lock that follows ends after its period, whatever the race left behind."""
    warehouse.SIGNIN_LOCK_MINUTES = 1 / 60  # a period of one second
    assert token("so-25", "guess-0", "198.51.100.7") == (401, "invalid_client")
    # the next increment finds the counter, then waits while it expires
    redis_server.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
    assert token("so-25", "guess-1", "198.51.100.7") == (401, "invalid_client")
    for n in range(2, 11):
        token("so-25", f"guess-{n}", f"192.0.2.{n}")
    assert token("so-25", SECRET, "203.0.113.9") == (429, "TOO_MANY_ATTEMPTS")
    time.sleep(2.5)
    assert token("so-25", SECRET, "203.0.113.9") == (200, "")
    assert token("so-25", SECRET, "198.51.100.7") == (200, "")


@pytest.fixture
def small_table(warehouse):  # type: ignore[no-untyped-def]
    caches = hocba_settings._caches()
    caches["default"]["OPTIONS"] = {"MAX_ENTRIES": 40}
    warehouse.CACHES = caches
    return warehouse


def lookups_from_many_addresses(count: int) -> None:
    for n in range(count):
        address = f"2001:db8:{n:x}::1"  # a new /64 each time: a new counter each time
        response = Client().get(
            f"/api/v1/verify/{uuid.uuid4()}/1?h=000000000000", REMOTE_ADDR=address
        )
        assert response.status_code == 404


def test_a_flood_of_new_counters_does_not_throw_away_a_lock(small_table):
    for n in range(10):
        token("so-25", f"guess-{n}", f"192.0.2.{n + 1}")
    assert token("so-25", SECRET, "203.0.113.9") == (429, "TOO_MANY_ATTEMPTS")
    lookups_from_many_addresses(150)
    for n in range(60):
        token(f"made-up-{n}", "guess", f"2001:db8:ffff:{n:x}::1")
    assert token("so-25", SECRET, "203.0.113.9") == (429, "TOO_MANY_ATTEMPTS")


def rows_of_the_shared_cache() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM hocba_cache")
        return int(cursor.fetchone()[0])


def test_made_up_client_ids_are_counted_against_the_address_only(warehouse):
    before = rows_of_the_shared_cache()
    for _ in range(20):
        assert token(f"made-up-{uuid.uuid4()}", "guess", "198.51.100.7")[0] == 401
    assert rows_of_the_shared_cache() == before + 1  # the address's counter, nothing per id
    for n in range(10):
        token(f"made-up-{n}", "guess", "198.51.100.7")
    assert token("so-25", SECRET, "198.51.100.7") == (429, "TOO_MANY_ATTEMPTS")
    assert token("so-25", SECRET, "203.0.113.9") == (200, "")  # so-25 itself is not locked
