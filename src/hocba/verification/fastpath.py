"""The QR address is the busiest public page (every printout leads there). Once a version's page
has been drawn, it is answered here, in front of Django's request handling: the same rate limit,
the same check that the record has no newer version since (one indexed query), then the status,
headers and bytes that Django sent the first time (kept when the view marks its page as
cacheable with KEY_HEADER, which is never sent out). Anything else, and every miss, goes to
Django. The page is kept per language (the language cookie, as hocba.web.middleware reads it),
and only until UNTIL_HEADER says (the expiry of the report it shows, itself no later than the
revocation answers behind it: a certificate revoked meanwhile shows within
HOCBA_REVOCATION_REFRESH).

Pages are kept in each process's own memory (`caches["local"]`), not in the shared cache: the
key holds the record's latest version, read from the database on every visit, so a page kept
by one process can never be stale; a miss costs one drawing per process. The rate limit, which
must count across processes, is the shared one (`ratelimit`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings
from django.core.cache import caches
from django.http import parse_cookie

from hocba import ratelimit
from hocba.signing import config
from hocba.verification import services

KEY_HEADER = "X-Hocba-Page-Key"
UNTIL_HEADER = "X-Hocba-Page-Until"
"""Until when the page may be kept (seconds since the epoch); never sent out either."""
_INTERNAL = (KEY_HEADER, UNTIL_HEADER)
PATH = re.compile(r"^/xac-minh/([0-9a-fA-F-]{32,36})/([0-9]{1,6})$")


def page_key(record_id: str, version: int, code: str, stamp: int, language: str) -> str:
    return f"verify-page:{record_id}:{version}:{code}:{stamp}:{language}"


def language_of(environ: dict[str, Any]) -> str:
    """The page language: the one chosen with the language switch, else Vietnamese."""
    chosen = parse_cookie(str(environ.get("HTTP_COOKIE", ""))).get(settings.LANGUAGE_COOKIE_NAME)
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def stored(
    record_id: str, version: int, code: str, language: str
) -> tuple[str, list[tuple[str, str]], bytes] | None:
    stamp = services.stamp(record_id)
    if stamp is None:
        return None
    found = caches["local"].get(page_key(record_id, version, code, stamp, language))
    return found  # type: ignore[no-any-return]


class FastPath:
    """WSGI middleware answering cached verification pages."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        match = PATH.match(environ.get("PATH_INFO", ""))
        if match is None:
            return self.app(environ, start_response)
        code = parse_qs(environ.get("QUERY_STRING", "")).get("h", [""])[0].strip().lower()
        address = ratelimit.client_address(environ)
        hit = stored(match.group(1), int(match.group(2)), code, language_of(environ))
        if hit is not None and ratelimit.allow_address(
            address, "lookup", settings.VERIFY_LOOKUPS_PER_MINUTE
        ):
            status, headers, body = hit
            start_response(status, headers)
            return [body]
        return self._keep(environ, start_response)

    def _keep(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Let Django answer; keep the page if the view marked it. The page is asked for
        uncompressed (it is small), so the kept bytes suit every client."""
        environ = {k: v for k, v in environ.items() if k != "HTTP_ACCEPT_ENCODING"}
        sent: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            sent["status"], sent["headers"] = status, headers
            return start_response(status, [h for h in headers if h[0] not in _INTERNAL], exc_info)

        result = self.app(environ, capture)
        headers = sent.get("headers", [])
        key = next((v for k, v in headers if k == KEY_HEADER), None)
        seconds = min(_until(headers) - time.time(), config.revocation_refresh())
        if (
            key is None
            or seconds <= 0
            or not str(sent.get("status", "")).startswith("200")
            # a cookie is for this visitor only (a CSRF secret renewed after a bad cookie): such
            # an answer is sent but never kept for the next ones
            or any(k.lower() == "set-cookie" for k, _ in headers)
        ):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        headers = [h for h in sent["headers"] if h[0] not in _INTERNAL]
        caches["local"].set(key, (sent["status"], headers, body), seconds)
        return [body]


def _until(headers: list[tuple[str, str]]) -> float:
    value = next((v for k, v in headers if k == UNTIL_HEADER), "")
    try:
        return float(value)
    except ValueError:
        return 0.0
