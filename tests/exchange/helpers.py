"""A school sending real records to a real warehouse over HTTP on loopback: the school's rows
only (the demo province may share the database), sender rounds, and a `Proxy` (a real HTTP
server on loopback) that can stand between the school and the warehouse and misbehave the way
networks and proxies do: pages instead of answers, broken connections, a smaller body limit,
answers cut short. The school, its signed records, outbox and account are built by
`tests.factories`.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from django.db.models import QuerySet
from django.utils import timezone

from hocba.exchange.client import HttpClient
from hocba.exchange.models import OutboxItem, OutgoingPackage
from hocba.exchange.services import run_once
from hocba.warehouse.models import Ack, ReceivedPackage, StoredRecord
from tests.factories.records import CLIENT_ID, SCHOOL

# --- the school's rows only (the demo province may share the database) --------------------


def outbox() -> QuerySet[OutboxItem]:
    return OutboxItem.objects.filter(sender_code=SCHOOL)


def outgoing() -> QuerySet[OutgoingPackage]:
    return OutgoingPackage.objects.filter(sender_code=SCHOOL)


def stored() -> QuerySet[StoredRecord]:
    return StoredRecord.objects.filter(school_code=SCHOOL)


def received() -> QuerySet[ReceivedPackage]:
    return ReceivedPackage.objects.filter(account__client_id=CLIENT_ID)


def acks() -> QuerySet[Ack]:
    return Ack.objects.filter(package__account__client_id=CLIENT_ID)


def states() -> dict[str, int]:
    """How many of the school's outbox rows are in each state."""
    counts: dict[str, int] = {}
    for state in outbox().values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def drive(
    client: HttpClient,
    rounds: int = 40,
    until: Callable[[], bool] | None = None,
    after_round: Callable[[], None] | None = None,
) -> int:
    """Sender rounds, two hours apart (every wait has passed), until every row is answered
    (or `until`); the number of rounds run."""

    def answered() -> bool:
        return not outbox().exclude(state__in=("ACCEPTED", "REJECTED")).exists()

    now = timezone.now()
    for done in range(1, rounds + 1):
        run_once(client, now=now)
        if after_round is not None:
            after_round()
        if (until or answered)():
            return done
        now += dt.timedelta(hours=2)
    return rounds


# --- a proxy on loopback -----------------------------------------------------------------


@dataclass
class Fault:
    """What the proxy does instead of (or to) the warehouse's answer."""

    status: int = 0
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    reset: bool = False
    """Close the connection without answering."""
    rewrite: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Forward, then change the warehouse's JSON answer."""
    headers: dict[str, str] = field(default_factory=dict)
    forward: bool = False
    """Forward, then answer `status` instead of the warehouse's answer (the request got
    through; its answer did not)."""


def page(status: int, title: str) -> Fault:
    """An HTML error page, as Django, nginx or a captive portal write them."""
    html = f"<!doctype html><html><body><h1>{title}</h1></body></html>".encode()
    return Fault(status=status, body=html)


DJANGO_400 = page(400, "Bad Request (400)")
NGINX_413 = page(413, "413 Request Entity Too Large")


@dataclass
class Seen:
    method: str
    path: str
    size: int
    status: int


class Proxy:
    """A real HTTP server on loopback forwarding to `upstream`, except where a fault is
    planned. `max_body` answers larger bodies 413 after reading them, as nginx does."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.max_body: int | None = None
        self.seen: list[Seen] = []
        self._plans: list[tuple[str, str, Fault, list[int]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def plan(
        self, fault: Fault, method: str = "POST", path: str = "/packages", times: int = 1
    ) -> Proxy:
        """The next `times` requests `method` whose path contains `path` get `fault`."""
        with self._lock:
            self._plans.append((method, path, fault, [times]))
        return self

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for wanted, part, fault, left in self._plans:
                if wanted == method and part in path and left[0] > 0:
                    left[0] -= 1
                    return fault
        return None

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        proxy: Proxy = self.server.proxy  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.take(self.command, self.path)
        if fault is None and proxy.max_body is not None and len(body) > proxy.max_body:
            fault = NGINX_413
        if fault is not None and fault.reset:
            proxy.seen.append(Seen(self.command, self.path, len(body), 0))
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if fault is not None and fault.status and not fault.forward:
            proxy.seen.append(Seen(self.command, self.path, len(body), fault.status))
            self._send(fault.status, fault.content_type, fault.body, fault.headers)
            return
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")
        }
        answer = httpx.request(
            self.command, proxy.upstream + self.path, headers=headers, content=body, timeout=60
        )
        status, kind, data = (
            answer.status_code,
            answer.headers.get("Content-Type", ""),
            answer.content,
        )
        if fault is not None and fault.rewrite is not None:
            data = json.dumps(fault.rewrite(answer.json())).encode()
        if fault is not None and fault.forward:
            status, kind, data = fault.status, fault.content_type, fault.body
        proxy.seen.append(Seen(self.command, self.path, len(body), status))
        self._send(status, kind, data)


def proxied(upstream: str) -> Iterator[Proxy]:
    proxy = Proxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
