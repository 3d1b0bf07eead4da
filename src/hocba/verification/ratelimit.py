"""A small fixed-window rate limit per client address, kept in the cache (shared by the
processes of one machine with a shared cache backend; per process with the default one)."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def client(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def allow(request: HttpRequest, kind: str, per_minute: int) -> bool:
    return allow_address(client(request), kind, per_minute)


def allow_address(address: str, kind: str, per_minute: int) -> bool:
    window = int(time.time() // 60)
    key = f"rate:{kind}:{address}:{window}"
    if cache.add(key, 1, 90):
        return True
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, 90)
        return True
    return count <= per_minute
