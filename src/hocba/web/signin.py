"""Sign-in throttling with django-axes: the web login page and the admin's, per account and per
client address, each against its own limit (docs/security.md).

Axes records every failed sign-in in the database (shared by every process) and refuses, before
any password is checked, an account that failed `SIGNIN_FAILURES_PER_ACCOUNT` times (from any
address) or an address that failed `SIGNIN_FAILURES_PER_ADDRESS` times (to any accounts) within
the last `SIGNIN_LOCK_MINUTES`. An address gets the higher limit because a school's teachers
often share one public address. Attempts during a lock are refused without being counted, so a
lock ends `SIGNIN_LOCK_MINUTES` after the last failure that counted.

Axes compares the failures it has recorded with the limit before a password is checked, and
records a failure after: a burst of parallel attempts would all pass the comparison before any
was recorded. Here each attempt is also counted as it arrives, in the shared cache, per account
and per address (`in flight`), until its failure is recorded or it succeeds; the comparison
counts the attempts in flight before this one as failures. However many arrive at once, no
more passwords than the limit are checked.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hocba import ratelimit


def lock_period(request: HttpRequest | None = None) -> dt.timedelta:
    """AXES_COOLOFF_TIME."""
    return dt.timedelta(minutes=settings.SIGNIN_LOCK_MINUTES)


def account_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    """AXES_FAILURE_LIMIT: what axes compares `SignInHandler.get_failures` with."""
    return int(settings.SIGNIN_FAILURES_PER_ACCOUNT)


def _failures(attempts: QuerySet[AccessAttempt]) -> int:
    return int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)


IN_FLIGHT_SECONDS = 60
"""How long an attempt counted in flight may stay counted if neither its failure nor its success
is ever seen (a request that broke off): far longer than a password check takes."""


class SignInHandler(AxesDatabaseHandler):  # type: ignore[misc]
    """Axes' database handler with a limit per account and another per address, counting each
    attempt before it is compared (see the module's docstring)."""

    def is_allowed(self, request: HttpRequest, credentials: Any = None) -> bool:
        username = get_client_username(request, credentials)
        flying = [("signin-address", request.axes_ip_address)]  # type: ignore[attr-defined]
        if username:
            flying.append(("signin-account", username))
        for kind, key in flying:
            ratelimit.count_failure(kind, key, IN_FLIGHT_SECONDS)
        request.hocba_in_flight = flying  # type: ignore[attr-defined]
        allowed = bool(super().is_allowed(request, credentials))
        if not allowed:
            _landed(request)
        return allowed

    def user_login_failed(
        self, sender: Any, credentials: Any, request: HttpRequest | None = None, **kwargs: Any
    ) -> None:
        try:
            super().user_login_failed(sender, credentials, request, **kwargs)
        finally:
            _landed(request)  # recorded by now: no longer in flight

    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        try:
            super().user_logged_in(sender, request, user, **kwargs)
        finally:
            _landed(request)

    def get_failures(self, request: HttpRequest, credentials: Any = None) -> int:
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        address = request.axes_ip_address  # type: ignore[attr-defined]
        by_account = 0
        if username:
            by_account = _failures(recent.filter(username=username))
            by_account += _in_flight(request, "signin-account", username)
        by_address = _failures(recent.filter(ip_address=address))
        by_address += _in_flight(request, "signin-address", address)
        per_account, per_address = account_limit(), max(1, settings.SIGNIN_FAILURES_PER_ADDRESS)
        # axes compares one count with the account's limit: the address's count is scaled so
        # that it reaches that limit exactly when the address reaches its own
        return max(by_account, by_address * per_account // per_address)


def _in_flight(request: HttpRequest, kind: str, key: str) -> int:
    """Attempts under `key` being checked now, other than this request's own."""
    own = 1 if (kind, key) in getattr(request, "hocba_in_flight", ()) else 0
    return max(0, ratelimit.failures(kind, key, IN_FLIGHT_SECONDS) - own)


def _landed(request: HttpRequest | None) -> None:
    """This request's attempt is no longer in flight."""
    for kind, key in getattr(request, "hocba_in_flight", ()):
        ratelimit.forgive_failure(kind, key)
    if request is not None:
        request.hocba_in_flight = []  # type: ignore[attr-defined]


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page again, saying why and for how long (HTTP 429). The
    admin's login gets the same page; its form posts back to the admin."""
    minutes = max(1, math.ceil(settings.SIGNIN_LOCK_MINUTES))
    form = AuthenticationForm(request)
    username = get_client_username(request, credentials) or ""
    response = render(
        request,
        "registration/login.html",
        {"form": form, "locked_minutes": minutes, "username": username,
         "next": request.POST.get("next", "") or request.GET.get("next", "")},
        status=429,
    )  # fmt: skip
    response["Retry-After"] = str(minutes * 60)
    return response
