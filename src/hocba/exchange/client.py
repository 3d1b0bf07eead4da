"""Talking to the upstream warehouse: over HTTP (OAuth2 client credentials, bearer tokens), or
in-process when the warehouse runs embedded in the same instance (the demo, a platform that
hosts its Sở's warehouse).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from django.conf import settings

from hocba.exchange.models import Credential

TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class TransportError(Exception):
    """The warehouse could not be reached or failed; try again later."""


class Refused(Exception):
    """The warehouse refused the request for good (`code`, Vietnamese `message`)."""

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


class HttpClient:
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
        body = self._json(response)
        # 429: the warehouse paused this client id or address after failed secrets (perhaps
        # someone else's guesses): try again later, never a refusal for good
        if response.status_code >= 500 or response.status_code == 429:
            raise TransportError(f"token: HTTP {response.status_code}")
        if response.status_code != 200:
            error = body.get("error", {})
            raise Refused(
                str(error.get("code", "TOKEN_REFUSED")),
                str(error.get("message", "Kho học bạ từ chối cấp mã truy cập")),
            )
        token = str(body["access_token"])
        with self._lock:
            self._tokens[sender_code] = (token, time.monotonic() + float(body["expires_in"]))
        return token

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _call(self, sender_code: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for fresh in (False, True):
            token = self._token(sender_code, fresh)
            try:
                response = self._http.request(
                    method,
                    f"{self.base}{path}",
                    headers={"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})},
                    **kwargs,
                )
            except httpx.HTTPError as error:
                raise TransportError(f"{method} {path}: {error}") from None
            if response.status_code != 401:
                break
        if response.status_code >= 500 or response.status_code == 429:
            raise TransportError(f"{method} {path}: HTTP {response.status_code}")
        return response

    def submit(self, sender_code: str, data: bytes) -> dict[str, Any]:
        response = self._call(
            sender_code,
            "POST",
            "/packages",
            content=data,
            headers={"Content-Type": "application/xml"},
        )
        body = self._json(response)
        if response.status_code not in (200, 202):
            error = body.get("error", {})
            raise Refused(
                str(error.get("code", f"HTTP_{response.status_code}")),
                str(error.get("message", "Kho học bạ từ chối gói tin")),
            )
        return body

    def status(self, sender_code: str, package_id: str) -> dict[str, Any] | None:
        response = self._call(sender_code, "GET", f"/packages/{package_id}")
        if response.status_code == 404:
            return None
        body = self._json(response)
        if response.status_code == 403 and body.get("error", {}).get("code") == "OUT_OF_REACH":
            # received under another account of ours (a renewed one): this account has not
            # sent it, so it is sent again, as for a package the warehouse does not know
            return None
        if response.status_code != 200:
            error = body.get("error", {})
            raise Refused(str(error.get("code", "HTTP_ERROR")), str(error.get("message", "")))
        return body


class EmbeddedClient:
    """The warehouse of this same instance, called in-process under the sender's account."""

    def _caller(self, sender_code: str) -> Any:
        from hocba.warehouse.auth import Caller
        from hocba.warehouse.models import Account

        secret = credential_for(sender_code)
        account = Account.objects.filter(client_id=secret.client_id, active=True).first()
        if account is None:
            raise Refused("invalid_client", "Tài khoản kho học bạ không tồn tại")
        return Caller(account, account.scope_set)

    def submit(self, sender_code: str, data: bytes) -> dict[str, Any]:
        from hocba.warehouse.services import ReceiveError, process, receive

        try:
            row, _ = receive(self._caller(sender_code), data, inline=False)
        except ReceiveError as error:
            raise Refused(error.code, error.message) from None
        process(row.pk)  # embedded: answered at once
        row.refresh_from_db()
        return {"package_id": str(row.package_id), "status": row.status}

    def status(self, sender_code: str, package_id: str) -> dict[str, Any] | None:
        from hocba.warehouse.models import ReceivedPackage
        from hocba.warehouse.services import acks_of

        caller = self._caller(sender_code)
        row = ReceivedPackage.objects.filter(account=caller.account, package_id=package_id).first()
        if row is None:
            return None
        return {
            "package_id": str(row.package_id),
            "status": row.status,
            "code": row.code,
            "message": row.message,
            "acks": acks_of(row),
        }

    def close(self) -> None:
        pass


def upstream_client() -> Client | None:
    url = settings.UPSTREAM_URL
    if not url:
        return None
    if url == "embedded":
        return EmbeddedClient()
    return HttpClient(url)
