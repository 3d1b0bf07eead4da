"""Passwords cannot be found by trying: sign-in is throttled per account and per address.

Attack: try passwords against the login page (or the admin's), one account from one address,
one account from many addresses, many accounts from one address (password spraying), with the
username written in ways that name the same account (spaces, full-width letters) and a new
User-Agent each time; and the same against the warehouse's token endpoint with client secrets.
After the limit, even the right password is refused with a clear Vietnamese message (English
available), nobody is signed in, and the lock ends after the cool-off period.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client

from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account

pytestmark = pytest.mark.django_db

PASSWORD = "hocba-demo"
PRINCIPAL, HOMEROOM, ADMIN = "ht.chuvanan", "gvcn.chuvanan.7a", "quantri"
ATTACKER, OTHER = "198.51.100.7", "203.0.113.9"
LOCKED_VI = "Đăng nhập sai quá nhiều lần"
LOCKED_EN = "Too many failed sign-in attempts"


def sign_in(
    username: str, password: str, address: str, path: str = "/login/", agent: str = "test"
) -> tuple[Client, int, str]:
    client = Client()
    response = client.post(
        path,
        {"username": username, "password": password, "next": "/"},
        REMOTE_ADDR=address,
        HTTP_USER_AGENT=agent,
    )
    return client, response.status_code, response.content.decode()


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(username: str, address: str, times: int, path: str = "/login/") -> None:
    for n in range(times):
        _client, status, _body = sign_in(username, f"guess-{n}", address, path, agent=f"ua-{n}")
        assert status in (200, 429)


def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_the_message(demo):
    fail(PRINCIPAL, ATTACKER, 30)
    client, status, body = sign_in(PRINCIPAL, PASSWORD, ATTACKER)
    assert status == 429
    assert LOCKED_VI in body and 'data-code="SIGNIN_LOCKED"' in body
    assert not signed_in(client)


def test_the_message_is_available_in_english(demo):
    fail(PRINCIPAL, ATTACKER, 10)
    client = Client()
    client.cookies["django_language"] = "en"
    response = client.post(
        "/login/", {"username": PRINCIPAL, "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 429 and LOCKED_EN in response.content.decode()


@pytest.mark.parametrize(
    "written",
    [PRINCIPAL, f"  {PRINCIPAL} ", "ｈｔ.ｃｈｕｖａｎａｎ"],
    ids=["plain", "spaces", "full-width"],
)
def test_the_lock_holds_for_the_account_from_another_address(demo, written):
    for n in range(10):
        sign_in(written, f"guess-{n}", f"192.0.2.{n + 1}", agent=f"ua-{n}")
    client, status, body = sign_in(PRINCIPAL, PASSWORD, OTHER)
    assert status == 429 and LOCKED_VI in body
    assert not signed_in(client)


def test_the_lock_holds_for_another_account_from_the_same_address(demo):
    """Ten guesses lock the principal's account; the address goes on with other accounts until
    thirty guesses were checked from it."""
    fail(PRINCIPAL, ATTACKER, 10)
    for n in range(20):
        sign_in(f"gv.{n}", "123456", ATTACKER, agent=f"ua-{n}")
    client, status, body = sign_in(HOMEROOM, PASSWORD, ATTACKER)
    assert status == 429 and LOCKED_VI in body
    assert not signed_in(client)
    client, status, _body = sign_in(HOMEROOM, PASSWORD, OTHER)
    assert status == 302 and signed_in(client)  # the other account, elsewhere, is not locked


def test_spraying_one_password_over_many_accounts_locks_the_address(demo):
    for n in range(30):
        sign_in(f"teacher-{n}", "123456", ATTACKER, agent=f"ua-{n}")
    client, status, _body = sign_in(PRINCIPAL, PASSWORD, ATTACKER)
    assert status == 429 and not signed_in(client)


def test_the_admin_login_is_locked_too(demo):
    fail(ADMIN, ATTACKER, 30, path="/admin/login/")
    client, status, body = sign_in(ADMIN, PASSWORD, ATTACKER, path="/admin/login/?next=/admin/")
    assert status == 429 and LOCKED_VI in body
    assert not signed_in(client)
    assert sign_in(ADMIN, PASSWORD, OTHER, path="/login/")[1] == 429  # the same account


def test_the_lock_ends_after_the_cool_off_and_attempts_during_it_do_not_extend_it(demo, settings):
    # four seconds: long enough that a slow machine still asks within the lock, short enough
    # to wait for; the lock began before `started` (with the tenth failure)
    settings.SIGNIN_LOCK_MINUTES = 4 / 60
    fail(PRINCIPAL, ATTACKER, 10)
    started = time.monotonic()
    assert sign_in(PRINCIPAL, PASSWORD, ATTACKER)[1] == 429
    time.sleep(max(0.0, 1.8 - (time.monotonic() - started)))
    fail(PRINCIPAL, ATTACKER, 3)  # refused, and not counted
    time.sleep(max(0.0, 4.3 - (time.monotonic() - started)))
    client, status, _body = sign_in(PRINCIPAL, PASSWORD, ATTACKER)
    assert status == 302 and signed_in(client)


# --- the warehouse's token endpoint ---------------------------------------------------------

BASE = "/api/v1/warehouse"
SECRET = "a-long-enough-secret-for-tests"


@pytest.fixture
def warehouse(settings):  # type: ignore[no-untyped-def]
    settings.WAREHOUSE_ENABLED = True
    create_account("so-25", SECRET, "Sở 25", Account.Kind.PROVINCE, province_code="25",
                   province_office_code="25", tax_code="2600999999")  # fmt: skip
    create_account("so-26", SECRET, "Sở 26", Account.Kind.PROVINCE, province_code="26",
                   province_office_code="26", tax_code="2600999998")  # fmt: skip
    return settings


def token(client_id: str, secret: str, address: str) -> tuple[int, str]:
    response = Client().post(
        f"{BASE}/oauth/token",
        {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        REMOTE_ADDR=address,
    )
    return response.status_code, response.json()["error"][
        "code"
    ] if response.status_code != 200 else ""


def test_guessing_a_client_secret_locks_the_client_from_every_address(warehouse):
    for n in range(10):
        assert token("so-25", f"guess-{n}", f"192.0.2.{n + 1}") == (401, "invalid_client")
    assert token("so-25", SECRET, OTHER) == (429, "TOO_MANY_ATTEMPTS")
    assert token("so-26", SECRET, OTHER) == (200, "")


def test_guessing_secrets_of_many_clients_locks_the_address(warehouse):
    for n in range(30):
        token(f"client-{n}", "guess", ATTACKER)
    assert token("so-26", SECRET, ATTACKER) == (429, "TOO_MANY_ATTEMPTS")
    assert token("so-26", SECRET, OTHER) == (200, "")


def test_the_token_lock_ends_after_the_cool_off(warehouse):
    warehouse.SIGNIN_LOCK_MINUTES = 2 / 60
    for n in range(10):
        token("so-25", f"guess-{n}", ATTACKER)
    assert token("so-25", SECRET, ATTACKER)[0] == 429
    time.sleep(2.5)
    assert token("so-25", SECRET, ATTACKER) == (200, "")


@pytest.mark.django_db(transaction=True)
def test_locking_a_schools_client_id_delays_its_packages_and_never_rejects_them(
    live_server, settings
):
    """Someone who knows a school's client id fails on purpose: the school's sender is told to
    try again later (a transport error), not refused for good."""
    from hocba.exchange.client import HttpClient, TransportError
    from hocba.exchange.services import set_credential

    settings.WAREHOUSE_ENABLED = True
    create_account("truong-25000201", SECRET, "Trường", Account.Kind.SCHOOL,
                   school_code="25000201", province_code="25", province_office_code="25",
                   tax_code="2600000201")  # fmt: skip
    for n in range(10):
        token("truong-25000201", f"guess-{n}", f"192.0.2.{n + 1}")
    set_credential("25000201", "truong-25000201", SECRET)
    client = HttpClient(f"{live_server.url}/api/v1/warehouse")
    try:
        with pytest.raises(TransportError):
            client.status("25000201", "00000000-0000-0000-0000-000000000000")
    finally:
        client.close()


def test_an_address_list_keeps_outsiders_from_locking_its_sender_out(warehouse):
    """Before, failures from outside the list were counted against the client id first: anyone
    could keep a school's or a Sở's sender locked out whatever its address list."""
    create_account("so-27", SECRET, "Sở 27", Account.Kind.PROVINCE, province_code="27",
                   province_office_code="27", tax_code="2700999999",
                   allowed_ips="192.0.2.0/24 2001:db8:27::/48")  # fmt: skip
    for n in range(40):
        assert token("so-27", f"guess-{n}", f"198.51.100.{n + 1}") == (403, "access_denied")
        assert token("so-27", f"guess-{n}", f"2001:db8:99::{n + 1:x}")[0] == 403
    assert token("so-27", SECRET, ATTACKER)[0] == 403  # the right secret from outside: no
    assert token("so-27", SECRET, "192.0.2.10") == (200, "")
    assert token("so-27", SECRET, "2001:db8:27::5") == (200, "")
    assert token("so-26", SECRET, "198.51.100.1") == (200, "")  # nothing counted outside either
