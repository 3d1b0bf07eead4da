"""The cached QR page is answered in front of Django, with the same rate limit, and a new
version (a revocation) is seen at once."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from werkzeug.test import Client

from hocba.config.wsgi import django_application
from hocba.records.models import Record, State
from hocba.records.services import revoke_record
from hocba.signing.dev.tokens import token_signer
from hocba.signing.services import sign_records
from hocba.verification.fastpath import FastPath
from tests.factories.database import user
from tests.verification.test_portal import address

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted():  # type: ignore[no-untyped-def]
    """The WSGI application with the fast path, counting what reaches Django (the real WSGI
    handler would close the test's connection after each request; Django's test client does
    not either)."""
    cache.clear()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    calls = []

    def django(environ, start_response):  # type: ignore[no-untyped-def]
        calls.append(environ["PATH_INFO"])
        return django_application(environ, start_response)

    yield Client(FastPath(django)), calls
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    cache.clear()


def test_a_drawn_page_is_answered_without_django_until_the_record_changes(counted, demo):
    client, calls = counted
    record = Record.objects.filter(school__code="25000201").last()
    version = record.versions.get(state=State.ISSUED)
    url = address(version)
    first = client.get(url, environ_base={"REMOTE_ADDR": "192.0.2.1", "HTTP_HOST": "127.0.0.1"})
    assert first.status_code == 200 and 'data-verdict="VALID"' in first.get_data(as_text=True)
    assert len(calls) == 1
    second = client.get(url, environ_base={"REMOTE_ADDR": "192.0.2.1", "HTTP_HOST": "127.0.0.1"})
    assert second.status_code == 200
    assert second.get_data() == first.get_data()
    assert sorted(second.headers.items()) == sorted(first.headers.items())
    assert second.headers["X-Content-Type-Options"] == "nosniff"
    assert len(calls) == 1  # answered in front of Django
    assert "X-Hocba-Page-Key" not in first.headers

    principal = user("ht.chuvanan")
    cancel = revoke_record(principal, record, "Cấp nhầm")
    signer = token_signer(record.school, principal.staff.personal_id)
    try:
        sign_records(principal, [cancel], "CBQL", signer)
    finally:
        signer.close()
    after = client.get(url, environ_base={"REMOTE_ADDR": "192.0.2.1", "HTTP_HOST": "127.0.0.1"})
    assert 'data-verdict="RECORD_REVOKED"' in after.get_data(as_text=True)
    assert len(calls) == 2


def test_the_fast_path_keeps_the_rate_limit(counted, demo, settings):
    client, _calls = counted
    settings.VERIFY_LOOKUPS_PER_MINUTE = 3
    version = (
        Record.objects.filter(school__code="25000201").first().versions.get(state=State.ISSUED)
    )
    environ = {"REMOTE_ADDR": "192.0.2.9", "HTTP_HOST": "127.0.0.1"}
    codes = [client.get(address(version), environ_base=environ).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


def test_the_kept_page_suits_clients_that_do_not_take_gzip(counted, demo):
    """Pages are gzip-compressed for weak connections; the kept QR page is not, so a client
    without gzip gets readable bytes even when the first visitor took gzip."""
    client, calls = counted
    record = Record.objects.filter(school__code="25000201").first()
    url = address(record.versions.get(state=State.ISSUED))
    where = {"REMOTE_ADDR": "192.0.2.2", "HTTP_HOST": "127.0.0.1"}
    first = client.get(url, environ_base={**where, "HTTP_ACCEPT_ENCODING": "gzip"})
    plain = client.get(url, environ_base=where)
    assert len(calls) == 1  # the second was answered from the kept page
    for response in (first, plain):
        assert "Content-Encoding" not in response.headers
        assert 'data-verdict="VALID"' in response.get_data(as_text=True)
    login = client.get("/login/", environ_base={**where, "HTTP_ACCEPT_ENCODING": "gzip"})
    assert login.headers["Content-Encoding"] == "gzip"  # other pages are compressed


def test_a_cookie_set_for_one_visitor_is_never_replayed_to_others(counted, demo):
    """A malformed CSRF cookie makes Django send a new one; that answer is not kept."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    _client, calls = counted
    app = FastPath(lambda e, s: calls.append(e["PATH_INFO"]) or django_application(e, s))
    record = Record.objects.filter(school__code="25000201").first()
    url = address(record.versions.get(state=State.ISSUED))

    def get(cookie: str):  # type: ignore[no-untyped-def]
        builder = EnvironBuilder(
            path=url.split("?")[0], query_string=url.split("?")[1],
            environ_base={"REMOTE_ADDR": "192.0.2.3", "HTTP_HOST": "127.0.0.1"},
        )  # fmt: skip
        environ = builder.get_environ()
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        _body, status, headers = run_wsgi_app(app, environ, buffered=True)
        return status, headers.get_all("Set-Cookie")

    calls.clear()
    status, cookies = get("csrftoken=x")
    assert status.startswith("200") and any("csrftoken=" in c for c in cookies)
    for _ in range(2):
        status, cookies = get("csrftoken=" + "A" * 32)
        assert status.startswith("200") and cookies == []
    assert len(calls) == 2  # the first answer was not kept; the second was, for the third
