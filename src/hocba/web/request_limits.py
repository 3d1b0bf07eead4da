"""Request bodies within the limits of `hocba.limits`, refused before they are read.

Every request that carries a body is measured by its declared length (`Content-Length`) against
the limit of the route it is addressed to, before anything reads it: above the limit it is
answered 413 at once, with the API's JSON error under /api/ (and for JSON calls) and a
Vietnamese page elsewhere. A body that does not declare its length (`Transfer-Encoding:
chunked`) is answered 411: the application server would hand Django nothing of it, so it could
otherwise be neither measured nor read.

The routes with their own limit are named in `ROUTES` (by URL name); every other route has
`limits.REQUEST_BODY_BYTES`. Django's own ceiling (DATA_UPLOAD_MAX_MEMORY_SIZE) is set to
`limits.LARGEST_REQUEST_BODY_BYTES`, above every route's limit, so Django never answers its HTML
400 first. The answer is given without reading the body; the server closes the connection
gracefully, discarding the first 64 KiB of what the client still sends (docs/limits.md says what
a client sending far more may see).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hocba import limits


def megabytes(size: int) -> str:
    """`size` in MB as a Vietnamese reader writes it (8 MB, 2,5 MB)."""
    value = f"{size / limits.MiB:.1f}".removesuffix(".0")
    return f"{value.replace('.', ',')} MB"


@dataclass(frozen=True)
class BodyLimit:
    """The limit on one route's request body and what a client passing it is told."""

    size: int
    """Bytes of the request body, as declared by Content-Length."""
    code: str
    """The stable code of the JSON error."""
    message: str
    """The JSON error's message (Vietnamese); `{size}` is the limit in MB."""
    page: Promise
    """The page's sentence (translated); `%(size)s` is the limit in MB."""
    allowed: int = 0
    """What the person is told is allowed (a file's own limit, below the form around it)."""

    @property
    def shown(self) -> str:
        return megabytes(self.allowed or self.size)


ROUTES: dict[str, BodyLimit] = {
    "api:submit": BodyLimit(
        limits.PACKAGE_BYTES,
        "PACKAGE_TOO_LARGE",
        "Gói tin quá lớn (tối đa {size}); hãy chia thành các gói nhỏ hơn",
        _("The package is too large (at most %(size)s)."),
    ),
    "api:verify_upload": BodyLimit(
        limits.VERIFY_UPLOAD_BYTES,
        "TOO_LARGE",
        "Tệp quá lớn (tối đa {size})",
        _("The file is too large (at most %(size)s)."),
    ),
    "verify": BodyLimit(
        limits.VERIFY_UPLOAD_BYTES + limits.FORM_OVERHEAD_BYTES,
        "TOO_LARGE",
        "Tệp quá lớn (tối đa {size})",
        _("The file is too large (at most %(size)s)."),
        allowed=limits.VERIFY_UPLOAD_BYTES,
    ),
    "gradebook-import": BodyLimit(
        limits.SPREADSHEET_UPLOAD_BYTES + limits.FORM_OVERHEAD_BYTES,
        "SPREADSHEET_TOO_LARGE",
        "Tệp Excel quá lớn (tối đa {size})",
        _("The spreadsheet is too large (at most %(size)s)."),
        allowed=limits.SPREADSHEET_UPLOAD_BYTES,
    ),
    "external-import": BodyLimit(
        limits.EXTERNAL_UPLOAD_BYTES + limits.FORM_OVERHEAD_BYTES,
        "TOO_LARGE",
        "Tệp quá lớn (tối đa {size})",
        _("The files are too large (at most %(size)s)."),
        allowed=limits.EXTERNAL_UPLOAD_BYTES,
    ),
    "imports-school": BodyLimit(
        limits.SPREADSHEET_UPLOAD_BYTES + limits.FORM_OVERHEAD_BYTES,
        "SPREADSHEET_TOO_LARGE",
        "Tệp quá lớn (tối đa {size})",
        _("The spreadsheet is too large (at most %(size)s)."),
        allowed=limits.SPREADSHEET_UPLOAD_BYTES,
    ),
}
"""Routes (by URL name) whose bodies may be larger than the default."""

DEFAULT = BodyLimit(
    limits.REQUEST_BODY_BYTES,
    "REQUEST_TOO_LARGE",
    "Dữ liệu gửi lên quá lớn (tối đa {size})",
    _("What you sent is too large (at most %(size)s)."),
)


def limit_for(request: HttpRequest) -> BodyLimit:
    """The body limit of the route `request` is addressed to."""
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return DEFAULT
    return ROUTES.get(match.view_name, DEFAULT)


def _wants_json(request: HttpRequest) -> bool:
    return (
        request.path_info.startswith("/api/")
        or request.META.get("CONTENT_TYPE", "").startswith("application/json")
        or "application/json" in request.META.get("HTTP_ACCEPT", "")
    )


def _refuse(request: HttpRequest, status: int, code: str, message: str, page: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": {"code": code, "message": message}}, status=status)
    return render(request, "web/too_large.html", {"sentence": page}, status=status)


class RequestBodyLimitMiddleware:
    """Placed before anything that reads a body (CSRF reads forms): see the module docstring."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.refusal(request)
        return refusal if refusal is not None else self.get_response(request)

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        meta = request.META
        if meta.get("HTTP_TRANSFER_ENCODING"):
            return _refuse(
                request,
                411,
                "LENGTH_REQUIRED",
                "Yêu cầu phải khai báo độ dài (Content-Length); không nhận dữ liệu gửi theo khối",
                str(_("What you sent did not state its length; send it again from the form.")),
            )
        declared = meta.get("CONTENT_LENGTH") or "0"
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            return _refuse(
                request,
                400,
                "BAD_CONTENT_LENGTH",
                "Độ dài khai báo (Content-Length) không hợp lệ",
                str(_("What you sent did not state its length; send it again from the form.")),
            )
        if length == 0:
            return None
        limit = limit_for(request)
        if length <= limit.size:
            return None
        return _refuse(
            request,
            413,
            limit.code,
            limit.message.format(size=limit.shown),
            str(limit.page) % {"size": limit.shown},
        )
