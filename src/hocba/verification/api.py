"""The verification API (public, rate-limited): the report of `docs/contracts/verify.md`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema, Status

from hocba import ratelimit
from hocba.formats.report import VERDICT_WORDS, Verdict, as_json
from hocba.verification import services
from hocba.verification.views import uploads_per_minute

router = Router(tags=["verification"], auth=None)

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string", "format": "binary"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


class ErrorBody(Schema):
    code: str
    message: str


class ErrorOut(Schema):
    error: ErrorBody


Report = dict[str, Any]


class UnusableOut(Schema):
    """A file that cannot be read as a record or a sealed view: why, and the MALFORMED report."""

    error: ErrorBody
    report: Report


def _error(status: int, code: str, message: str) -> Status[Any]:
    return Status(status, {"error": {"code": code, "message": message}})


@router.get(
    "/verify/{record_id}/{version}",
    response={200: Report, 404: ErrorOut, 429: ErrorOut},
    summary="Verify a record version by its QR address (report of docs/contracts/verify.md)",
)
def verify_lookup(request: HttpRequest, record_id: str, version: int, h: str = "") -> Any:
    if not ratelimit.allow(request, "lookup", settings.VERIFY_LOOKUPS_PER_MINUTE):
        return _error(429, "RATE_LIMITED", "Quá nhiều yêu cầu; hãy thử lại sau một phút")
    result = services.lookup(record_id, version, h)
    if result is None:
        return _error(404, "NOT_FOUND", "Không tìm thấy học bạ với mã và mã kiểm tra này")
    return as_json(result.report)


@router.post(
    "/verify",
    response={200: Report, 400: ErrorOut, 413: ErrorOut, 422: UnusableOut, 429: ErrorOut},
    openapi_extra=UPLOAD_BODY,
    summary="Verify an uploaded record XML or sealed PDF view (422: not usable as either)",
)
def verify_upload(request: HttpRequest) -> Any:
    if not ratelimit.allow(request, "upload", uploads_per_minute()):
        return _error(429, "RATE_LIMITED", "Quá nhiều yêu cầu; hãy thử lại sau một phút")
    data = request.body
    if not data:
        return _error(400, "EMPTY", "Chưa có tệp")
    if len(data) > services.MAX_UPLOAD:
        return _error(413, "TOO_LARGE", "Tệp quá lớn (tối đa 8 MB)")
    result = services.check_file(data)
    report = as_json(result.report)
    if result.verdict is Verdict.MALFORMED:
        why = result.report.unusable()
        error = (
            {"code": str(why.code), "message": why.message()}
            if why is not None
            else {"code": "MALFORMED", "message": VERDICT_WORDS[Verdict.MALFORMED].vi}
        )
        return Status(422, {"error": error, "report": report})
    return report
