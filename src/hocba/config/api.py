"""The HTTP API under /api/v1/ (OpenAPI at /api/v1/openapi.json)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.security import django_auth

from hocba.students.api import router as students_router

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
        {"error": {"code": "FORBIDDEN", "message": "Bạn không có quyền truy cập dữ liệu này"}},
        status=403,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": "NOT_FOUND", "message": "Không tìm thấy"}},
        status=404,
    )


api.add_router("/", students_router)
