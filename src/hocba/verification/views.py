"""The public verification portal (no sign-in): by the QR address, by record id and check code,
or by uploading the XML or the PDF. Rate-limited per address; shows the minimum personal data."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from hocba import ratelimit
from hocba.formats.report import Verdict
from hocba.verification import services
from hocba.verification.fastpath import KEY_HEADER, UNTIL_HEADER, page_key


def uploads_per_minute() -> int:
    return max(1, settings.VERIFY_LOOKUPS_PER_MINUTE // 6)


def _limited(request: HttpRequest) -> HttpResponse:
    response = render(request, "verification/limited.html", status=429)
    response["Retry-After"] = "60"
    return response


def _result(request: HttpRequest, result: services.Result, uploaded: bool = False) -> HttpResponse:
    current = result.current
    current_url = (
        reverse("verify-lookup", args=[current.record.record_id, current.version])
        + f"?h={services.short_code(current)}"
        if current is not None
        else None
    )
    return render(
        request,
        "verification/result.html",
        {
            "verdict": result.verdict,
            "verdict_text": services.verdict_word(result.verdict),
            "explain": services.verdict_explanation(result.verdict),
            "summary": services.public_summary(result),
            "checks": services.explained(result.report),
            "current_url": current_url,
            "uploaded": uploaded,
        },
    )


@require_http_methods(["GET", "POST"])
def portal(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        if not ratelimit.allow(request, "upload", uploads_per_minute()):
            return _limited(request)
        upload = request.FILES.get("file")
        if upload is None or upload.size == 0:
            return render(
                request,
                "verification/portal.html",
                {"error": _("Choose a record file (XML) or a rendered view (PDF).")},
                status=400,
            )
        if upload.size > services.MAX_UPLOAD:
            return render(
                request,
                "verification/portal.html",
                {"error": _("The file is too large (at most 8 MB).")},
                status=413,
            )
        result = services.check_file(upload.read())
        response = _result(request, result, uploaded=True)
        if result.verdict is Verdict.MALFORMED:  # the page says why the file cannot be used
            response.status_code = 422
        return response
    record_id = request.GET.get("id", "").strip()
    if record_id:
        version = request.GET.get("v", "1").strip()
        code = request.GET.get("code", "").strip().lower()
        if version.isdigit():
            url = reverse("verify-lookup", args=[record_id, int(version)])
            return redirect(f"{url}?h={code}")
    return render(request, "verification/portal.html", {"verify_url": settings.VERIFY_URL})


def lookup(request: HttpRequest, record_id: str, version: int) -> HttpResponse:
    """The page of one record version. It carries no per-visitor token, so the WSGI fast path
    (fastpath.py) may keep it under a key that includes the record's latest version on this
    system (a correction or a revocation of the record shows at once, on every process), until
    its report expires (a revoked certificate shows within HOCBA_REVOCATION_REFRESH)."""
    if not ratelimit.allow(request, "lookup", settings.VERIFY_LOOKUPS_PER_MINUTE):
        return _limited(request)
    code = request.GET.get("h", "").strip().lower()
    stamp = services.stamp(record_id)
    if stamp is None:
        return render(request, "verification/not_found.html", status=404)
    result = services.lookup(record_id, version, code)
    if result is None:
        return render(request, "verification/not_found.html", status=404)
    response = _result(request, result)
    response["Cache-Control"] = "no-cache"
    response[KEY_HEADER] = page_key(record_id, version, code, stamp, get_language())  # fastpath.py
    response[UNTIL_HEADER] = f"{result.keep_until:.3f}"
    return response
