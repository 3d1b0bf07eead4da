"""The local signer agent signs only for its own pages.

The agent listens on the teacher's computer (loopback) and holds the USB token. Any web page the
teacher visits can send requests to it: with a foreign Origin, with no Origin, with a body that
a browser sends without a preflight (`text/plain`, a form), under its own host name rebound to
127.0.0.1 (DNS rebinding, a foreign Host header), with a PIN it guesses. None of them may get a
signature, register a batch, or wear the token's PIN counter down; a batch an allowed page
registered is signed only after the teacher confirmed it and typed the PIN on the agent's own
page, and a post of that page from anywhere else signs nothing.

What the teacher confirms is what is signed: a batch whose digests are more (or fewer) than the
records its description lists is refused, and the page leads with the number of signatures. A
site served over plain http from another computer (whose pages anyone on the network path can
rewrite) is refused as an origin when the agent starts. Confirmations posted at the same time
never make the token see more wrong PINs in a row than the agent's limit.

A real agent on loopback, a SoftHSM2 token of the development PKI, real HTTP, the real
`hocba signer-agent` command.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hocba import limits
from hocba.signing import config
from hocba.signing.dev.pki import DevPki, create
from hocba.signing.signers import SignerError, import_to_token
from tests.processes import HOCBA

# a server of its own on loopback, independent of the test database: run once
pytestmark = pytest.mark.instances

SITE = "http://127.0.0.1:8000"
"""The hocba site the agent serves (its signing pages' origin)."""

FOREIGN_ORIGINS = [
    "https://evil.example",
    "http://127.0.0.1:8001",  # another program on the same computer
    "https://127.0.0.1:8000",  # another scheme
    "http://localhost:8000",  # another name for the site, not configured
    "http://127.0.0.1:8000.evil.example",
    "http://127.0.0.1",
    "null",  # sandboxed frames, file:// pages, some redirects
]


@dataclass(frozen=True)
class Token:
    label: str
    key: str
    pin: str
    certificate: x509.Certificate


@pytest.fixture(scope="module")
def token() -> Token:
    """A SoftHSM2 token of the development PKI holding one teacher's key and certificate."""
    path = config.pki_dir()
    pki = DevPki.load(path) if (path / "pki.json").exists() else create(path)
    label, key_label = "AGENT-ATTACKS", "001099000123"
    cert_path = path / "agent-attacks.pem"
    if label not in pki.index.get("tokens", {}):
        pki.init_token(label)
        key, cert = pki.issue_person(key_label, "Nguyễn Thị Thử")
        library = config.pkcs11_library()
        import_to_token(library, str(pki.softhsm_conf), label, pki.pin, [(key_label, key, cert)])
        pki.save()
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Token(label, key_label, pki.pin, x509.load_pem_x509_certificate(cert_path.read_bytes()))


def new_agent(*origins: str, batch_seconds: float = 600) -> Any:
    from hocba.signing.agent import SignerAgent

    return SignerAgent(
        config.pkcs11_library(), config.softhsm_conf(), origins or [SITE], batch_seconds
    )


@pytest.fixture
def agent() -> Iterator[Any]:
    """A fresh agent on loopback for the site (fresh batches and PIN counts)."""
    agent = new_agent()
    with agent.serve():
        yield agent


def digests(n: int = 3) -> list[str]:
    return [
        base64.b64encode(hashlib.sha256(f"SignedInfo {i}".encode()).digest()).decode()
        for i in range(n)
    ]


def batch_body(token: Token, n: int = 3, records: int | None = None) -> dict[str, Any]:
    """A batch of `n` digests described as `records` records (as many as the digests unless
    said)."""
    return {
        "token": token.label,
        "key": token.key,
        "digests": digests(n),
        "about": {
            "step": "GVBM",
            "school": "Trường THCS Chu Văn An",
            "classes": ["7A"],
            "subject": "Toán",
            "records": [f"Học sinh {i} — 7A" for i in range(n if records is None else records)],
        },
    }


def call(
    agent: Any,
    path: str,
    body: Any = None,
    *,
    origin: str | None = SITE,
    host: str | None = None,
    content_type: str | None = "application/json",
    method: str = "POST",
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if origin is not None:
        sent["Origin"] = origin
    if host is not None:
        sent["Host"] = host
    if content_type is not None:
        sent["Content-Type"] = content_type
    if content is None and body is not None:
        import json

        content = json.dumps(body).encode()
    return httpx.request(
        method, f"{agent.url}{path}", content=content, headers=sent, follow_redirects=False
    )


def register(agent: Any, token: Token, n: int = 3, origin: str = SITE) -> dict[str, Any]:
    answer = call(agent, "/v1/batches", batch_body(token, n), origin=origin)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def collect(agent: Any, batch: dict[str, Any], origin: str = SITE) -> httpx.Response:
    return call(agent, f"/v1/batches/{batch['batch']}", {"secret": batch["secret"]}, origin=origin)


def confirmation(agent: Any, batch: dict[str, Any]) -> tuple[str, str]:
    """The confirmation page as the teacher's browser gets it, and its anti-CSRF token."""
    page = httpx.get(batch["confirm"])
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return page.text, found.group(1)


def post_form(
    agent: Any, batch: dict[str, Any], fields: dict[str, str], origin: str | None = None
) -> httpx.Response:
    own = agent.url if origin is None else origin
    return call(
        agent,
        f"/batches/{batch['batch']}",
        origin=own or None,
        content_type="application/x-www-form-urlencoded",
        content=httpx.QueryParams(fields).__str__().encode(),
    )


def sign_on_the_page(agent: Any, batch: dict[str, Any], pin: str) -> httpx.Response:
    _, csrf = confirmation(agent, batch)
    return post_form(agent, batch, {"csrf": csrf, "action": "sign", "pin": pin})


def assert_nothing_signed(response: httpx.Response) -> None:
    assert "signatures" not in response.text
    assert "certificate" not in response.text


# --- foreign pages -----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
def test_a_foreign_origin_gets_no_signature_no_certificate_and_registers_nothing(
    agent, token, origin
):
    legacy = {"token": token.label, "key": token.key, "pin": token.pin, "digests": digests(1)}
    for path, body in [
        ("/v1/sign", legacy),  # the old way: the PIN and the digests in one request
        ("/v1/batches", batch_body(token)),
        ("/v1/certificate", {"token": token.label, "key": token.key}),
    ]:
        answer = call(agent, path, body, origin=origin)
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["error"] == "FOREIGN_ORIGIN"
        assert "access-control-allow-origin" not in answer.headers  # the page cannot read it
        assert_nothing_signed(answer)
    assert agent.pending() == []


def test_a_request_that_does_not_say_where_it_comes_from_is_refused(agent, token):
    for path, body in [
        ("/v1/sign", {"token": token.label, "key": token.key, "pin": token.pin,
                      "digests": digests(1)}),
        ("/v1/batches", batch_body(token)),
        ("/v1/certificate", {"token": token.label, "key": token.key}),
    ]:  # fmt: skip
        answer = call(agent, path, body, origin=None)
        assert answer.status_code == 403 and answer.json()["error"] == "ORIGIN_REQUIRED"
        assert_nothing_signed(answer)
    assert agent.pending() == []


origins = st.one_of(
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "file", "chrome-extension", "HTTP", "ws"]),
        st.from_regex(r"[a-z0-9][a-z0-9.-]{0,30}", fullmatch=True),
        st.one_of(st.just(""), st.integers(1, 65535).map(":{}".format)),
    ),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60),
).filter(lambda o: o != SITE)


@pytest.fixture(scope="module")
def one_agent() -> Iterator[Any]:
    """One agent for many requests that must all be refused."""
    agent = new_agent()
    with agent.serve():
        yield agent


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(origin=origins)
def test_no_origin_but_the_configured_one_registers_a_batch(one_agent, token, origin):
    answer = call(one_agent, "/v1/batches", batch_body(token, 1), origin=origin)
    assert answer.status_code == 403
    assert answer.json()["error"] == "FOREIGN_ORIGIN"
    assert one_agent.pending() == []


def test_the_preflight_is_answered_for_the_configured_origin_only(agent):
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
        "Access-Control-Request-Private-Network": "true",
    }
    allowed = call(agent, "/v1/batches", method="OPTIONS", content_type=None, headers=asked)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == SITE
    assert allowed.headers["access-control-allow-private-network"] == "true"
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()
    for origin in FOREIGN_ORIGINS:
        refused = call(
            agent, "/v1/batches", method="OPTIONS", content_type=None, headers=asked, origin=origin
        )
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        assert "access-control-allow-private-network" not in refused.headers


# --- DNS rebinding: the attacker's host name pointing at 127.0.0.1 ---------------------------


def foreign_hosts(port: int) -> list[str]:
    return [
        f"evil.example:{port}",
        f"127.0.0.1.nip.io:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.2:{port}",
        f"0.0.0.0:{port}",
        f"127.0.0.1:{port + 1}",  # another port: not the agent as the page knows it
        "127.0.0.1",
        "evil.example",
    ]


def test_a_foreign_host_is_refused_even_with_the_sites_origin(agent, token):
    batch = register(agent, token)
    _, csrf = confirmation(agent, batch)
    for host in foreign_hosts(agent.port):
        rebound_origin = f"http://{host}"
        for origin in (SITE, rebound_origin):
            for path, body in [
                ("/v1/certificate", {"token": token.label, "key": token.key}),
                ("/v1/batches", batch_body(token)),
                (f"/v1/batches/{batch['batch']}", {"secret": batch["secret"]}),
            ]:
                answer = call(agent, path, body, origin=origin, host=host)
                assert answer.status_code == 403, (host, path, answer.text)
                assert answer.json()["error"] == "FOREIGN_HOST"
                assert_nothing_signed(answer)
        page = httpx.get(batch["confirm"], headers={"Host": host})
        assert page.status_code == 403 and csrf not in page.text  # the page is not readable
        posted = call(
            agent, f"/batches/{batch['batch']}", host=host, origin=f"http://{host}",
            content_type="application/x-www-form-urlencoded",
            content=f"csrf={csrf}&action=sign&pin={token.pin}".encode(),
        )  # fmt: skip
        assert posted.status_code == 403
    assert [b.id for b in agent.pending()] == [batch["batch"]]
    assert collect(agent, batch).json() == {"state": "WAITING"}


def test_a_request_without_a_host_header_is_refused(agent, token):
    with socket.create_connection(("127.0.0.1", agent.port)) as raw:
        raw.sendall(
            b"POST /v1/certificate HTTP/1.0\r\nOrigin: " + SITE.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
        )  # fmt: skip
        answer = raw.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.0 403") and b"FOREIGN_HOST" in answer


# --- requests a browser sends without a preflight -----------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        None,
        "application/jsonx",
        "text/json",
    ],
)
def test_a_body_that_a_browser_sends_without_a_preflight_is_refused(agent, token, content_type):
    legacy = {"token": token.label, "key": token.key, "pin": token.pin, "digests": digests(1)}
    for path, body in [("/v1/sign", legacy), ("/v1/batches", batch_body(token))]:
        answer = call(agent, path, body, content_type=content_type)
        assert answer.status_code == 415, (path, answer.text)
        assert answer.json()["error"] == "JSON_ONLY"
        assert_nothing_signed(answer)
    assert agent.pending() == []


@pytest.mark.parametrize("name", ["pin", "PIN", "userPin", "user_pin", "pinCode"])
def test_the_agent_never_takes_a_pin_from_a_page(agent, token, name):
    legacy = {"token": token.label, "key": token.key, name: token.pin, "digests": digests(1)}
    registration = {**batch_body(token), name: token.pin}
    hidden = batch_body(token)
    hidden["about"] = {**hidden["about"], name: token.pin}
    for path, body in [("/v1/sign", legacy), ("/v1/batches", registration),
                       ("/v1/batches", hidden)]:  # fmt: skip
        answer = call(agent, path, body)
        assert answer.status_code == 400 and answer.json()["error"] == "PIN_NOT_ACCEPTED"
        assert_nothing_signed(answer)
    assert agent.pending() == []


# --- the confirmation page -----------------------------------------------------------------


def test_the_confirmation_page_shows_what_is_signed_and_cannot_be_framed(agent, token):
    batch = register(agent, token, n=4)
    page = httpx.get(batch["confirm"])
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    for shown in [SITE, "Trường THCS Chu Văn An", "7A", "Toán", '<strong class="count">4</strong>',
                  "Nguyễn Thị Thử", "Mã PIN", "Học sinh 3 — 7A"]:  # fmt: skip
        assert shown in text, shown


@pytest.mark.parametrize("origin", [*FOREIGN_ORIGINS, SITE, ""])
def test_a_post_of_the_confirmation_form_from_elsewhere_signs_nothing(agent, token, origin):
    batch = register(agent, token)
    _, csrf = confirmation(agent, batch)  # even a leaked token is not enough
    answer = post_form(agent, batch, {"csrf": csrf, "action": "sign", "pin": token.pin}, origin)
    assert answer.status_code == 403
    assert collect(agent, batch).json() == {"state": "WAITING"}


def test_a_post_of_the_confirmation_form_without_its_token_signs_nothing(agent, token):
    batch = register(agent, token)
    other = register(agent, token)
    _, other_csrf = confirmation(agent, other)
    for csrf in ["", "x", other_csrf]:
        answer = post_form(agent, batch, {"csrf": csrf, "action": "sign", "pin": token.pin})
        assert answer.status_code == 403 and "BAD_CSRF" in answer.text
    _, csrf = confirmation(agent, batch)
    plain = call(
        agent, f"/batches/{batch['batch']}", origin=agent.url, content_type="text/plain",
        content=f"csrf={csrf}&action=sign&pin={token.pin}".encode(),
    )  # fmt: skip
    assert plain.status_code == 415
    assert collect(agent, batch).json() == {"state": "WAITING"}


def test_the_teacher_signs_on_the_agents_page_and_the_site_collects_the_values(agent, token):
    batch = register(agent, token, n=3)
    certificate = call(agent, "/v1/certificate", {"token": token.label, "key": token.key})
    assert certificate.status_code == 200  # read without any PIN
    assert certificate.headers["access-control-allow-origin"] == SITE
    der = token.certificate.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(certificate.json()["certificate"]) == der
    assert collect(agent, batch).json() == {"state": "WAITING"}
    done = sign_on_the_page(agent, batch, token.pin)
    assert done.status_code == 303
    answer = collect(agent, batch).json()
    assert answer["state"] == "SIGNED"
    for digest, value in zip(digests(3), answer["signatures"], strict=True):
        token.certificate.public_key().verify(  # type: ignore[union-attr, call-arg]
            base64.b64decode(value),
            base64.b64decode(digest),
            padding.PKCS1v15(),  # type: ignore[arg-type]
            utils.Prehashed(hashes.SHA256()),  # type: ignore[arg-type]
        )
    assert "Đã ký" in httpx.get(batch["confirm"]).text


def test_a_batch_is_collected_only_by_the_page_that_registered_it(token):
    other_site = "https://hocba.example.vn"
    agent = new_agent(SITE, other_site)
    with agent.serve():
        batch = register(agent, token)
        sign_on_the_page(agent, batch, token.pin)
        wrong = call(agent, f"/v1/batches/{batch['batch']}", {"secret": "guess"})
        assert wrong.status_code == 403 and wrong.json()["error"] == "NOT_YOUR_BATCH"
        elsewhere = collect(agent, batch, origin=other_site)
        assert elsewhere.status_code == 403 and elsewhere.json()["error"] == "NOT_YOUR_BATCH"
        assert_nothing_signed(wrong)
        assert "signatures" not in elsewhere.text
        assert collect(agent, batch).json()["state"] == "SIGNED"


# --- an allowed page that never gets the teacher's confirmation ----------------------------


def test_a_batch_never_confirmed_is_never_signed(token):
    agent = new_agent(batch_seconds=1.5)
    with agent.serve():
        batch = register(agent, token)
        for _ in range(3):
            assert collect(agent, batch).json() == {"state": "WAITING"}
        time.sleep(1.6)
        expired = collect(agent, batch)
        assert expired.status_code == 404 and expired.json()["error"] == "NO_BATCH"
        assert httpx.get(batch["confirm"]).status_code == 404
        assert agent.pending() == []


def test_a_batch_refused_on_the_agents_page_is_never_signed(agent, token):
    batch = register(agent, token)
    _, csrf = confirmation(agent, batch)
    assert post_form(agent, batch, {"csrf": csrf, "action": "refuse"}).status_code == 303
    answer = collect(agent, batch).json()
    assert answer["state"] == "REFUSED" and "signatures" not in answer
    late = post_form(agent, batch, {"csrf": csrf, "action": "sign", "pin": token.pin})
    assert late.status_code == 303
    assert collect(agent, batch).json()["state"] == "REFUSED"


# --- wrong PINs ----------------------------------------------------------------------------------


def test_wrong_pins_stop_the_agent_asking_before_the_token_locks(agent, token):
    batch = register(agent, token)
    for _ in (1, 2):
        assert sign_on_the_page(agent, batch, "000000").status_code == 303
        page, _ = confirmation(agent, batch)
        assert "Sai mã PIN" in page
    page, csrf = confirmation(agent, batch)
    assert 'name="pin"' not in page  # the agent no longer asks
    assert "dừng hỏi mã PIN" in page
    assert collect(agent, batch).json() == {"state": "WAITING", "stopped": "WRONG_PINS"}
    # the right PIN now is not even tried: the count is the token's, not the batch's
    right = post_form(agent, batch, {"csrf": csrf, "action": "sign", "pin": token.pin})
    assert right.status_code == 303
    assert collect(agent, batch).json()["state"] == "WAITING"
    fresh = register(agent, token)
    assert 'name="pin"' not in confirmation(agent, fresh)[0]
    # the teacher must tick the box on the agent's page to be asked again
    post_form(agent, batch, {"csrf": csrf, "action": "resume"})
    assert 'name="pin"' not in confirmation(agent, batch)[0]
    post_form(agent, batch, {"csrf": csrf, "action": "resume", "understood": "1"})
    assert 'name="pin"' in confirmation(agent, batch)[0]
    # one more wrong PIN after confirming stops it again at once
    sign_on_the_page(agent, batch, "999999")
    assert 'name="pin"' not in confirmation(agent, batch)[0]
    post_form(agent, batch, {"csrf": csrf, "action": "resume", "understood": "1"})
    sign_on_the_page(agent, batch, token.pin)
    assert collect(agent, batch).json()["state"] == "SIGNED"
    # a success starts the count again
    assert 'name="pin"' in confirmation(agent, fresh)[0]


def test_a_page_cannot_make_the_agent_try_pins(agent, token):
    """Every way a page could reach the token's login is closed: the count of wrong PINs only
    moves through the agent's own form."""
    from pkcs11 import TokenFlag

    from hocba.signing.signers import token_flags

    library, conf = config.pkcs11_library(), config.softhsm_conf()
    sign_on_the_page(agent, register(agent, token), token.pin)  # a success clears the flag
    assert not token_flags(library, token.label, conf) & TokenFlag.USER_PIN_COUNT_LOW
    for origin in [*FOREIGN_ORIGINS, SITE]:
        for guess in ["000000", "111111", "123123"]:
            body = {"token": token.label, "key": token.key, "pin": guess, "digests": digests(1)}
            call(agent, "/v1/sign", body, origin=origin)
            call(agent, "/v1/sign", body, origin=origin, content_type="text/plain")
    assert not token_flags(library, token.label, conf) & TokenFlag.USER_PIN_COUNT_LOW


@pytest.mark.parametrize(
    ("flags", "wrong", "resumed", "expected"),
    [
        ("USER_PIN_LOCKED", 0, False, "PIN_LOCKED"),
        ("USER_PIN_LOCKED", 0, True, "PIN_LOCKED"),  # never asked again
        ("USER_PIN_FINAL_TRY", 0, False, "PIN_FINAL_TRY"),
        ("USER_PIN_FINAL_TRY", 0, True, None),  # the teacher confirmed: one try
        ("USER_PIN_COUNT_LOW", 1, False, None),
        ("USER_PIN_COUNT_LOW", 2, False, "WRONG_PINS"),
        ("USER_PIN_INITIALIZED", 2, True, None),
    ],
)
def test_the_token_flags_stop_the_agent_before_the_token_locks(flags, wrong, resumed, expected):
    from pkcs11 import TokenFlag

    from hocba.signing.agent import PinCount, pin_stop

    stop = pin_stop(int(TokenFlag[flags]), PinCount(wrong, resumed))
    assert (stop.value if stop else None) == expected


# --- what the teacher confirms is what is signed ---------------------------------------------


@pytest.mark.parametrize(
    ("signed", "described"),
    [(500, 1), (2, 1), (limits.AGENT_DIGESTS, 1), (1, 2), (3, 30), (31, 30)],
)
def test_a_batch_with_more_or_fewer_digests_than_the_records_it_lists_is_refused(
    agent, token, signed, described
):
    answer = call(agent, "/v1/batches", batch_body(token, signed, records=described))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "DIGEST_COUNT_MISMATCH"
    assert str(signed) in answer.json()["message"]
    assert_nothing_signed(answer)
    assert agent.pending() == []  # nothing for the teacher to confirm, nothing to sign


@pytest.mark.parametrize(
    "about",
    [
        {"subject": ""},
        {"subject": "   "},
        {"subject": None},  # left out
    ],
)
def test_a_subject_teachers_batch_that_names_no_subject_is_refused(agent, token, about):
    body = batch_body(token, 2)
    body["about"] = {k: v for k, v in {**body["about"], **about}.items() if v is not None}
    answer = call(agent, "/v1/batches", body)
    assert answer.status_code == 400 and answer.json()["error"] == "SUBJECT_REQUIRED"
    assert agent.pending() == []


@pytest.fixture(scope="module")
def describing_agent() -> Iterator[Any]:
    """One agent for the many batches of a property test (its batches are let expire)."""
    agent = new_agent()
    with agent.serve():
        yield agent


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signed=st.integers(1, 60), described=st.integers(1, 60))
def test_the_agent_signs_as_many_values_as_the_records_the_teacher_reads(
    describing_agent, token, signed, described
):
    before = {b.id for b in describing_agent.pending()}
    answer = call(describing_agent, "/v1/batches", batch_body(token, signed, records=described))
    if signed != described:
        assert answer.status_code == 400
        assert answer.json()["error"] == "DIGEST_COUNT_MISMATCH"
        assert {b.id for b in describing_agent.pending()} <= before
        return
    assert answer.status_code == 201, answer.text
    page, _ = confirmation(describing_agent, answer.json())
    assert f'<strong class="count">{signed}</strong>' in page
    assert f">Ký {signed} học bạ</button>" in page
    assert page.count("<li>") == signed


def test_the_confirmation_page_leads_with_the_number_of_signatures(agent, token):
    batch = register(agent, token, n=7)
    page, _ = confirmation(agent, batch)
    headline = re.search(r'<p class="signatures">(.*?)</p>', page, re.S)
    assert headline is not None, page
    assert '<strong class="count">7</strong>' in headline.group(1)
    assert "chữ ký" in headline.group(1)
    assert page.index('class="signatures"') < page.index("<dl>")  # before the details
    english = httpx.get(batch["confirm"] + "?lang=en").text
    assert '<strong class="count">7</strong> signatures will be made' in english


# --- sites served over plain http ------------------------------------------------------------

PLAIN_HTTP_ELSEWHERE = [
    "http://hocba.example.vn",
    "http://hocba.example.vn:8000",
    "HTTP://Hocba.Example.VN/",
    "http://192.168.1.10:8000",
    "http://10.0.0.5",
    "http://127.0.0.2:8000",  # a loopback address, but not a name the agent knows as this computer
    "http://127.0.0.1.nip.io:8000",
    "http://localhost.evil.example",
    "http://[fe80::1]:8000",
    "http://0.0.0.0:8000",
]
THIS_COMPUTER = {
    "http://127.0.0.1:8000": "http://127.0.0.1:8000",
    "http://localhost:8000/": "http://localhost:8000",
    "http://[::1]:8000": "http://[::1]:8000",
    "http://LOCALHOST": "http://localhost",
}


@pytest.mark.parametrize("origin", PLAIN_HTTP_ELSEWHERE)
def test_a_plain_http_site_on_another_computer_is_not_an_origin_the_agent_serves(origin):
    from hocba.signing.agent import normalize_origin

    with pytest.raises(ValueError, match="https"):
        normalize_origin(origin)
    with pytest.raises(ValueError, match="https"):
        new_agent(SITE, origin)
    # the same site over https is served, and so are plain http sites on this computer
    secure = "https" + origin[len("http") :]
    assert new_agent(secure).origins == {normalize_origin(secure)}
    assert normalize_origin(secure).startswith("https://")
    for written, normalized in THIS_COMPUTER.items():
        assert new_agent(written, secure).origins == {normalized, normalize_origin(secure)}


@settings(max_examples=200, deadline=None)
@given(
    host=st.from_regex(r"[a-z0-9][a-z0-9.-]{0,40}", fullmatch=True),
    port=st.one_of(st.just(""), st.integers(1, 65535).map(":{}".format)),
)
@example(host="localhost", port=":8000")
@example(host="127.0.0.1", port="")
def test_no_plain_http_host_but_this_computers_names_is_served(host, port):
    from hocba.signing.agent import normalize_origin

    if host in ("127.0.0.1", "localhost"):
        assert normalize_origin(f"http://{host}{port}").startswith("http://")
    else:
        with pytest.raises(ValueError):
            normalize_origin(f"http://{host}{port}")
    assert normalize_origin(f"https://{host}{port}").startswith("https://")


def start_command(data: Path, *args: str, **environ: str) -> tuple[int | None, str]:
    """`hocba signer-agent` as an operator starts it: its exit code (None: it was serving, and
    was stopped here) and what it printed first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOCBA_", "DJANGO_"))}
    env.update(HOCBA_DATA_DIR=str(data), HOCBA_SECRET_KEY="agent-test-key-" + "x" * 40)
    env.update(environ)
    process = subprocess.Popen(
        [HOCBA, "signer-agent", "--port", "0", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        first = process.stdout.readline()
        try:
            code: int | None = process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            code = None
        rest = "" if code is None else process.stdout.read()
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
    return code, first + rest


@pytest.mark.parametrize(
    ("args", "environ", "refused"),
    [
        (["--origin", "http://hocba.example.vn"], {}, "http://hocba.example.vn"),
        (
            ["--origin", "https://hocba.example.vn", "--origin", "http://10.0.0.5:8000"],
            {},
            "http://10.0.0.5:8000",
        ),
        (
            [],
            {"HOCBA_SIGNER_AGENT_ORIGINS": "https://a.example.vn,http://hocba.example.vn:8000"},
            "http://hocba.example.vn:8000",
        ),
        (  # the default origin, the site of the deployment
            [],
            {"HOCBA_VERIFY_URL": "http://hocba.example.vn/xac-minh"},
            "http://hocba.example.vn",
        ),
    ],
)
def test_the_agent_stops_at_start_when_told_to_serve_a_plain_http_site_elsewhere(
    tmp_path, args, environ, refused
):
    code, printed = start_command(tmp_path, *args, **environ)
    assert code not in (None, 0), printed  # it never listened
    assert "BAD_ORIGIN" in printed and refused in printed, printed
    assert "trình ký chỉ phục vụ trang https" in printed
    assert "Signer agent on" not in printed
    # the same site over https: the agent starts and serves it
    secure = "https" + refused[len("http") :]
    code, printed = start_command(
        tmp_path,
        *(a.replace(refused, secure) for a in args),
        **{k: v.replace(refused, secure) for k, v in environ.items()},
    )
    assert code is None, printed
    assert "Signer agent on http://127.0.0.1:" in printed and secure in printed


# --- wrong PINs typed at the same time ------------------------------------------------------


@dataclass
class TokenLogins:
    """Every PIN the agent tries on the token, and which tries the token refused."""

    pins: list[str]
    slow: dict[int, int]
    """Threads whose login the token just refused: how many more lines they run slowly."""


@pytest.fixture
def logins(monkeypatch: pytest.MonkeyPatch) -> Iterator[TokenLogins]:
    """Counts the agent's logins on the real token, and lets the agent's other threads run
    while a thread whose PIN was just refused is slow to go on (as when the system schedules it
    out right then): the order in which two confirmations at once are most likely to break a
    count that is checked in one step and written in another."""
    import hocba.signing.agent as module

    seen = TokenLogins([], {})
    real = module.Pkcs11Signer

    class Watched(real):  # type: ignore[misc, valid-type]
        def __init__(self, library: str, token: str, pin: str, *rest: Any) -> None:
            seen.pins.append(pin)
            try:
                super().__init__(library, token, pin, *rest)
            except SignerError:
                seen.slow[threading.get_ident()] = 10
                raise

    def slowly(frame: FrameType, event: str, arg: Any) -> Callable[..., Any]:
        me = threading.get_ident()
        if event == "line" and seen.slow.get(me, 0) > 0:
            seen.slow[me] -= 1
            time.sleep(0.05)
        return slowly

    def calls(frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        return slowly if frame.f_code.co_filename == module.__file__ else None

    monkeypatch.setattr(module, "Pkcs11Signer", Watched)
    threading.settrace(calls)  # the agent's request threads start after this
    try:
        yield seen
    finally:
        threading.settrace(None)  # type: ignore[arg-type]


def confirm_at_once(agent: Any, batches: list[dict[str, Any]], pin: str) -> None:
    """The confirmation pages of several batches, each posted with `pin` at the same moment."""
    forms = [confirmation(agent, b)[1] for b in batches]
    start = threading.Barrier(len(batches))

    def post(i: int) -> int:
        start.wait()
        fields = {"csrf": forms[i], "action": "sign", "pin": pin}
        return post_form(agent, batches[i], fields).status_code

    with ThreadPoolExecutor(len(batches)) as pool:
        assert set(pool.map(post, range(len(batches)))) == {303}


@pytest.mark.parametrize("earlier", range(limits.AGENT_WRONG_PINS))
def test_confirmations_at_the_same_time_never_try_more_wrong_pins_than_the_limit(
    agent, token, logins, earlier
):
    for _ in range(earlier):
        sign_on_the_page(agent, register(agent, token), "000000")
    at_once = limits.AGENT_WRONG_PINS - earlier + 1
    batches = [register(agent, token) for _ in range(at_once)]
    confirm_at_once(agent, batches, "999999")
    assert len(logins.pins) <= limits.AGENT_WRONG_PINS, logins.pins
    assert token.pin not in logins.pins
    for batch in batches:  # nothing signed, and no batch asks for the PIN any more
        assert 'name="pin"' not in confirmation(agent, batch)[0]
        assert collect(agent, batch).json() == {"state": "WAITING", "stopped": "WRONG_PINS"}


def test_after_the_teacher_asks_again_two_confirmations_at_once_get_one_try(agent, token, logins):
    first = register(agent, token)
    for _ in range(limits.AGENT_WRONG_PINS):
        sign_on_the_page(agent, first, "000000")
    _, csrf = confirmation(agent, first)
    post_form(agent, first, {"csrf": csrf, "action": "resume", "understood": "1"})
    tried = len(logins.pins)
    confirm_at_once(agent, [register(agent, token), register(agent, token)], "999999")
    assert len(logins.pins) == tried + 1, logins.pins
