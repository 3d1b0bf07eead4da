"""The HTTP API under /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from hocba.blobs import BlobError
from hocba.gradebook.api import router as gradebook_router
from hocba.gradebook.models import LockedError
from hocba.gradebook.services import ValidationFailed
from hocba.records.api import router as records_router
from hocba.students.api import router as students_router
from hocba.verification.api import router as verification_router
from hocba.warehouse.api import router as warehouse_router
from hocba.warehouse.auth import AuthError
from hocba.warehouse.services import ReceiveError

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="hocba API",
    version="1",
    urls_namespace="api",
    auth=django_auth,
    docs_url="/docs",
)


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request,
        {
            "error": {
                "code": "FORBIDDEN",
                "message": str(exc) or "Bạn không có quyền truy cập dữ liệu này",
            }
        },
        status=403,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": "NOT_FOUND", "message": "Không tìm thấy"}},
        status=404,
    )


@api.exception_handler(LockedError)
def _locked(request: HttpRequest, exc: LockedError) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": "LOCKED", "message": str(exc)}}, status=423
    )


@api.exception_handler(ValidationFailed)
def _invalid(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    return api.create_response(
        request,
        {
            "error": {
                "code": "INVALID",
                "message": "Dữ liệu không hợp lệ; không có gì được ghi",
                "details": exc.errors,
            }
        },
        status=422,
    )


@api.exception_handler(AuthError)
def _auth(request: HttpRequest, exc: AuthError) -> HttpResponse:
    response = api.create_response(
        request, {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
    )
    if exc.status == 401:
        response["WWW-Authenticate"] = f'Bearer error="{exc.code}"'
    return response


@api.exception_handler(ReceiveError)
def _receive(request: HttpRequest, exc: ReceiveError) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": exc.code, "message": exc.message}}, status=exc.status
    )


@api.exception_handler(BlobError)
def _stored_file(request: HttpRequest, exc: BlobError) -> HttpResponse:
    log.error("%s %s: %s", request.method, request.path, exc)
    return api.create_response(
        request, {"error": {"code": exc.code, "message": exc.message}}, status=500
    )


api.add_router("/", students_router)
api.add_router("/", gradebook_router)
api.add_router("/", records_router)
api.add_router("/warehouse", warehouse_router)
api.add_router("/", verification_router)  # answers only where HOCBA_WAREHOUSE=1
