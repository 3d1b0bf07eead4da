"""Who is asking is decided by what the client cannot write.

Attacks: behind a reverse proxy every client had the proxy's address, so one client used up the
public limits, the sign-in locks and the warehouse's address lists of everyone behind it (or a
school's address list had to name the proxy, letting anyone through); and a client that writes
X-Forwarded-For itself must not choose the address it is counted under: directly (no proxy
trusted, or a peer that is not a trusted proxy), or through a trusted proxy that appends the
address it saw (the left-most addresses are the client's own writing), with one hop or a chain
of proxies, IPv4 or IPv6, with ports, brackets and rubbish in the header.
"""

from __future__ import annotations

import ipaddress
import time
import uuid

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account

pytestmark = pytest.mark.django_db

PROXY, INNER_PROXY = "10.0.0.5", "10.9.0.1"
LIMIT = 3
SECRET = "a-long-enough-secret-for-tests"


@pytest.fixture
def behind_proxies(settings):  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXIES = (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("2001:db8:ff::/48"),
    )
    settings.VERIFY_LOOKUPS_PER_MINUTE = LIMIT
    return settings


def client_address(meta: dict[str, str]) -> str:
    """The address a request with this META is answered as (the one function that decides)."""
    from hocba import ratelimit

    return ratelimit.client_address(meta)


def a_fresh_minute() -> None:
    """Start well inside a rate window (they are fixed minutes)."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.1)


def lookup(remote: str, forwarded: str | None = None) -> int:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    url = f"/api/v1/verify/{uuid.uuid4()}/1?h=000000000000"
    return Client().get(url, REMOTE_ADDR=remote, **extra).status_code


def test_behind_a_trusted_proxy_each_client_is_counted_alone(behind_proxies):
    a_fresh_minute()
    assert [lookup(PROXY, "198.51.100.7") for _ in range(LIMIT + 1)] == [404] * LIMIT + [429]
    assert lookup(PROXY, "203.0.113.9") == 404  # another client behind the same proxy
    assert lookup(PROXY, "2001:db8:1:2::7") == 404


@pytest.mark.parametrize(
    "written",
    ["198.51.100.{n}", "198.51.100.{n}, 203.0.113.{n}", "[2001:db8::{n}]:443", "unknown-{n}",
     "10.0.0.{n}", ""],
    ids=["one", "a list", "ipv6 with port", "rubbish", "a trusted proxy's address", "empty"],
)  # fmt: skip
def test_a_client_writing_x_forwarded_for_itself_is_counted_as_itself(behind_proxies, written):
    a_fresh_minute()
    direct = [lookup("192.0.2.50", written.format(n=n)) for n in range(LIMIT + 2)]
    assert direct == [404] * LIMIT + [429, 429]
    # through the trusted proxy, which appends the address it was connected from
    through = [
        lookup(PROXY, f"{written.format(n=n)}, 192.0.2.60".lstrip(", ")) for n in range(LIMIT + 2)
    ]
    assert through == [404] * LIMIT + [429, 429]
    assert lookup(PROXY, "192.0.2.61") == 404  # the proxy's other clients are not locked


def test_with_no_proxy_trusted_the_header_is_never_believed(settings):
    settings.VERIFY_LOOKUPS_PER_MINUTE = LIMIT
    a_fresh_minute()
    codes = [lookup(PROXY, f"198.51.100.{n}") for n in range(LIMIT + 2)]
    assert codes == [404] * LIMIT + [429, 429]


def test_a_chain_of_proxies_gives_the_right_most_untrusted_address(behind_proxies):
    meta = {
        "REMOTE_ADDR": INNER_PROXY,
        "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.7:5555, 10.1.1.1,10.2.2.2",
    }
    assert client_address(meta) == "198.51.100.7"
    meta = {"REMOTE_ADDR": "2001:db8:ff::1", "HTTP_X_FORWARDED_FOR": "::1, [2001:db8:5::9]"}
    assert client_address(meta) == "2001:db8:5::9"
    meta = {"REMOTE_ADDR": "::ffff:10.0.0.5", "HTTP_X_FORWARDED_FOR": "::ffff:192.0.2.1"}
    assert client_address(meta) == "192.0.2.1"
    # a hop that is not an address: the proxy that wrote it is the last one believed
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7, bogus, 10.1.1.1"}
    assert client_address(meta) == "10.1.1.1"
    # every hop a trusted proxy: the left-most of them
    meta = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "10.7.7.7, 10.1.1.1"}
    assert client_address(meta) == "10.7.7.7"


addresses = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]:443"),
    st.text(alphabet="0123456789abcdef.:[] ", max_size=20),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(written=st.lists(addresses, max_size=6), real=st.ip_addresses(v=4))
def test_whatever_the_client_writes_it_cannot_choose_its_address(behind_proxies, written, real):
    """Through one trusted proxy (which appends what it saw), the client is what the proxy saw
    whenever that is not a trusted proxy itself; without a trusted peer, the peer."""
    header = ", ".join([*written, str(real)])
    through = client_address({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": header})
    if real not in ipaddress.ip_network("10.0.0.0/8"):
        assert through == str(real)
    direct = client_address({"REMOTE_ADDR": "192.0.2.50", "HTTP_X_FORWARDED_FOR": header})
    assert direct == "192.0.2.50"


# --- sign-in and the warehouse behind the proxy -----------------------------------------------


def test_a_locked_sign_in_address_behind_the_proxy_is_that_client_only(behind_proxies, demo):
    for n in range(30):
        Client().post(
            "/login/",
            {"username": f"teacher-{n}", "password": "123456"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )
    client = Client()
    locked = client.post(
        "/login/", {"username": "ht.chuvanan", "password": "hocba-demo"},
        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7",
    )  # fmt: skip
    assert locked.status_code == 429
    other = Client()
    signed = other.post(
        "/login/", {"username": "ht.chuvanan", "password": "hocba-demo"},
        REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.9",
    )  # fmt: skip
    assert signed.status_code == 302 and "_auth_user_id" in other.session


def token(remote: str, forwarded: str | None = None, secret: str = SECRET) -> tuple[int, str]:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    response = Client().post(
        "/api/v1/warehouse/oauth/token",
        {"grant_type": "client_credentials", "client_id": "truong-1", "client_secret": secret},
        REMOTE_ADDR=remote,
        **extra,
    )
    body = response.json()
    return response.status_code, body["error"]["code"] if "error" in body else ""


@pytest.fixture
def school_with_address_list(behind_proxies):  # type: ignore[no-untyped-def]
    behind_proxies.WAREHOUSE_ENABLED = True
    create_account("truong-1", SECRET, "Trường", Account.Kind.SCHOOL, school_code="25000201",
                   province_code="25", province_office_code="25", tax_code="2600000201",
                   allowed_ips="198.51.100.0/24")  # fmt: skip


def test_the_warehouse_address_list_sees_the_client_behind_the_proxy(school_with_address_list):
    assert token(PROXY, "198.51.100.7") == (200, "")
    assert token(INNER_PROXY, "198.51.100.7, 10.1.1.1") == (200, "")
    assert token(PROXY, "203.0.113.9")[0] == 403
    assert token(PROXY)[0] == 403  # the proxy itself is not the school


def test_the_warehouse_address_list_cannot_be_claimed_by_writing_the_header(
    school_with_address_list,
):
    assert token("203.0.113.9", "198.51.100.7")[0] == 403  # not through a trusted proxy
    assert token(PROXY, "198.51.100.7, 203.0.113.9")[0] == 403  # the left-most is the client's
