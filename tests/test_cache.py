"""The shared cache's counters: fixed windows, every count counted under concurrency, a count
taken back, expiry kept in Redis whatever happens between two steps, and a cull that throws
away expired rows and cached values but never a live counter."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis
from django.core.cache import caches
from django.db import connection

from hocba import cache
from hocba.config import settings as hocba_settings
from tests.attacks.test_rate_limits import redis_url  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db


def test_a_counter_is_a_fixed_window_that_starts_again_after_its_period():
    key = f"t-{uuid.uuid4()}"
    assert [cache.count(key, 1) for _ in range(3)] == [1, 2, 3]
    assert cache.counted(key, 1) == 3
    time.sleep(1.2)  # later counts did not extend the period
    assert cache.counted(key, 1) == 0
    assert cache.count(key, 1) == 1


def test_a_count_taken_back_leaves_nothing_at_zero():
    key = f"t-{uuid.uuid4()}"
    cache.count(key, 60)
    cache.count(key, 60)
    cache.uncount(key)
    assert cache.counted(key, 60) == 1
    cache.uncount(key)
    cache.uncount(key)  # nothing left to take back: no negative count
    assert cache.counted(key, 60) == 0
    assert cache.count(key, 60) == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_counts_are_each_counted():
    if connection.vendor == "sqlite":
        pytest.skip(
            "the in-memory SQLite test database locks whole tables at once; on a SQLite file "
            "the same runs through `hocba serve` (tests/attacks/test_rate_limits.py)"
        )
    key = f"t-{uuid.uuid4()}"
    errors: list[BaseException] = []
    seen: list[int] = []

    def count_many() -> None:
        try:
            for _ in range(15):
                seen.append(cache.count(key, 300))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=count_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(seen) == list(range(1, 91))  # the first count of all started the period once


@pytest.fixture
def small_table(settings):  # type: ignore[no-untyped-def]
    configured = hocba_settings._caches()
    configured["default"]["OPTIONS"] = {"MAX_ENTRIES": 20}
    settings.CACHES = configured


def rows(prefix: str = "") -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM hocba_cache WHERE cache_key LIKE %s", [f"%{prefix}%"])
        return int(cursor.fetchone()[0])


def test_the_cull_throws_away_expired_rows_and_cached_values_never_a_live_counter(small_table):
    live = [f"live-{n}" for n in range(30)]
    for key in live:
        cache.count(key, 300)
    for n in range(10):
        cache.count(f"brief-{n}", 1)
    time.sleep(2.2)  # expiries are kept to the second
    shared = caches["default"]
    for n in range(40):
        shared.set(f"report-{n}", {"verdict": "VALID"}, 300)
    assert rows("brief-") == 0  # expired: gone at the first cull
    assert rows("report-") < 40  # cached values: culled to make room
    assert all(cache.counted(key, 300) == 1 for key in live)  # more than MAX_ENTRIES, all kept


@pytest.fixture
def redis_counters(settings, redis_url, monkeypatch):  # type: ignore[no-untyped-def]  # noqa: F811
    monkeypatch.setenv("HOCBA_REDIS_URL", redis_url)
    monkeypatch.setenv("HOCBA_REDIS_PREFIX", f"t{uuid.uuid4().hex[:8]}")
    settings.CACHES = hocba_settings._caches()
    return redis.Redis.from_url(redis_url)


def ttl_of(server: redis.Redis, key: str) -> int:
    (found,) = server.keys(f"*:{cache.COUNTERS}{key}")
    return int(server.ttl(found))


def test_redis_counts_keep_their_period(redis_counters):
    assert [cache.count("a", 30) for _ in range(3)] == [1, 2, 3]
    assert 0 < ttl_of(redis_counters, "a") <= 30
    cache.uncount("a")
    assert cache.counted("a", 30) == 2


def test_a_redis_count_racing_its_expiry_starts_a_new_period(redis_counters):
    cache.count("b", 1)
    redis_counters.execute_command("CLIENT", "PAUSE", 1500, "WRITE")
    assert cache.count("b", 1) == 1  # ran after the pause, on a counter that had expired
    assert ttl_of(redis_counters, "b") == 1


def test_a_redis_counter_found_without_an_expiry_is_given_one(redis_counters):
    cache.count("c", 30)
    (key,) = redis_counters.keys(f"*:{cache.COUNTERS}c")
    redis_counters.persist(key)  # what an increment racing the expiry used to leave
    assert cache.counted("c", 30) == 1
    assert 0 < redis_counters.ttl(key) <= 30
