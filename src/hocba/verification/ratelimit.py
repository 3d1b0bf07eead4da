"""Counters per client address (and per named key) kept in the shared cache, so that every
process of a deployment counts together: the gunicorn workers of `hocba serve --workers N`, and
several machines behind a load balancer (settings `CACHES["default"]`: the database, or Redis
with HOCBA_REDIS_URL; `hocba.config.cache` makes the database's increments atomic).

- `allow` / `allow_address`: a fixed window of one minute per address and kind (public
  verification lookups and uploads);
- `failures` / `count_failure`: failed attempts per key within a period (the warehouse's token
  endpoint: per client id and per address), for refusing before a secret is checked.

An address is the client's IPv4 address, or the /64 network of an IPv6 address (one subscriber
usually holds a whole /64: counting single IPv6 addresses would let one client use millions).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time

from django.core.cache import caches
from django.http import HttpRequest

WINDOW_SECONDS = 60


def address_of(remote: str) -> str:
    """The address a client is counted under (see the module's docstring)."""
    try:
        ip = ipaddress.ip_address(remote.strip())
    except ValueError:
        return remote
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address)
    return str(ip)


def client(request: HttpRequest) -> str:
    """The client's address (also axes' AXES_CLIENT_IP_CALLABLE: sign-in counts the same way)."""
    return address_of(str(request.META.get("REMOTE_ADDR", "")))


def allow(request: HttpRequest, kind: str, per_minute: int) -> bool:
    return allow_address(client(request), kind, per_minute)


def allow_address(address: str, kind: str, per_minute: int) -> bool:
    window = int(time.time() // WINDOW_SECONDS)
    key = f"rate:{kind}:{_key(address_of(address))}:{window}"
    return _count(key, WINDOW_SECONDS + 30) <= per_minute


def failures(kind: str, key: str) -> int:
    """Failures counted under `key` in its current period (0 when none)."""
    found = caches["default"].get(f"fail:{kind}:{_key(key)}")
    return int(found) if isinstance(found, int) else 0


def count_failure(kind: str, key: str, period_seconds: int) -> int:
    """Count one failure; the period starts with the first failure and the count with it."""
    return _count(f"fail:{kind}:{_key(key)}", period_seconds)


def _key(text: str) -> str:
    """Keys from outside (a client id, an address) hashed: any length, any character."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _count(key: str, seconds: int) -> int:
    """Count one under `key`; the first count starts its period. The increment comes first:
    once a period has started (the common case) it is the only call."""
    cache = caches["default"]
    for _ in range(2):
        try:
            return int(cache.incr(key))
        except ValueError:
            pass
        if cache.add(key, 1, seconds):
            return 1
        # another process started the period between the two calls: count in it
    return 1
