"""Small HTTP services on loopback for development, tests and the demo: the development CA's
OCSP responder (and CRL), and a remote signing service speaking the CSC API v2 — the stand-in
for a commercial remote-signing provider (VNPT SmartCA, Viettel MySign …)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from hocba.signing.dev.pki import DevPki
from hocba.signing.signers import Signer

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def _body(environ: Environ, limit: int = 1024 * 1024) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(min(length, limit)) if length else b""


def _reply(start: StartResponse, status: str, body: bytes, content_type: str) -> Iterable[bytes]:
    start(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def ocsp_app(pki: DevPki) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """OCSP answers signed by the issuing CA; GET /crl serves the current CRL."""

    def app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "GET" and environ["PATH_INFO"].endswith("/crl"):
            return _reply(start, "200 OK", pki.crl_path.read_bytes(), "application/pkix-crl")
        if environ["REQUEST_METHOD"] != "POST":
            return _reply(start, "405 Method Not Allowed", b"", "text/plain")
        try:
            request = ocsp.load_der_ocsp_request(_body(environ))
        except ValueError:
            response = ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST
            )
            return _reply(
                start,
                "200 OK",
                response.public_bytes(serialization.Encoding.DER),
                "application/ocsp-response",
            )
        revoked = pki.revocations()
        now = dt.datetime.now(dt.UTC)
        serial = request.serial_number
        status, (at, reason) = (
            (ocsp.OCSPCertStatus.REVOKED, revoked[serial])
            if serial in revoked
            else (ocsp.OCSPCertStatus.GOOD, (None, None))
        )
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial,
            algorithm=request.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + dt.timedelta(hours=1),
            revocation_time=at,
            revocation_reason=reason,
        )
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, pki.issuing)
        response = builder.sign(pki.issuing_key, hashes.SHA256())
        return _reply(
            start,
            "200 OK",
            response.public_bytes(serialization.Encoding.DER),
            "application/ocsp-response",
        )

    return app


@dataclass
class CscCredential:
    signer: Signer
    pin: str
    otp: str
    """The one-time password the service expects (a phone app would show it)."""


@dataclass
class CscService:
    """A CSC API v2 remote signing service: credentials/list, credentials/info,
    credentials/authorize (PIN + OTP, numSignatures, hashes) → SAD, signatures/signHash."""

    access_token: str
    credentials: dict[str, CscCredential]
    max_hashes: int = 1000
    _sads: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def __call__(self, environ: Environ, start: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"].rstrip("/")
        self.calls.append(path)
        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {self.access_token}":
            return self._error(
                start, "401 Unauthorized", "invalid_token", "Sai mã truy cập dịch vụ"
            )
        try:
            request = json.loads(_body(environ) or b"{}")
        except ValueError:
            return self._error(start, "400 Bad Request", "invalid_request", "JSON không hợp lệ")
        handler = {
            "/csc/v2/credentials/list": self._list,
            "/csc/v2/credentials/info": self._info,
            "/csc/v2/credentials/authorize": self._authorize,
            "/csc/v2/signatures/signHash": self._sign_hash,
        }.get(path)
        if handler is None:
            return self._error(start, "404 Not Found", "invalid_request", "Không có dịch vụ này")
        status, body = handler(request)
        return _reply(start, status, json.dumps(body).encode(), "application/json")

    @staticmethod
    def _error(start: StartResponse, status: str, error: str, description: str) -> Iterable[bytes]:
        body = json.dumps({"error": error, "error_description": description}, ensure_ascii=False)
        return _reply(start, status, body.encode(), "application/json")

    def _list(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return "200 OK", {"credentialIDs": sorted(self.credentials)}

    def _info(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        credential = self.credentials.get(request.get("credentialID", ""))
        if credential is None:
            return _bad("invalid_request", "Không có chứng thư này")
        cert = credential.signer.certificate
        return "200 OK", {
            "key": {"status": "enabled", "algo": ["1.2.840.113549.1.1.11"], "len": 2048},
            "cert": {
                "status": "valid",
                "certificates": [
                    base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
                ],
                "subjectDN": cert.subject.rfc4514_string(),
            },
            "authMode": "explicit",
            "PIN": {"presence": "true", "format": "N"},
            "OTP": {"presence": "true", "type": "offline"},
            "multisign": self.max_hashes,
        }

    def _authorize(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        credential = self.credentials.get(request.get("credentialID", ""))
        if credential is None:
            return _bad("invalid_request", "Không có chứng thư này")
        if request.get("PIN") != credential.pin:
            return _bad("invalid_pin", "Sai mã PIN")
        if request.get("OTP") != credential.otp:
            return _bad("invalid_otp", "Sai mã OTP")
        count = int(request.get("numSignatures", 0))
        if not 1 <= count <= self.max_hashes:
            return _bad("invalid_request", "numSignatures không hợp lệ")
        sad = secrets.token_urlsafe(24)
        self._sads[sad] = {
            "credential": request["credentialID"],
            "left": count,
            "hashes": set(request.get("hashes") or []),
        }
        return "200 OK", {"SAD": sad, "expiresIn": 300}

    def _sign_hash(self, request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        sad = self._sads.get(request.get("SAD", ""))
        hashes_b64 = request.get("hashes") or []
        if sad is None or sad["credential"] != request.get("credentialID"):
            return _bad("invalid_request", "SAD không hợp lệ")
        if len(hashes_b64) > sad["left"] or (
            sad["hashes"] and not set(hashes_b64) <= sad["hashes"]
        ):
            return _bad("invalid_request", "Vượt số chữ ký đã cấp phép")
        if request.get("hashAlgorithmOID") != "2.16.840.1.101.3.4.2.1":
            return _bad("invalid_request", "Chỉ hỗ trợ SHA-256")
        sad["left"] -= len(hashes_b64)
        signer = self.credentials[sad["credential"]].signer
        values = signer.sign_digests([base64.b64decode(h) for h in hashes_b64])
        return "200 OK", {"signatures": [base64.b64encode(v).decode() for v in values]}


def _bad(error: str, description: str) -> tuple[str, dict[str, Any]]:
    return "400 Bad Request", {"error": error, "error_description": description}


def tsa_app(
    key: Any, cert: x509.Certificate, chain: Iterable[x509.Certificate] = ()
) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """A time-stamping authority speaking RFC 3161 over HTTP (POST application/timestamp-query),
    for tests and the development setup; pyHanko's test TSA signs the tokens."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    def asn1(c: x509.Certificate) -> Any:
        return asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))

    stamper = DummyTimeStamper(
        tsa_cert=asn1(cert),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        ),
        certs_to_embed=[asn1(c) for c in chain],  # type: ignore[arg-type]
    )

    def app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "POST":
            return _reply(start, "405 Method Not Allowed", b"", "text/plain")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            request = tsp.TimeStampReq.load(environ["wsgi.input"].read(min(length, 65536)))
            answer = stamper.request_tsa_response(request).dump()
        except ValueError:
            return _reply(start, "400 Bad Request", b"", "text/plain")
        return _reply(start, "200 OK", answer, "application/timestamp-reply")

    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class LoopbackServer:
    """Serve a WSGI app on 127.0.0.1 in a background thread (tests, demo, development); with
    `threads`, each connection in its own thread (a browser may open a connection and send
    nothing on it for a while)."""

    def __init__(
        self,
        app: Callable[[Environ, StartResponse], Iterable[bytes]],
        port: int = 0,
        threads: bool = False,
    ) -> None:
        self.server: WSGIServer = make_server(
            "127.0.0.1",
            port,
            app,
            server_class=_ThreadingWSGIServer if threads else WSGIServer,
            handler_class=_Quiet,
        )
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
