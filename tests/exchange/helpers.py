"""A school sending real records to a real warehouse over HTTP on loopback.

Records are signed through all four steps (15 signatures each, about 58 KB, as a real school's)
by the test run's development PKI, which the warehouse trusts; the school's outbox holds them;
the school has its account at the warehouse. A `Proxy` (a real HTTP server on loopback) can
stand between them and misbehave the way networks and proxies do: pages instead of answers,
broken connections, a smaller body limit, answers cut short.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
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
from hocba.exchange.services import run_once, set_credential
from hocba.formats import parse
from hocba.organizations.models import ProvinceOffice, School
from hocba.records.services import store_xml
from hocba.signing import config
from hocba.signing.dev.pki import DevPki, create
from hocba.signing.dev.tokens import ensure_dev_pki
from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account, Ack, ReceivedPackage, StoredRecord

SCHOOL = "25000299"
TAX = "2600000299"
NAME = "Trường THCS Thử Nghiệm"
CLIENT_ID = f"truong-{SCHOOL}"
SECRET = "gui-hoc-ba-bi-mat-0123456789"


@functools.cache
def signed_records(n: int) -> tuple[bytes, ...]:
    """`n` records of the school, signed through all four steps (new record ids each call
    with a new `n`; the same bytes for the same `n` within a test run)."""
    from bench.records import records
    from bench.sign import fully_signed

    path = config.pki_dir()
    pki = DevPki.load(path) if (path / "pki.json").exists() else create(path)
    base = [
        dataclasses.replace(
            r, school=dataclasses.replace(r.school, code=SCHOOL, name=NAME, tax_code=TAX)
        )
        for r in records(n, seed=n)
    ]
    signed, _ = fully_signed(pki, base, tax_code=TAX)
    return tuple(signed)


def school_with_outbox(contents: tuple[bytes, ...]) -> School:
    """The school, its token (its organisation key seals the packages) and an outbox holding
    `contents`, as issuing them would have left it."""
    province, _ = ProvinceOffice.objects.get_or_create(
        code="25",
        defaults={
            "name": "Sở Giáo dục và Đào tạo Phú Thọ",
            "province_code": "25",
            "province_name": "Tỉnh Phú Thọ",
        },
    )
    school, _ = School.objects.update_or_create(
        code=SCHOOL,
        defaults={
            "name": NAME,
            "province_office": province,
            "levels": ["THCS"],
            "commune_name": "Phường Tiên Cát",
            "province_code": "25",
            "province_name": "Tỉnh Phú Thọ",
            "tax_code": TAX,
        },
    )
    ensure_dev_pki()
    for content in contents:
        envelope = parse(content).envelope
        OutboxItem.objects.create(
            record_id=envelope.record_id,
            version=envelope.version,
            event=envelope.event,
            xml_sha256=store_xml(content),
            sender_code=SCHOOL,
            school_code=SCHOOL,
            school_year=envelope.school_year,
        )
    return school


def seal_keeper(school: School, username: str = "vanthu.thunghiem") -> Any:
    """A user who seals for `school` (may see its outbox); the Django user."""
    from django.contrib.auth import get_user_model

    from hocba.organizations.models import Role, RoleAssignment, Staff

    user = get_user_model().objects.create_user(username=username, password="x")
    person = Staff.objects.create(
        user=user, personal_id="025085009999", full_name="Văn thư Thử", school=school
    )
    RoleAssignment.objects.create(staff=person, role=Role.SEAL_KEEPER, school=school)
    return user


def school_account(**changes: str) -> Account:
    """The school's account at the warehouse (as the Sở registers it), and the school's
    credential for it."""
    fields = {"school_code": SCHOOL, "province_code": "25", "province_office_code": "25",
              "tax_code": TAX, **changes}  # fmt: skip
    account = create_account(CLIENT_ID, SECRET, NAME, Account.Kind.SCHOOL, **fields)
    set_credential(SCHOOL, CLIENT_ID, SECRET)
    return account


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
