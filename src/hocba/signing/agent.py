"""The local signer agent: a small HTTP service on the teacher's own computer (loopback only)
that signs digests with the USB token for the hocba site's signing pages, and for nobody else.

How a batch is signed
1. The signing page (one of the configured origins) reads the signer's certificate:
   `POST /v1/certificate` {token, key}. A certificate is a public object on the token, read
   without the PIN.
2. The server prepares the digests; the page registers them with what they are:
   `POST /v1/batches` {token, key, digests, about} → {batch, secret, confirm}. The agent signs
   one digest per record line of the description, no more and no fewer (it cannot see what the
   digests are of: it trusts the configured site's description, within that count).
3. The page opens `confirm`, the agent's own page on the agent's own origin: the teacher sees
   what is signed (the site that asks, how many records, which class and subject, which school,
   which certificate) and types the PIN there. No web page can read that page, frame it or post
   to it, and the PIN never passes through a web page.
4. The page collects the values with the batch's secret: `POST /v1/batches/<id>` {secret}.

What the agent serves: the configured origins, each an https site or a plain-http site on
this computer (`normalize_origin`); a plain-http page from elsewhere can be rewritten on its way.

What every request must pass
- the peer is loopback, and the Host header names a loopback name with the agent's own port
  (a page that rebinds its own host name to 127.0.0.1 is refused);
- the API (`/v1/…`): an Origin among the configured ones (never absent), a JSON body
  (`application/json`, so a browser always sends a preflight first, which is answered, with the
  private-network permission, for the configured origins only), and no PIN anywhere;
- the agent's pages: posted from the agent's own origin with the page's anti-CSRF token; they
  cannot be framed.
Wrong PINs: after `limits.AGENT_WRONG_PINS` wrong PINs in a row for a token, or when the token
says its next wrong PIN locks it, the agent stops asking for that token's PIN until the teacher
confirms on the agent's page; a locked token is never asked again. The count is checked and
moved in one step with the login, under the token lock, whatever the number of confirmations
posted at once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hocba import limits
from hocba.signing.signers import Pkcs11Signer, SignerError, token_certificate, token_flags

if TYPE_CHECKING:
    from hocba.signing.dev.servers import LoopbackServer

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
Headers = list[tuple[str, str]]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_BATCH_PATH = re.compile(r"/batches/([A-Za-z0-9_-]{16,64})")
_RESULT_PATH = re.compile(r"/v1/batches/([A-Za-z0-9_-]{16,64})")


# --- where requests may come from ----------------------------------------------------------


def normalize_origin(text: str) -> str:
    """An origin as a browser sends it (`scheme://host[:port]`, lower case, no default port),
    from the way an operator writes it (`https://Hocba.example.vn/` …); ValueError (with a
    Vietnamese message) otherwise.

    Only `https` origins, and plain `http` on this computer (127.0.0.1, localhost, [::1]): a
    page served over plain http from another host can be rewritten by anyone on the network
    path, who could then drive the agent with the site's own origin."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"“{text[:100]}” không phải một trang web (http[s]://tên-máy[:cổng])")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(
            f"“{text[:100]}”: một trang web (origin) không có đường dẫn, truy vấn "
            "hay tên người dùng"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"“{text[:100]}”: cổng không hợp lệ") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if parts.scheme == "http" and host not in LOOPBACK_NAMES:
        raise ValueError(
            f"“{text[:100]}” dùng http không mã hóa: trình ký chỉ phục vụ trang https, hoặc "
            "trang http trên chính máy này (127.0.0.1, localhost, [::1])"
        )
    default = 80 if parts.scheme == "http" else 443
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host headers that name the agent itself: a loopback name and its own port."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    if port == 80:
        hosts.update(LOOPBACK_NAMES)
    return frozenset(hosts)


def own_origins(port: int) -> frozenset[str]:
    """The origins of the agent's own pages (the only ones that may post its forms)."""
    return frozenset(f"http://{host}" for host in loopback_hosts(port))


# --- what the API accepts ------------------------------------------------------------------

Text = Annotated[str, Field(max_length=limits.AGENT_TEXT_CHARS)]
Step = Literal["GVBM", "GVCN", "CBQL", "KY_PHAT_HANH"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TokenKey(_Request):
    """Which key: the token's label and the key's label (both shown on the agent's page)."""

    token: Annotated[str, Field(min_length=1, max_length=32)]
    """PKCS#11 token label (at most 32 characters)."""
    key: Annotated[str, Field(min_length=1, max_length=limits.AGENT_TEXT_CHARS)]
    """Label of the key and of its certificate on the token."""


class About(_Request):
    """What a batch signs, as the hocba server's prepare step describes it; the teacher reads it
    on the agent's page before typing the PIN.

    A batch makes one signature per record line: each record has one signature slot for the
    step, and a subject teacher's batch is one subject (`subject`), so one slot per record. The
    agent signs exactly as many digests as there are lines (`BatchRequest`): a page cannot
    describe one record and have hundreds of values signed."""

    step: Step
    """The signing step (the record's signature slot)."""
    school: Annotated[str, Field(min_length=1, max_length=limits.AGENT_TEXT_CHARS)]
    classes: Annotated[list[Text], Field(max_length=limits.AGENT_DIGESTS)] = []
    subject: Text = ""
    """The subject's name: required for a subject teacher's step (`GVBM`)."""
    records: Annotated[list[Text], Field(min_length=1, max_length=limits.AGENT_DIGESTS)]
    """One line per record (the student and the class): one signature each."""

    @model_validator(mode="after")
    def _subject_of_a_subject_teacher(self) -> About:
        if self.step == "GVBM" and not self.subject.strip():
            raise PydanticCustomError(
                "SUBJECT_REQUIRED", "Lô ký của giáo viên bộ môn phải ghi môn học được ký"
            )
        return self

    @property
    def signatures(self) -> int:
        """How many signatures the description says the batch makes."""
        return len(self.records)


class BatchRequest(TokenKey):
    digests: Annotated[list[str], Field(min_length=1, max_length=limits.AGENT_DIGESTS)]
    """SHA-256 digests, base64."""
    about: About

    @field_validator("digests")
    @classmethod
    def _sha256(cls, digests: list[str]) -> list[str]:
        for digest in digests:
            try:
                raw = base64.b64decode(digest, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("not base64") from None
            if len(raw) != 32:
                raise ValueError("not a SHA-256 digest")
        return digests

    @model_validator(mode="after")
    def _as_described(self) -> BatchRequest:
        """The digests are exactly what the description lists: one per record line."""
        if len(self.digests) != self.about.signatures:
            raise PydanticCustomError(
                "DIGEST_COUNT_MISMATCH",
                "Lô ký có {digests} giá trị cần ký nhưng phần mô tả chỉ kể {described} học bạ: "
                "trình ký chỉ ký đúng những gì nó cho thầy/cô xem",
                {"digests": len(self.digests), "described": self.about.signatures},
            )
        return self


_M = TypeVar("_M", bound=_Request)


class Collect(_Request):
    secret: Annotated[str, Field(min_length=1, max_length=100)]


# --- refusals --------------------------------------------------------------------------------


class Refusal(Exception):
    """A request the agent does not serve: a stable code, a Vietnamese message, the status."""

    def __init__(self, code: str, message: str, status: str = "403 Forbidden") -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status


def _foreign_host() -> Refusal:
    return Refusal(
        "FOREIGN_HOST",
        "Trình ký chỉ trả lời khi được gọi bằng địa chỉ 127.0.0.1 hay localhost với cổng của nó",
    )


def _origin_required() -> Refusal:
    return Refusal("ORIGIN_REQUIRED", "Yêu cầu không cho biết trang web gửi nó (thiếu Origin)")


def _foreign_origin(origin: str) -> Refusal:
    return Refusal("FOREIGN_ORIGIN", f"Trình ký không ký cho trang {origin[:100]}")


# --- the teacher's PIN ------------------------------------------------------------------------


class PinStop(StrEnum):
    """Why the agent does not ask for a token's PIN now."""

    LOCKED = "PIN_LOCKED"
    """The token is locked (too many wrong PINs); only its security officer can unlock it."""
    FINAL_TRY = "PIN_FINAL_TRY"
    """The token says one more wrong PIN locks it."""
    WRONG_PINS = "WRONG_PINS"
    """`limits.AGENT_WRONG_PINS` wrong PINs in a row through this agent."""


@dataclass
class PinCount:
    """Wrong PINs in a row for one token, as this agent saw them."""

    wrong_in_row: int = 0
    resumed: bool = False
    """The teacher confirmed on the agent's page that they want to try again: good for one try."""


class _Stopped(Exception):
    """The agent does not try the PIN now (`PinStop`)."""

    def __init__(self, why: PinStop) -> None:
        super().__init__(why.value)
        self.why = why


def pin_stop(flags: int, count: PinCount, limit: int = limits.AGENT_WRONG_PINS) -> PinStop | None:
    """Whether the agent stops asking for a token's PIN, from the token's flags
    (CKF_USER_PIN_LOCKED, CKF_USER_PIN_FINAL_TRY) and the agent's own count."""
    from pkcs11 import TokenFlag

    if flags & TokenFlag.USER_PIN_LOCKED:
        return PinStop.LOCKED
    if count.resumed:
        return None
    if count.wrong_in_row >= limit:
        return PinStop.WRONG_PINS
    if flags & TokenFlag.USER_PIN_FINAL_TRY:
        return PinStop.FINAL_TRY
    return None


STEPS: dict[str, Any] = {
    "GVBM": _("Subject teacher: the subject's results"),
    "GVCN": _("Homeroom teacher: the class's records"),
    "CBQL": _("Principal: approve the records"),
    "KY_PHAT_HANH": _("Issue with the school's certificate"),
}
"""The signing steps as the agent's page names them."""

NOTICES: dict[str, Any] = {
    "WRONG_PIN": _("The PIN is wrong."),
    "PIN_EMPTY": _("Type the PIN of the USB token."),
    "PIN_LOCKED": _("The USB token is locked."),
    "TOKEN_NOT_FOUND": _("The USB token is not plugged in (or has another name)."),
    "TOKEN_BUSY": _("The USB token is busy with another signing session."),
    "KEY_NOT_FOUND": _("The key is not on this USB token."),
    "CERT_NOT_FOUND": _("The certificate is not on this USB token."),
    "CERT_CHANGED": _(
        "The certificate on the token is not the one this batch was prepared for; "
        "nothing was signed. Start again from the signing page."
    ),
    "TOKEN_ERROR": _("The USB token did not answer; nothing was signed."),
    "NOT_CONFIRMED": _("Tick the box to confirm before asking for the PIN again."),
}
"""What the agent's page says after an action, by code."""


# --- batches ------------------------------------------------------------------------------------


class BatchState(StrEnum):
    WAITING = "WAITING"
    """Registered; waiting for the teacher's confirmation and PIN on the agent's page."""
    SIGNING = "SIGNING"
    SIGNED = "SIGNED"
    REFUSED = "REFUSED"
    """The teacher refused it on the agent's page."""


@dataclass
class Batch:
    id: str
    secret: str
    """What the page that registered the batch shows to collect the values."""
    csrf: str
    """The anti-CSRF token of the batch's confirmation form."""
    origin: str
    """The site that asked."""
    token: str
    key: str
    digests: tuple[bytes, ...]
    about: About
    certificate: x509.Certificate
    created: float
    state: BatchState = BatchState.WAITING
    signatures: list[bytes] = field(default_factory=list)
    notice: str = ""
    """The code of what the page says after the last action (`NOTICES`)."""
    stop: PinStop | None = None
    """Why the agent stopped asking for the PIN, as the page last showed it."""


class SignerAgent:
    """The agent as a WSGI application. Bind it with `serve(port)` (its Host check needs the
    port it listens on)."""

    def __init__(
        self,
        library: str,
        softhsm_conf: str | None,
        origins: Iterable[str],
        batch_seconds: float = limits.AGENT_BATCH_SECONDS,
    ) -> None:
        self.library = library
        self.softhsm_conf = softhsm_conf
        self.origins = frozenset(normalize_origin(o) for o in origins)
        if not self.origins:
            raise ValueError("trình ký cần ít nhất một trang web để phục vụ (--origin)")
        self.batch_seconds = batch_seconds
        self.port = 0
        self._batches: OrderedDict[str, Batch] = OrderedDict()
        self._pins: dict[str, PinCount] = {}
        self._lock = threading.Lock()
        self._token_lock = threading.Lock()  # one PKCS#11 conversation at a time

    def serve(self, port: int = 0) -> LoopbackServer:
        """A loopback server for this agent (not started: `with` it, or `serve_forever`)."""
        from hocba.signing.dev.servers import LoopbackServer

        server = LoopbackServer(self, port, threads=True)
        self.port = server.port
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: Environ, start: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        try:
            if environ.get("REMOTE_ADDR") not in ("127.0.0.1", "::1"):
                raise Refusal("LOOPBACK_ONLY", "Trình ký chỉ phục vụ máy này")
            if not self.port or environ.get("HTTP_HOST", "").lower() not in loopback_hosts(
                self.port
            ):
                raise _foreign_host()
            if path.startswith("/v1/"):
                return self._api(environ, start, path)
            return self._page(environ, start, path)
        except Refusal as refusal:
            if path.startswith("/v1/"):
                return _json(start, refusal.status, _error(refusal), [])
            return self._message(start, environ, refusal.status, refusal.code, refusal.message)

    # --- the API for the signing page --------------------------------------------------------

    def _api(self, environ: Environ, start: StartResponse, path: str) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            raise _origin_required()
        if origin not in self.origins:
            raise _foreign_origin(origin)
        cors = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        method = environ["REQUEST_METHOD"]
        if method == "OPTIONS":
            return self._preflight(environ, start, cors)
        try:
            if method != "POST":
                raise Refusal("METHOD_NOT_ALLOWED", "Chỉ nhận POST", "405 Method Not Allowed")
            if _media_type(environ) != "application/json":
                raise Refusal(
                    "JSON_ONLY",
                    "Trình ký chỉ nhận yêu cầu JSON (application/json)",
                    "415 Unsupported Media Type",
                )
            data = _json_object(_read(environ))
            if _names_a_pin(data):
                raise Refusal(
                    "PIN_NOT_ACCEPTED",
                    "Trình ký không nhận mã PIN từ trang web: mã PIN chỉ nhập trong cửa sổ "
                    "của trình ký",
                    "400 Bad Request",
                )
            if path == "/v1/certificate":
                return self._certificate_api(start, cors, data)
            if path == "/v1/batches":
                return self._register(start, cors, data, origin)
            found = _RESULT_PATH.fullmatch(path)
            if found:
                return self._collect(start, cors, data, origin, found.group(1))
            raise Refusal("NOT_FOUND", "Không có dịch vụ này", "404 Not Found")
        except Refusal as refusal:
            return _json(start, refusal.status, _error(refusal), cors)

    def _preflight(self, environ: Environ, start: StartResponse, cors: Headers) -> Iterable[bytes]:
        headers = [
            *cors,
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", "Content-Type"),
            ("Access-Control-Max-Age", "600"),
            ("Content-Length", "0"),
        ]
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK", "").lower() == "true":
            headers.append(("Access-Control-Allow-Private-Network", "true"))
        start("204 No Content", headers)
        return [b""]

    def _certificate_api(
        self, start: StartResponse, cors: Headers, data: dict[str, Any]
    ) -> Iterable[bytes]:
        request = _valid(TokenKey, data)
        certificate = self._certificate(request.token, request.key)
        return _json(
            start,
            "200 OK",
            {"certificate": _b64(certificate.public_bytes(serialization.Encoding.DER))},
            cors,
        )

    def _register(
        self, start: StartResponse, cors: Headers, data: dict[str, Any], origin: str
    ) -> Iterable[bytes]:
        request = _valid(BatchRequest, data)
        certificate = self._certificate(request.token, request.key)
        batch = Batch(
            id=secrets.token_urlsafe(16),
            secret=secrets.token_urlsafe(32),
            csrf=secrets.token_urlsafe(32),
            origin=origin,
            token=request.token,
            key=request.key,
            digests=tuple(base64.b64decode(d) for d in request.digests),
            about=request.about,
            certificate=certificate,
            created=time.monotonic(),
        )
        with self._lock:
            self._forget_expired()
            while len(self._batches) >= limits.AGENT_BATCHES:
                self._batches.popitem(last=False)
            self._batches[batch.id] = batch
        return _json(
            start,
            "201 Created",
            {
                "batch": batch.id,
                "secret": batch.secret,
                "confirm": f"{self.url}/batches/{batch.id}",
                "expires_in": int(self.batch_seconds),
            },
            cors,
        )

    def _collect(
        self, start: StartResponse, cors: Headers, data: dict[str, Any], origin: str, key: str
    ) -> Iterable[bytes]:
        request = _valid(Collect, data)
        batch = self._batch(key)
        if batch.origin != origin or not hmac.compare_digest(batch.secret, request.secret):
            raise Refusal("NOT_YOUR_BATCH", "Lô ký này không phải của trang này")
        body: dict[str, Any] = {"state": batch.state.value}
        if batch.state == BatchState.SIGNED:
            body["signatures"] = [_b64(v) for v in batch.signatures]
        elif batch.state == BatchState.REFUSED:
            body["message"] = "Thầy/cô đã từ chối ký lô này trong cửa sổ của trình ký"
        elif batch.stop is not None:
            body["stopped"] = batch.stop.value
        return _json(start, "200 OK", body, cors)

    # --- the agent's own pages -----------------------------------------------------------------

    def _page(self, environ: Environ, start: StartResponse, path: str) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        language = _language(environ)
        if path == "/" and method == "GET":
            return self._html(
                start, "200 OK", "signing/agent/home.html", {"origins": sorted(self.origins)},
                language,
            )  # fmt: skip
        found = _BATCH_PATH.fullmatch(path)
        if found is None:
            raise Refusal("NOT_FOUND", "Không có trang này", "404 Not Found")
        if method == "GET":
            return self._batch_page(start, self._batch(found.group(1)), language)
        if method != "POST":
            raise Refusal("METHOD_NOT_ALLOWED", "Chỉ nhận GET và POST", "405 Method Not Allowed")
        return self._confirm(environ, start, found.group(1), language)

    def _confirm(
        self, environ: Environ, start: StartResponse, key: str, language: str
    ) -> Iterable[bytes]:
        """The teacher's answer on the confirmation page: sign (with the PIN), refuse, or ask
        for the PIN again after the agent stopped asking."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            raise _origin_required()
        if origin not in own_origins(self.port):
            raise _foreign_origin(origin)
        if _media_type(environ) != "application/x-www-form-urlencoded":
            raise Refusal(
                "FORM_ONLY", "Trang xác nhận chỉ nhận biểu mẫu của nó", "415 Unsupported Media Type"
            )
        try:
            form = parse_qs(_read(environ).decode(), keep_blank_values=True, max_num_fields=8)
        except (UnicodeDecodeError, ValueError):
            raise Refusal("BAD_REQUEST", "Biểu mẫu không hợp lệ", "400 Bad Request") from None
        batch = self._batch(key)

        def value(name: str) -> str:
            return form.get(name, [""])[0]

        if not hmac.compare_digest(batch.csrf.encode(), value("csrf").encode()):
            raise Refusal("BAD_CSRF", "Biểu mẫu không đến từ trang xác nhận của trình ký")
        action = value("action")
        if action == "sign":
            self._sign(batch, value("pin"))
        elif action == "refuse":
            with self._lock:
                if batch.state == BatchState.WAITING:
                    batch.state = BatchState.REFUSED
        elif action == "resume":
            with self._lock:
                if value("understood") == "1":
                    self._pins.setdefault(batch.token, PinCount()).resumed = True
                    batch.notice = ""
                else:
                    batch.notice = "NOT_CONFIRMED"
        else:
            raise Refusal("BAD_REQUEST", "Biểu mẫu không hợp lệ", "400 Bad Request")
        suffix = "?lang=en" if language == "en" else ""
        start("303 See Other", [("Location", f"/batches/{batch.id}{suffix}"), *_PAGE_HEADERS])
        return [b""]

    def _sign(self, batch: Batch, pin: str) -> None:
        """Sign the batch's digests on the token after the PIN typed on the agent's page; the PIN
        is used for this login only and kept nowhere."""
        import pkcs11

        with self._lock:
            if batch.state != BatchState.WAITING:
                return
            if not pin:
                batch.notice = "PIN_EMPTY"
                return
            batch.state = BatchState.SIGNING
        try:
            with self._token_lock:
                values = self._sign_on_token(batch, pin)
        except _Stopped as stopped:
            with self._lock:
                batch.stop, batch.notice, batch.state = stopped.why, "", BatchState.WAITING
            return
        except SignerError as error:
            with self._lock:
                batch.notice, batch.state = error.code, BatchState.WAITING
            return
        except pkcs11.exceptions.PKCS11Error:
            with self._lock:
                batch.notice, batch.state = "TOKEN_ERROR", BatchState.WAITING
            return
        with self._lock:
            batch.signatures, batch.state = values, BatchState.SIGNED
            batch.notice, batch.stop = "", None

    def _sign_on_token(self, batch: Batch, pin: str) -> list[bytes]:
        """One try of the PIN and, if it is right, the signatures. Called with the token lock
        held: whether the agent may still try a PIN, the login and the count of its outcome are
        one step, so confirmations posted at the same time never try more PINs in a row than
        `limits.AGENT_WRONG_PINS` (each would otherwise pass the check before the other's wrong
        PIN is counted)."""
        count = self._count(batch.token)
        stop = pin_stop(self._flags(batch.token), count)
        if stop is not None:
            raise _Stopped(stop)
        try:
            signer = Pkcs11Signer(self.library, batch.token, pin, batch.key, self.softhsm_conf)
        except SignerError as error:
            if error.code == "WRONG_PIN":
                with self._lock:
                    count.wrong_in_row += 1
                    count.resumed = False
            raise
        with self._lock:
            self._pins[batch.token] = PinCount()  # the PIN was right: the count starts again
        try:
            if signer.certificate != batch.certificate:
                raise SignerError("CERT_CHANGED", "Chứng thư số trên token đã đổi")
            return signer.sign_digests(batch.digests)
        finally:
            signer.close()

    def _batch_page(self, start: StartResponse, batch: Batch, language: str) -> Iterable[bytes]:
        stop: PinStop | None = None
        flags = 0
        if batch.state == BatchState.WAITING:
            try:
                with self._token_lock:
                    flags = self._flags(batch.token)
            except SignerError as error:
                with self._lock:
                    batch.notice = error.code
            stop = pin_stop(flags, self._count(batch.token))
            with self._lock:
                batch.stop = stop
        from pkcs11 import TokenFlag

        subject = batch.certificate.subject
        names = subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        context = {
            "batch": batch,
            "about": batch.about,
            "signatures": len(batch.digests),
            "records": len(batch.about.records),
            "holder": str(names[0].value) if names else subject.rfc4514_string(),
            "issuer": batch.certificate.issuer.rfc4514_string(),
            "step": STEPS[batch.about.step],
            "limit": limits.AGENT_WRONG_PINS,
            "state": batch.state.value,
            "stop": stop.value if stop else "",
            "wrong_in_row": self._count(batch.token).wrong_in_row,
            "count_low": bool(flags & TokenFlag.USER_PIN_COUNT_LOW),
            "notice": NOTICES.get(batch.notice, ""),
            "notice_code": batch.notice,
            "language": language,
        }
        return self._html(start, "200 OK", "signing/agent/batch.html", context, language)

    def _message(
        self, start: StartResponse, environ: Environ, status: str, code: str, message: str
    ) -> Iterable[bytes]:
        context = {"code": code, "message": message}
        return self._html(start, status, "signing/agent/message.html", context, _language(environ))

    def _html(
        self,
        start: StartResponse,
        status: str,
        template: str,
        context: dict[str, Any],
        language: str,
    ) -> Iterable[bytes]:
        nonce = secrets.token_urlsafe(16)
        with translation.override(language):
            body = render_to_string(template, {**context, "nonce": nonce}).encode()
        start(
            status,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                (
                    "Content-Security-Policy",
                    f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
                    "frame-ancestors 'none'; base-uri 'none'",
                ),
                *_PAGE_HEADERS,
            ],
        )
        return [body]

    # --- state -------------------------------------------------------------------------------

    def _batch(self, key: str) -> Batch:
        with self._lock:
            self._forget_expired()
            batch = self._batches.get(key)
        if batch is None:
            raise Refusal(
                "NO_BATCH",
                "Không có lô ký này: đã hết hạn, đã xong hoặc trình ký đã khởi động lại",
                "404 Not Found",
            )
        return batch

    def _forget_expired(self) -> None:
        oldest = time.monotonic() - self.batch_seconds
        for key in [k for k, b in self._batches.items() if b.created < oldest]:
            del self._batches[key]

    def _count(self, token: str) -> PinCount:
        with self._lock:
            return self._pins.setdefault(token, PinCount())

    def _flags(self, token: str) -> int:
        return token_flags(self.library, token, self.softhsm_conf)

    def _certificate(self, token: str, key: str) -> x509.Certificate:
        try:
            with self._token_lock:
                return token_certificate(self.library, token, key, self.softhsm_conf)
        except SignerError as error:
            raise Refusal(error.code, error.message, "400 Bad Request") from None

    def pending(self) -> list[Batch]:
        """The batches the agent keeps now (for its operator and tests)."""
        with self._lock:
            self._forget_expired()
            return list(self._batches.values())


_PAGE_HEADERS: Headers = [
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    # not "no-referrer": a browser would then send "Origin: null" with the page's own form
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _error(refusal: Refusal) -> dict[str, str]:
    return {"error": refusal.code, "message": refusal.message}


def _json(start: StartResponse, status: str, body: dict[str, Any], cors: Headers) -> list[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode()
    start(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *cors,
        ],
    )
    return [data]


def _media_type(environ: Environ) -> str:
    return str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()


def _read(environ: Environ) -> bytes:
    """The request body, refused from its declared length before it is read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Refusal("BAD_REQUEST", "Độ dài yêu cầu không hợp lệ", "400 Bad Request") from None
    if length > limits.AGENT_BODY_BYTES:
        raise Refusal("TOO_LARGE", "Yêu cầu quá lớn", "413 Content Too Large")
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise Refusal("BAD_JSON", "Nội dung không phải JSON", "400 Bad Request") from None
    if not isinstance(data, dict):
        raise Refusal("BAD_JSON", "Nội dung phải là một đối tượng JSON", "400 Bad Request")
    return data


def _names_a_pin(data: Any) -> bool:
    """Whether a request names a PIN anywhere (`pin`, `PIN`, `userPin` …)."""
    if isinstance(data, dict):
        return any("pin" in str(k).lower() or _names_a_pin(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_names_a_pin(v) for v in data)
    return False


_OWN_CODES = frozenset({"DIGEST_COUNT_MISMATCH", "SUBJECT_REQUIRED"})
"""Refusals of a request's content that answer their own code (the others: `BAD_REQUEST`)."""


def _valid(model: type[_M], data: dict[str, Any]) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        if first["type"] in _OWN_CODES:
            raise Refusal(first["type"], first["msg"], "400 Bad Request") from None
        where = ".".join(str(p) for p in first["loc"])
        raise Refusal(
            "BAD_REQUEST", f"Yêu cầu không hợp lệ (trường {where})", "400 Bad Request"
        ) from None


def _language(environ: Environ) -> str:
    """Vietnamese, unless the page was asked for in English (`?lang=en`)."""
    return "en" if parse_qs(environ.get("QUERY_STRING", "")).get("lang") == ["en"] else "vi"
