"""Attack class: the way to the upstream warehouse is readable and answerable on the network.

A school (or a Sở forwarding) sends its records to `HOCBA_UPSTREAM_URL` with its client secret,
and takes the warehouse's per-record answers as final. Over plain http, anyone on the way reads
the secret and can answer in the warehouse's place (REJECTED for every record). The address
must be https, except to this machine itself (127.0.0.0/8, ::1, `localhost`), or with the
explicit `HOCBA_UPSTREAM_ALLOW_HTTP=1` of a closed private network: otherwise the server does not
start (system check hocba.E103) and the sender sends nothing. Addresses that only look like this
machine (a name starting with `localhost.` or `127.0.0.1.`, credentials before an `@`) are
another machine.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from hocba.exchange import client as upstream
from tests.exchange.helpers import outbox
from tests.factories.database import school_account, school_with_outbox, seal_keeper
from tests.factories.records import SCHOOL, signed_records

pytestmark = pytest.mark.django_db

API = "/api/v1/warehouse"
REFUSED = [
    f"http://kho.sogd.phutho.gov.vn{API}",
    f"HTTP://KHO.SOGD.PHUTHO.GOV.VN{API}",
    f"http://10.0.0.5:8000{API}",
    f"http://192.168.1.10{API}",
    f"http://0.0.0.0:8000{API}",
    f"http://localhost.kho.example{API}",
    f"http://127.0.0.1.nip.io{API}",
    f"http://user@127.0.0.1@kho.example{API}",
    f"http://2130706433{API}",
    f"http://[::ffff:10.0.0.1]{API}",
    f"http://[fe80::1]{API}",
    f"ftp://kho.example{API}",
    f"kho.example{API}",
    "https://",
    f"http://[::1{API}",
]
ALLOWED = [
    f"https://kho.sogd.phutho.gov.vn{API}",
    f"HTTPS://KHO.SOGD.PHUTHO.GOV.VN:8443{API}",
    f"http://127.0.0.1:8000{API}",
    f"http://127.8.9.10{API}",
    f"http://[::1]:8000{API}",
    f"http://[::ffff:127.0.0.1]{API}",
    f"http://localhost:8000{API}",
    f"http://LOCALHOST{API}",
    "embedded",
    "",
]


def upstream_errors() -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks() if m.id == "hocba.E103"]


@pytest.mark.parametrize("url", REFUSED)
def test_an_upstream_on_the_network_in_clear_stops_the_server_at_start(settings, url):
    settings.UPSTREAM_URL = url
    (error,) = upstream_errors()
    assert error.level == checks.ERROR
    assert "HOCBA_UPSTREAM_URL" in error.msg
    with pytest.raises(upstream.InsecureUpstream):
        upstream.upstream_client()


@pytest.mark.parametrize("url", ALLOWED)
def test_https_and_this_machine_are_allowed_as_upstream(settings, url):
    settings.UPSTREAM_URL = url
    assert upstream_errors() == []
    client = upstream.upstream_client()
    assert (client is None) == (url == "")
    if client is not None:
        client.close()


@pytest.mark.parametrize("url", [u for u in REFUSED if u.lower().startswith("http://")][:5])
def test_a_closed_private_network_may_allow_plain_http_explicitly(settings, url):
    settings.UPSTREAM_URL = url
    settings.UPSTREAM_ALLOW_HTTP = True
    assert upstream_errors() == []
    client = upstream.upstream_client()
    assert isinstance(client, upstream.HttpClient)
    client.close()


def test_allowing_plain_http_allows_nothing_but_http(settings):
    settings.UPSTREAM_ALLOW_HTTP = True
    for url in (f"ftp://kho.example{API}", f"kho.example{API}", "https://"):
        settings.UPSTREAM_URL = url
        assert len(upstream_errors()) == 1, url


# --- the sender sends nothing, not even its secret -------------------------------------------


def own_address() -> str | None:
    """An address of this machine on its network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


class Listener(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(  # type: ignore[attr-defined]
            (self.command, self.path, self.rfile.read(length) if length else b"")
        )
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _record


@pytest.fixture
def eavesdropper() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A real HTTP server on this machine's network address: what a sender sends there
    crosses the network."""
    address = own_address()
    if address is None:
        pytest.skip("this machine has no network address besides loopback")
    server = ThreadingHTTPServer((address, 0), Listener)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{address}:{server.server_address[1]}{API}", server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


def test_the_sender_sends_nothing_to_an_upstream_in_clear(settings, eavesdropper):
    url, seen = eavesdropper
    settings.UPSTREAM_URL = url
    school_with_outbox(signed_records(2))
    school_account()  # the school's client secret, ready to be sent
    with pytest.raises(CommandError) as refused:
        call_command("exchange", "send")
    assert refused.value.returncode == 2
    assert "UPSTREAM_INSECURE" in str(refused.value)
    assert seen == []


def test_send_now_on_the_outbox_page_sends_nothing_to_an_upstream_in_clear(settings, eavesdropper):
    url, seen = eavesdropper
    settings.UPSTREAM_URL = url
    school = school_with_outbox(signed_records(2))
    school_account()
    browser = Client()
    browser.force_login(seal_keeper(school))
    page = browser.post(f"/exchange/schools/{SCHOOL}/send/", follow=True)
    assert page.status_code == 200
    assert "HOCBA_UPSTREAM_URL" in page.content.decode()
    assert "không mã hóa" in page.content.decode()  # Vietnamese: why nothing was sent
    assert seen == []
    assert set(outbox().values_list("state", flat=True)) == {"PENDING"}


# --- from the environment, as deployed ---------------------------------------------------------


def hocba_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HOCBA_UPSTREAM")}
    environment.pop("DATABASE_URL", None)
    environment.update(HOCBA_DATA_DIR=str(tmp_path), **env)
    hocba = str(Path(sys.executable).parent / "hocba")
    return subprocess.run(
        [hocba, "check"], env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_server_refuses_to_start_with_an_upstream_in_clear_unless_allowed(tmp_path):
    url = f"http://10.20.30.40:8000{API}"
    refused = hocba_check(tmp_path, HOCBA_UPSTREAM_URL=url)
    assert refused.returncode != 0
    assert "hocba.E103" in refused.stderr
    allowed = hocba_check(tmp_path, HOCBA_UPSTREAM_URL=url, HOCBA_UPSTREAM_ALLOW_HTTP="1")
    assert allowed.returncode == 0, allowed.stderr
    assert "hocba.E103" not in allowed.stderr + allowed.stdout
