"""The warehouse API under /api/v1/warehouse/ (enabled with HOCBA_WAREHOUSE=1).

OAuth2 client credentials at `oauth/token`; every other call carries `Authorization: Bearer …`
and is limited to the token's scopes and the account's reach (its school, its province, or the
whole country). Errors are `{"error": {"code", "message"}}` with a stable code and a Vietnamese
message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Form, Router, Schema, Status
from ninja.security import HttpBearer

from hocba import ratelimit
from hocba.warehouse import services, stats
from hocba.warehouse.auth import AuthError, Caller, caller_for, issue_token
from hocba.warehouse.models import ReceivedPackage, StoredRecord

XML_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def client_address(request: HttpRequest) -> str:
    """The client's own address, behind trusted proxies too: what its account's address list
    is compared with, and what its failed secrets are counted under."""
    return ratelimit.client_address(request.META)


def _enabled() -> None:
    if not settings.WAREHOUSE_ENABLED:
        raise AuthError("WAREHOUSE_DISABLED", "Máy chủ này không vận hành kho học bạ", 404)


class Bearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        _enabled()
        caller = caller_for(token, client_address(request))
        if caller is None:
            raise AuthError("invalid_token", "Mã truy cập không hợp lệ hoặc đã hết hạn")
        return caller

    def __call__(self, request: HttpRequest) -> Caller:
        _enabled()
        found = super().__call__(request)
        if found is None:
            raise AuthError("invalid_token", "Thiếu mã truy cập (Authorization: Bearer …)")
        return found  # type: ignore[no-any-return]


router = Router(tags=["warehouse"], auth=Bearer())


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


class TokenOut(Schema):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int
    scope: str


class PackageReceived(Schema):
    package_id: str
    status: str
    received_at: dt.datetime


class AckOut(Schema):
    record_id: str
    version: int
    status: str
    code: str
    message: str


class PackageOut(Schema):
    package_id: str
    status: str = Field(description="RECEIVED (waiting), DONE (answered per record), REJECTED")
    code: str
    message: str
    received_at: dt.datetime
    processed_at: dt.datetime | None
    records: int
    acks: list[AckOut]


class StoredOut(Schema):
    record_id: str
    version: int
    event: str
    state: str
    school_year: str
    school_code: str
    school_name: str
    sha256: str
    received_at: dt.datetime


class CurrentOut(StoredOut):
    xml_base64: str


class CancelIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class CancelOut(Schema):
    request_id: str
    status: str


class StatsRow(Schema):
    level: str
    code: str
    name: str
    expected: int
    created: int
    issued: int
    sent: int
    accepted: int
    rejected: int


@router.post(
    "/oauth/token",
    auth=None,
    response={200: TokenOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    summary="OAuth2 client credentials",
)
def token(
    request: HttpRequest,
    grant_type: Form[str],
    client_id: Form[str] = "",
    client_secret: Form[str] = "",
    scope: Form[str] = "",
) -> Any:
    _enabled()
    if grant_type != "client_credentials":
        return Status(
            400,
            {
                "error": {
                    "code": "unsupported_grant_type",
                    "message": "Chỉ hỗ trợ grant_type=client_credentials",
                }
            },
        )
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Basic ") and not client_id:
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            client_id, _, client_secret = (
                base64.b64decode(header[6:]).decode("utf-8").partition(":")
            )
    value, row = issue_token(client_id, client_secret, scope or None, client_address(request))
    return Status(
        200,
        {
            "access_token": value,
            "expires_in": int((row.expires_at - row.created_at).total_seconds()),
            "scope": row.scopes,
        },
    )


@router.post(
    "/packages",
    response={
        200: PackageReceived,
        202: PackageReceived,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        413: ErrorOut,
    },
    openapi_extra=XML_BODY,
    summary="Submit a sealed package (gói tin); answered per record later",
)
def submit(request: HttpRequest) -> Any:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    row, new = services.receive(caller, request.body)
    body = {"package_id": str(row.package_id), "status": row.status, "received_at": row.received_at}
    return Status(202 if new else 200, body)


def _package(caller: Caller, package_id: str) -> ReceivedPackage:
    caller.require("packages:submit")
    try:
        key = uuid.UUID(package_id)
    except ValueError:
        raise services.ReceiveError("NOT_FOUND", "Không tìm thấy gói tin", 404) from None
    rows = list(ReceivedPackage.objects.filter(package_id=key))
    row = next((r for r in rows if r.account_id == caller.account.pk), None)
    if row is None and rows:
        raise services.ReceiveError("OUT_OF_REACH", "Gói tin này do tài khoản khác gửi", 403)
    if row is None:
        raise services.ReceiveError("NOT_FOUND", "Không tìm thấy gói tin", 404)
    return row


@router.get(
    "/packages/{package_id}",
    response={200: PackageOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="A package's status and its per-record acknowledgements",
)
def package_status(request: HttpRequest, package_id: str) -> Any:
    row = _package(request.auth, package_id)  # type: ignore[attr-defined]
    return {
        "package_id": str(row.package_id),
        "status": row.status,
        "code": row.code,
        "message": row.message,
        "received_at": row.received_at,
        "processed_at": row.processed_at,
        "records": row.records,
        "acks": services.acks_of(row),
    }


def _stored_out(stored: StoredRecord) -> dict[str, Any]:
    return {
        "record_id": str(stored.record_id),
        "version": stored.version,
        "event": stored.event,
        "state": stored.state,
        "school_year": stored.school_year,
        "school_code": stored.school_code,
        "school_name": stored.school_name,
        "sha256": stored.xml_sha256,
        "received_at": stored.received_at,
    }


@router.get(
    "/records/{record_id}",
    response={200: CurrentOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="A record's current version (the latest accepted; REVOKED after a cancellation)",
)
def current_record(request: HttpRequest, record_id: str) -> Any:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    caller.require("records:read")
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        return Status(404, {"error": {"code": "NOT_FOUND", "message": "Không tìm thấy học bạ"}})
    stored = StoredRecord.objects.filter(caller.reach(), record_id=key).order_by("-version").first()
    if stored is None:
        services.refuse_out_of_reach(key)
        return Status(404, {"error": {"code": "NOT_FOUND", "message": "Không tìm thấy học bạ"}})
    content = services.read_stored(stored)
    return {**_stored_out(stored), "xml_base64": base64.b64encode(content).decode("ascii")}


@router.get(
    "/students/{personal_id}/records",
    response={200: list[StoredOut], 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    summary="A student's records by personal ID (authorised parties only)",
)
def student_records(request: HttpRequest, personal_id: str) -> Any:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    caller.require("records:by-student")
    if not (len(personal_id) == 12 and personal_id.isdigit()):
        return Status(
            400,
            {"error": {"code": "INVALID_PERSONAL_ID", "message": "Mã định danh phải có 12 chữ số"}},
        )
    rows = StoredRecord.objects.filter(caller.reach(), personal_id=personal_id).order_by(
        "school_year", "record_id", "version"
    )
    return [_stored_out(s) for s in rows]


@router.post(
    "/records/{record_id}/cancel-requests",
    response={202: CancelOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Request the cancellation of a record (with a reason; approved by the warehouse)",
)
def request_cancel(request: HttpRequest, record_id: str, body: CancelIn) -> Any:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    try:
        key = uuid.UUID(record_id)
    except ValueError:
        return Status(404, {"error": {"code": "NOT_FOUND", "message": "Không tìm thấy học bạ"}})
    row = services.request_cancellation(caller, key, body.reason)
    return Status(202, {"request_id": str(row.request_id), "status": row.status})


@router.get(
    "/stats",
    response={200: list[StatsRow], 401: ErrorOut, 403: ErrorOut},
    summary="Counts per Ministry / Sở / Phòng / school within the account's reach",
)
def statistics(request: HttpRequest) -> Any:
    caller: Caller = request.auth  # type: ignore[attr-defined]
    caller.require("stats:read")
    return stats.warehouse_rows(caller)
