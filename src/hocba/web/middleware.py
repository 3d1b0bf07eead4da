"""Page-wide behaviour: the page language, and the page for a stored file that is refused.

Vietnamese first: the page language is Vietnamese unless the user chose another one.

Django's LocaleMiddleware follows the browser's Accept-Language, and many school computers run
an English browser; a Vietnamese teacher should still get Vietnamese pages. The language switch
(a cookie set by /i18n/setlang/) is the only way to English.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import translation

from hocba.blobs import BlobError

log = logging.getLogger(__name__)


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in dict(settings.LANGUAGES):
            chosen = settings.LANGUAGE_CODE
        translation.activate(chosen)
        request.LANGUAGE_CODE = translation.get_language()


class StoredFileErrorMiddleware:
    """A stored file (record XML, PDF view, package) that is gone or no longer matches its hash
    is never handed on: the page says so in plain words, with the code, instead of a bare
    server error. (The API answers `{"error": {"code", "message"}}`, `hocba.config.api`.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        if not isinstance(error, BlobError):
            return None
        log.error("%s %s: %s", request.method, request.path, error)
        context = {"code": error.code, "message": error.message}
        return render(request, "web/stored_file_error.html", context, status=500)
