"""The shared counters: every increment counted once under concurrency, IPv6 clients counted
per /64, keys from outside hashed."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from django.db import connection

from hocba import ratelimit


@pytest.mark.django_db(transaction=True)
def test_parallel_increments_of_the_shared_cache_are_each_counted():
    if connection.vendor == "sqlite":
        pytest.skip(
            "the in-memory SQLite test database locks whole tables at once; on a SQLite file "
            "the same runs through `hocba serve` (tests/attacks/test_rate_limits.py)"
        )
    cache = caches["default"]
    cache.set("counter", 0, 300)
    errors: list[BaseException] = []

    def add_many() -> None:
        try:
            for _ in range(15):
                cache.incr("counter")
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get("counter") == 90
    cache.delete("counter")


@pytest.mark.django_db
def test_an_increment_keeps_the_expiry_and_a_missing_key_is_an_error():
    cache = caches["default"]
    with pytest.raises(ValueError):
        cache.incr("nothing-here")
    cache.add("short", 1, 60)
    assert cache.incr("short", 4) == 5
    assert cache.get("short") == 5


@pytest.mark.django_db
def test_one_ipv6_subscriber_is_counted_as_one_client():
    allowed = [ratelimit.allow_address(f"2001:db8:1:2::{n:x}", "test-v6", 3) for n in range(1, 7)]
    assert allowed == [True, True, True, False, False, False]
    assert ratelimit.allow_address("2001:db8:1:3::1", "test-v6", 3)  # another /64


@pytest.mark.django_db
def test_an_ipv4_mapped_address_counts_as_the_ipv4_address():
    assert ratelimit.address_of("::ffff:192.0.2.7") == "192.0.2.7"
    for _ in range(2):
        assert ratelimit.allow_address("192.0.2.7", "test-v4", 2)
    assert not ratelimit.allow_address("::ffff:192.0.2.7", "test-v4", 2)


@pytest.mark.django_db
def test_failures_are_counted_under_any_key_from_outside():
    key = "x" * 5000 + " \n\x00é"
    assert ratelimit.failures("test", key, 60) == 0
    assert [ratelimit.count_failure("test", key, 60) for _ in range(3)] == [1, 2, 3]
    assert ratelimit.failures("test", key, 60) == 3


def frozen_clock(monkeypatch: pytest.MonkeyPatch, start: float) -> list[float]:
    clock = [start]
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: clock[0]))
    return clock


def burst(kind: str, n: int) -> int:
    return sum(ratelimit.allow_address("192.0.2.44", kind, 8) for _ in range(n))


@pytest.mark.django_db
def test_a_burst_across_the_turn_of_a_minute_gets_no_more_than_the_limit(monkeypatch):
    clock = frozen_clock(monkeypatch, 60.0 * 29_000_000 + 59.5)  # just before a minute turns
    assert burst("turn", 8) == 8
    clock[0] += 1.0  # a new minute has begun, the eight of a second ago still count
    assert burst("turn", 8) == 0


@pytest.mark.django_db
def test_half_a_minute_after_a_full_burst_half_the_limit_is_free_again(monkeypatch):
    clock = frozen_clock(monkeypatch, 60.0 * 29_000_000 + 59.9)
    assert burst("half", 8) == 8
    clock[0] += 30.1  # thirty seconds into the next minute
    assert burst("half", 8) == 4
