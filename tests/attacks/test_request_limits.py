"""Attack class: request bodies beyond (or around) the documented limits.

Against a real `hocba serve` (gunicorn) on loopback. A client declares a body larger than its
route's documented limit: the answer is 413 at once, before the body is sent (JSON with the
route's code under /api/, a Vietnamese page elsewhere), before authentication, and nothing is
stored. A body that does not declare its length (chunked) cannot get around the limit. A body
within its route's limit, but above Django's default 2.5 MB, gets the route's own answer, never
Django's HTML 400.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hocba import limits
from tests.processes import HOCBA, clean_env, free_port, run, wait_for

# a server of its own on loopback, independent of the test database: run once
pytestmark = pytest.mark.instances

SECRET = "gioi-han-bi-mat-0123456789"
GiB = 1024 * limits.MiB


@dataclass
class Server:
    port: int
    data: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, table: str) -> int:
        db = sqlite3.connect(f"file:{self.data / 'hocba.sqlite3'}?mode=ro", uri=True, timeout=20)
        try:
            return int(db.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608
        finally:
            db.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("served")
    env = clean_env(data, HOCBA_WAREHOUSE="1", HOCBA_VERIFY_RATE="6000")
    run(env, "migrate", "-v0")
    run(
        env | {"HOCBA_ACCOUNT_SECRET": SECRET}, "warehouse", "account", "add", "truong-gioihan",
        "--kind", "school", "--name", "Trường", "--school", "25000201", "--province", "25",
        "--office", "25", "--tax-code", "2600000201",
    )  # fmt: skip
    port = free_port()
    log = (data / "serve.log").open("ab")
    process = subprocess.Popen(
        [HOCBA, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2).is_success
        except httpx.HTTPError:
            return False

    try:
        wait_for("hocba serve", up, timeout=90)
        yield Server(port, data)
    finally:
        process.kill()
        process.wait(timeout=10)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes

    @property
    def error(self) -> dict[str, str]:
        assert self.content_type.startswith("application/json"), self.content_type
        return json.loads(self.body)["error"]  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        return self.body.decode()


def declare(
    server: Server, method: str, path: str, length: int, content_type: str, first: bytes = b""
) -> Answer:
    """Send only the headers (and `first` bytes) of a body declared `length` bytes long, and
    read the answer; a server that waits for the body makes this time out."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest(method, path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(length))
        connection.endheaders(first or None)
        response = connection.getresponse()
        return Answer(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        connection.close()


def chunked(server: Server, path: str, content_type: str, chunks: int) -> Answer:
    """A body without Content-Length, in chunks of 1 MiB (only the first is sent before the
    answer is read)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Transfer-Encoding", "chunked")
        connection.endheaders()
        block = b"<" * limits.MiB
        connection.send(b"%x\r\n%s\r\n" % (len(block), block))
        response = connection.getresponse()
        return Answer(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        connection.close()


FORM = "multipart/form-data; boundary=----hocba"
OVER = {
    # route: (method, path, content type, limit, JSON code or the page's Vietnamese sentence)
    "verification API": (
        "POST", "/api/v1/verify", "application/xml", limits.VERIFY_UPLOAD_BYTES, "TOO_LARGE",
    ),
    "warehouse packages": (
        "POST", "/api/v1/warehouse/packages", "application/xml", limits.PACKAGE_BYTES,
        "PACKAGE_TOO_LARGE",
    ),
    "grade book API": (
        "PUT", "/api/v1/gradebook/subjects/1", "application/json", limits.REQUEST_BODY_BYTES,
        "REQUEST_TOO_LARGE",
    ),
    "signing call": (
        "POST", "/signing/complete/", "application/json", limits.REQUEST_BODY_BYTES,
        "REQUEST_TOO_LARGE",
    ),
    "verification portal upload": (
        "POST", "/xac-minh/", FORM, limits.VERIFY_UPLOAD_BYTES + limits.FORM_OVERHEAD_BYTES,
        "Tệp quá lớn (tối đa 8 MB)",
    ),
    "spreadsheet import": (
        "POST", "/gradebook/subjects/1/import/", FORM,
        limits.SPREADSHEET_UPLOAD_BYTES + limits.FORM_OVERHEAD_BYTES,
        "Tệp Excel quá lớn (tối đa 5 MB)",
    ),
    "sign-in form": (
        "POST", "/login/", "application/x-www-form-urlencoded", limits.REQUEST_BODY_BYTES,
        "Dữ liệu gửi lên quá lớn (tối đa 2,5 MB)",
    ),
}  # fmt: skip


@pytest.mark.parametrize("excess", [1, 10 * GiB], ids=["one byte over", "ten GiB"])
@pytest.mark.parametrize("route", OVER.values(), ids=OVER.keys())
def test_a_body_declared_above_its_route_s_limit_is_refused_before_it_is_sent(
    server, route, excess
):
    method, path, content_type, limit, expected = route
    answer = declare(server, method, path, limit + excess, content_type, first=b"<" * 1000)
    assert answer.status == 413
    if expected.isupper():
        assert answer.error["code"] == expected
        assert answer.error["message"]
    else:
        assert answer.content_type.startswith("text/html")
        assert expected in answer.text
    assert server.count("warehouse_receivedpackage") == 0


@pytest.mark.parametrize(
    ("path", "content_type", "json_answer"),
    [
        ("/api/v1/verify", "application/xml", True),
        ("/api/v1/warehouse/packages", "application/xml", True),
        ("/xac-minh/", FORM, False),
    ],
)
def test_a_body_that_does_not_declare_its_length_cannot_pass_the_limit(
    server, path, content_type, json_answer
):
    answer = chunked(server, path, content_type, chunks=20)
    assert answer.status == 411
    if json_answer:
        assert answer.error["code"] == "LENGTH_REQUIRED"
    else:
        assert "không khai báo độ dài" in answer.text


def _token(server: Server) -> str:
    response = httpx.post(
        server.url("/api/v1/warehouse/oauth/token"),
        data={
            "grant_type": "client_credentials",
            "client_id": "truong-gioihan",
            "client_secret": SECRET,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.mark.parametrize("size", [3 * limits.MiB, limits.VERIFY_UPLOAD_BYTES])
def test_an_upload_within_eight_megabytes_gets_a_verification_report(server, size):
    body = b"<?xml version='1.0'?><HOC_BA>" + b" " * (size - 40) + b"</HOC_BA>"
    response = httpx.post(
        server.url("/api/v1/verify"),
        content=body[:size],
        headers={"Content-Type": "application/xml"},
        timeout=60,
    )
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    answer = response.json()
    if response.status_code == 200:
        assert answer["verdict"] == "MALFORMED"  # a report: not a record
    else:  # or the API's error for unusable input, never a size refusal
        assert response.status_code in (400, 422)
        assert answer["error"]["code"] not in ("TOO_LARGE", "REQUEST_TOO_LARGE")


def test_a_package_within_sixty_four_megabytes_gets_the_warehouse_s_own_answer(server):
    body = b"<?xml version='1.0'?><GOI_TIN>" + b" " * (10 * limits.MiB) + b"</GOI_TIN>"
    response = httpx.post(
        server.url("/api/v1/warehouse/packages"),
        content=body,
        headers={"Content-Type": "application/xml", "Authorization": f"Bearer {_token(server)}"},
        timeout=60,
    )
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "PACKAGE_MALFORMED"
    assert server.count("warehouse_receivedpackage") == 0
