"""Talking to the upstream warehouse: over HTTP (OAuth2 client credentials, bearer tokens), or
in-process when the warehouse runs embedded in the same instance (the demo, a platform that
hosts its Sở's warehouse): that client is the warehouse's own (`hocba.warehouse.embedded`),
named by the setting EXCHANGE_EMBEDDED_CLIENT, since the exchange never imports the warehouse.
"""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.module_loading import import_string

from hocba.exchange.models import Credential

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class TransportError(Exception):
    """No answer of the warehouse's own came back (the network, a server error, 429, a proxy's
    page, anything that is not the API's answer): try the same request again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        """Seconds the server asked to wait (Retry-After), if it said."""


class TooLarge(Exception):
    """The package was refused for its size (413, from the warehouse or from a proxy before
    it): split it and send the parts."""


class Refused(Exception):
    """The warehouse answered with its own error (`code`, Vietnamese `message`): the request
    as it stands will not be taken until someone changes something (an account, a certificate,
    the package)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Client(Protocol):
    def submit(self, sender_code: str, data: bytes) -> dict[str, Any]: ...

    def status(self, sender_code: str, package_id: str) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Secret:
    client_id: str
    client_secret: str


def credential_for(sender_code: str) -> Secret:
    row = Credential.objects.filter(sender_code=sender_code).first()
    env_id = os.environ.get("HOCBA_UPSTREAM_CLIENT_ID", "")
    env_secret = os.environ.get("HOCBA_UPSTREAM_CLIENT_SECRET", "")
    if row is not None:
        return Secret(row.client_id, row.client_secret or env_secret)
    if env_id:
        return Secret(env_id, env_secret)
    raise Refused(
        "NO_CREDENTIAL",
        f"Chưa cấu hình tài khoản kho học bạ cho đơn vị {sender_code}",
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _json(response: httpx.Response) -> dict[str, Any] | None:
    """The JSON object of an answer, None when the answer is not one (an HTML page …)."""
    if "json" not in response.headers.get("Content-Type", ""):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _api_error(body: dict[str, Any] | None) -> tuple[str, str] | None:
    """(code, message) of the API's error shape `{"error": {"code", "message"}}`."""
    error = body.get("error") if body is not None else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str) or not error["code"]:
        return None
    return error["code"], str(error.get("message", ""))


def _not_an_answer(what: str, response: httpx.Response) -> TransportError:
    kind = response.headers.get("Content-Type", "").split(";")[0] or "không rõ"
    return TransportError(
        f"{what}: HTTP {response.status_code} ({kind}) không phải câu trả lời của kho học bạ",
        _retry_after(response),
    )


class HttpClient:
    """The warehouse API over HTTP. Only the API's own answers count: a refusal is an answer
    in the API's error shape; anything else (a proxy's HTML page, a 5xx, 429, a broken
    connection, a 2xx that is not what the call returns) is a TransportError, tried again."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self._http = httpx.Client(timeout=TIMEOUT)
        self._tokens: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _token(self, sender_code: str, fresh: bool = False) -> str:
        with self._lock:
            cached = self._tokens.get(sender_code)
            if cached and not fresh and cached[1] > time.monotonic() + 30:
                return cached[0]
        secret = credential_for(sender_code)
        try:
            response = self._http.post(
                f"{self.base}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": secret.client_id,
                    "client_secret": secret.client_secret,
                },
            )
        except httpx.HTTPError as error:
            raise TransportError(f"token: {error}") from None
        body = _json(response)
        if response.status_code >= 500 or response.status_code == 429:
            # 429: the warehouse paused this client id or address after failed secrets (perhaps
            # someone else's guesses): try again later, never a refusal for good
            raise _not_an_answer("token", response)
        if response.status_code == 200 and body is not None:
            token, expires = body.get("access_token"), body.get("expires_in")
            if isinstance(token, str) and token and isinstance(expires, int | float):
                with self._lock:
                    self._tokens[sender_code] = (token, time.monotonic() + float(expires))
                return token
        error = _api_error(body)
        if error is not None and 400 <= response.status_code < 500:
            raise Refused(*error)
        raise _not_an_answer("token", response)

    def _call(self, sender_code: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        for fresh in (False, True):
            token = self._token(sender_code, fresh)
            try:
                response = self._http.request(
                    method,
                    f"{self.base}{path}",
                    headers={"Authorization": f"Bearer {token}", **headers},
                    **kwargs,
                )
            except httpx.HTTPError as error:
                raise TransportError(f"{method} {path}: {error}") from None
            if response.status_code != 401:
                break
        if response.status_code >= 500 or response.status_code == 429:
            raise TransportError(
                f"{method} {path}: HTTP {response.status_code}", _retry_after(response)
            )
        return response

    def submit(self, sender_code: str, data: bytes) -> dict[str, Any]:
        """The warehouse's receipt `{"package_id", "status", …}` (TooLarge on 413)."""
        response = self._call(
            sender_code,
            "POST",
            "/packages",
            content=data,
            headers={"Content-Type": "application/xml"},
        )
        if response.status_code == 413:
            raise TooLarge(f"HTTP 413 cho gói tin {len(data)} byte")
        body = _json(response)
        if (
            response.status_code in (200, 202)
            and body is not None
            and isinstance(body.get("package_id"), str)
            and isinstance(body.get("status"), str)
        ):
            return body
        error = _api_error(body)
        if error is not None and 400 <= response.status_code < 500:
            raise Refused(*error)
        raise _not_an_answer("POST /packages", response)

    def status(self, sender_code: str, package_id: str) -> dict[str, Any] | None:
        """The package's status and answers; None when this account has no such package."""
        response = self._call(sender_code, "GET", f"/packages/{package_id}")
        body = _json(response)
        if response.status_code == 200 and body is not None and isinstance(body.get("status"), str):
            return body
        error = _api_error(body)
        if error is not None and response.status_code == 404 and error[0] == "NOT_FOUND":
            return None
        if error is not None and response.status_code == 403 and error[0] == "OUT_OF_REACH":
            # received under another account of ours (a renewed one): this account has not
            # sent it, so it is sent again, as for a package the warehouse does not know
            return None
        if error is not None and 400 <= response.status_code < 500:
            raise Refused(*error)
        raise _not_an_answer(f"GET /packages/{package_id}", response)


LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


def on_this_machine(host: str) -> bool:
    """A loopback address (127.0.0.0/8, ::1, also written as an IPv4-mapped IPv6 address) or
    the name `localhost`: what travels there never crosses a network."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def upstream_problem(url: str, allow_http: bool = False) -> str | None:
    """Why the upstream address `url` must not be used (a Vietnamese sentence), None when it
    may: https, or plain http to this machine, or with `allow_http` (a closed private network).
    Over plain http anyone on the way reads the client secret and can answer in the
    warehouse's place (rejecting records for good)."""
    if url in ("", "embedded"):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return f"HOCBA_UPSTREAM_URL={url!r} không phải một địa chỉ hợp lệ"
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not host:
        return (
            f"HOCBA_UPSTREAM_URL={url!r}: cần một địa chỉ https://… của kho học bạ "
            "(…/api/v1/warehouse) hoặc embedded"
        )
    if scheme == "http" and not on_this_machine(host) and not allow_http:
        return (
            f"HOCBA_UPSTREAM_URL={url!r} dùng http không mã hóa tới máy khác: ai đứng giữa "
            "đường truyền đọc được mật khẩu ứng dụng và trả lời thay kho học bạ. Dùng https, "
            "hoặc đặt HOCBA_UPSTREAM_ALLOW_HTTP=1 nếu chỉ dùng trong mạng nội bộ khép kín"
        )
    return None


class InsecureUpstream(Exception):
    """The upstream address may not be used (`upstream_problem`)."""

    code = "UPSTREAM_INSECURE"


def upstream_client() -> Client | None:
    """The client for HOCBA_UPSTREAM_URL (None when nothing is sent); InsecureUpstream for an
    address that must not be used, whether or not the system checks ran (hocba.E103)."""
    url = settings.UPSTREAM_URL
    if not url:
        return None
    if url == "embedded":
        embedded: Client = import_string(settings.EXCHANGE_EMBEDDED_CLIENT)()
        return embedded
    problem = upstream_problem(url, settings.UPSTREAM_ALLOW_HTTP)
    if problem is not None:
        raise InsecureUpstream(problem)
    return HttpClient(url)
