"""Client addresses, and counters per client address (and per named key) kept in the shared
cache, so that every process of a deployment counts together: the gunicorn workers of
`hocba serve --workers N`, and several machines behind a load balancer (settings
`CACHES["default"]`: the database, or Redis with HOCBA_REDIS_URL; `hocba.cache` keeps the
counts atomic).

- `client_address` / `client`: who is asking. The connection's address; behind reverse proxies
  named in HOCBA_TRUSTED_PROXIES, the right-most X-Forwarded-For address that is not one of
  them. Everything that reads a client's address goes through here (rate limits, sign-in
  throttling through axes, the warehouse's address lists and token throttling, the audit log).
- `allow` / `allow_address`: at most `per_minute` requests in any minute, per address and kind
  (public verification lookups and uploads): a sliding window, so that a burst across the turn
  of a minute gets no more than the limit either;
- `failures` / `count_failure` / `forgive_failure`: failed attempts per key within a period
  (the warehouse's token endpoint: per client id and per address), for refusing before a secret
  is checked.

An address is counted as the client's IPv4 address, or the /64 network of an IPv6 address (one
subscriber usually holds a whole /64: counting single IPv6 addresses would let one client use
millions).
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from hocba import cache

WINDOW_SECONDS = 60


def client_address(meta: Mapping[str, Any]) -> str:
    """The client's own address, whole (a request's META or a WSGI environ): the connection's
    (REMOTE_ADDR), unless that is a trusted proxy (settings.TRUSTED_PROXIES); then the
    right-most X-Forwarded-For address that is not a trusted proxy. Each proxy appends the
    address it was connected from, so the right-most addresses are the ones trusted proxies
    wrote; anything left of the first untrusted one was written by the client and is never
    believed. A hop that is not an address stops the walk at the proxy that wrote it."""
    remote = str(meta.get("REMOTE_ADDR", "")).strip()
    trusted = settings.TRUSTED_PROXIES
    client = _ip(remote)
    if client is None or not trusted or not _among(client, trusted):
        return str(client) if client is not None else remote
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
    for hop in reversed(forwarded.split(",") if forwarded.strip() else []):
        address = _ip(hop)
        if address is None:
            break
        client = address
        if not _among(address, trusted):
            break
    return str(client)


def client(request: HttpRequest) -> str:
    """The address a request's client is counted under (also axes' AXES_CLIENT_IP_CALLABLE:
    sign-in counts the same way)."""
    return address_of(client_address(request.META))


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


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it ("192.0.2.7", "192.0.2.7:4711", "[2001:db8::7]:443",
    "2001:db8::7"); an IPv4-mapped IPv6 address as its IPv4 address; None for anything else."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _among(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> bool:
    return any(ip.version == network.version and ip in network for network in networks)


def allow(request: HttpRequest, kind: str, per_minute: int) -> bool:
    return allow_address(client(request), kind, per_minute)


def allow_address(address: str, kind: str, per_minute: int) -> bool:
    """Count one request from `address`; whether it is within `per_minute` for the last minute.

    Counted per calendar minute, the previous minute's count weighing in for the part of it
    still within the last sixty seconds (a sliding window): with a fixed window alone, a burst
    split across the turn of a minute got twice the limit. The previous minute weighs at most
    the limit (refused requests are counted too, and a client that hammered is held back for
    the rest of that minute, not for the next one as well)."""
    window, into = divmod(time.time(), WINDOW_SECONDS)
    base = f"rate:{kind}:{_key(address_of(address))}:"
    current = cache.count(f"{base}{int(window)}", 2 * WINDOW_SECONDS + 30)
    if current > per_minute:
        return False
    previous = cache.counted(f"{base}{int(window) - 1}", 2 * WINDOW_SECONDS + 30)
    carried = min(previous, per_minute) * (1 - into / WINDOW_SECONDS)
    return current + carried <= per_minute


def failures(kind: str, key: str, period_seconds: int) -> int:
    """Failures counted under `key` in its current period (0 when none)."""
    return cache.counted(f"fail:{kind}:{_key(key)}", max(1, period_seconds))


def count_failure(kind: str, key: str, period_seconds: int) -> int:
    """Count one failure; the period starts with the first failure and the count with it."""
    return cache.count(f"fail:{kind}:{_key(key)}", max(1, period_seconds))


def forgive_failure(kind: str, key: str) -> None:
    """Take back one failure counted before an attempt was checked (it succeeded, or it was
    refused unchecked)."""
    cache.uncount(f"fail:{kind}:{_key(key)}")


def _key(text: str) -> str:
    """Keys from outside (a client id, an address) hashed: any length, any character."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
