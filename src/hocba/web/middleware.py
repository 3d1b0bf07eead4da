"""Vietnamese first: the page language is Vietnamese unless the user chose another one.

Django's LocaleMiddleware follows the browser's Accept-Language, and many school computers run
an English browser; a Vietnamese teacher should still get Vietnamese pages. The language switch
(a cookie set by /i18n/setlang/) is the only way to English.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen not in dict(settings.LANGUAGES):
            chosen = settings.LANGUAGE_CODE
        translation.activate(chosen)
        request.LANGUAGE_CODE = translation.get_language()
