"""Bounded caches for what verification learns about certificates (parsed certificates, their
facts and chains, revocation answers). A long-running process sees certificates from anyone who
uploads a file, so each cache holds at most a fixed number of entries (`hocba.limits`), drops
the least recently used first, and may be shared by the threads of a worker. Pure (no Django).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import LRUCache, TLRUCache

K = TypeVar("K")
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """At most `size` entries, least recently used dropped first. With `until` (the time, in
    seconds since the epoch, after which an entry must not be used), expired entries are never
    returned and are dropped before live ones."""

    def __init__(
        self,
        size: int,
        until: Callable[[V], float] | None = None,
        size_of: Callable[[V], int] | None = None,
    ) -> None:
        """`size_of`: what one entry counts against `size` (1 without); an entry larger than
        `size` is not kept."""
        self._lru: LRUCache[K, V] | TLRUCache[K, V] = (
            LRUCache(size, getsizeof=size_of)
            if until is None
            else TLRUCache(
                size,
                ttu=lambda _key, value, _now: until(value),
                timer=time.time,
                getsizeof=size_of,
            )
        )
        # cachetools' caches are not safe to share between threads without one
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """The most entries held (or their total `size_of`)."""
        return int(self._lru.maxsize)

    @property
    def used(self) -> int:
        """How much of `size` the entries take."""
        with self._lock:
            return int(self._lru.currsize)

    def get(self, key: K) -> V | None:
        with self._lock:
            try:
                return self._lru[key]
            except KeyError:
                return None

    def put(self, key: K, value: V) -> None:
        with self._lock, contextlib.suppress(ValueError):  # ValueError: larger than the cache
            self._lru[key] = value

    def items(self) -> list[tuple[K, V]]:
        """The entries held (a copy)."""
        with self._lock:
            return list(self._lru.items())

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._lru)
