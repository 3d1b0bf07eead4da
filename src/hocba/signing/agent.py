"""The local signer agent: a small HTTP service on the teacher's own computer (loopback only)
that signs digests with the USB token after the PIN, so that a browser page can sign with a
token the way the national signing plug-ins do. The page sends SHA-256 digests, the agent
answers with signature values; keys never leave the token and the agent keeps no PIN."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization

from hocba import limits
from hocba.signing.signers import Pkcs11Signer, SignerError

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
MAX_DIGESTS = limits.AGENT_DIGESTS


def agent_app(
    library: str, softhsm_conf: str | None = None, origin: str = "http://127.0.0.1:8000"
) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    def reply(start: StartResponse, status: str, body: dict[str, Any]) -> Iterable[bytes]:
        data = json.dumps(body, ensure_ascii=False).encode()
        start(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Headers", "Content-Type"),
                ("Access-Control-Allow-Methods", "POST, OPTIONS"),
            ],
        )
        return [data]

    def app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") not in ("127.0.0.1", "::1"):
            return reply(start, "403 Forbidden", {"error": "LOOPBACK_ONLY"})
        if environ["REQUEST_METHOD"] == "OPTIONS":
            return reply(start, "204 No Content", {})
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] not in (
            "/v1/sign",
            "/v1/certificate",
        ):
            return reply(start, "404 Not Found", {"error": "NOT_FOUND"})
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), 1024 * 1024)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            token, key, pin = request["token"], request["key"], request["pin"]
            digests = [base64.b64decode(d) for d in request.get("digests", [])]
        except (ValueError, KeyError, TypeError):
            return reply(
                start,
                "400 Bad Request",
                {"error": "BAD_REQUEST", "message": "Yêu cầu không hợp lệ"},
            )
        if len(digests) > MAX_DIGESTS or any(len(d) != 32 for d in digests):
            return reply(
                start,
                "400 Bad Request",
                {"error": "BAD_DIGESTS", "message": "Chỉ ký mã băm SHA-256"},
            )
        try:
            signer = Pkcs11Signer(library, token, pin, key, softhsm_conf)
        except SignerError as error:
            return reply(start, "400 Bad Request", {"error": error.code, "message": error.message})
        try:
            certificate = base64.b64encode(
                signer.certificate.public_bytes(serialization.Encoding.DER)
            ).decode()
            values = signer.sign_digests(digests) if environ["PATH_INFO"] == "/v1/sign" else []
        finally:
            signer.close()
        return reply(
            start,
            "200 OK",
            {
                "certificate": certificate,
                "signatures": [base64.b64encode(v).decode() for v in values],
            },
        )

    return app
