"""Pages for sending records upward: a school's outbox (sent / accepted / rejected with the
reasons, resend; why sending waits and what to do about it). The statistics page is the
warehouse's (`hocba.warehouse.views`).

The outbox shows students' names and lets records be sent again: only who seals for the school
(principal, seal keeper).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from hocba.exchange import services
from hocba.exchange.models import OutboxItem, OutgoingPackage, SenderState
from hocba.organizations.models import School
from hocba.organizations.permissions import Permission, can
from hocba.records.models import Record

STATES = [s.value for s in OutboxItem.State]

WHAT_TO_DO = {
    "NO_CREDENTIAL": gettext_lazy(
        "Enter the school's warehouse account (client id and secret given by the Sở): "
        "hocba exchange credential SCHOOL_CODE CLIENT_ID."
    ),
    "invalid_client": gettext_lazy(
        "The warehouse does not know this account or its secret: check the client id and "
        "secret given by the Sở (hocba exchange credential), or ask the Sở whether the account "
        "is still active."
    ),
    "invalid_token": gettext_lazy(
        "The warehouse refused the access token: check the account with the Sở; sending "
        "continues by itself once the account works."
    ),
    "access_denied": gettext_lazy(
        "The warehouse does not accept this account from this server's address: ask the Sở to "
        "add the address to the account's allowed networks."
    ),
    "insufficient_scope": gettext_lazy(
        "The account may not submit packages: ask the Sở to give it the packages:submit scope."
    ),
    "WAREHOUSE_DISABLED": gettext_lazy(
        "The upstream address is not a warehouse: check HOCBA_UPSTREAM_URL (it ends with "
        "/api/v1/warehouse)."
    ),
    "PACKAGE_SIGNER_UNTRUSTED": gettext_lazy(
        "The warehouse does not trust the school's organisation certificate (not issued by a "
        "trusted authority, expired or not yet valid): renew the certificate on the school's "
        "token, or ask the Sở to check its list of trusted authorities."
    ),
    "PACKAGE_SIGNER_REVOKED": gettext_lazy(
        "The school's organisation certificate was revoked: install the new certificate on the "
        "school's token."
    ),
    "PACKAGE_NOT_SEALED_BY_SENDER": gettext_lazy(
        "The tax code (MST) in the school's organisation certificate is not the one registered "
        "for the account at the warehouse: ask the Sở to correct the registered tax code, or "
        "seal with the school's own certificate."
    ),
    "PACKAGE_SENDER_MISMATCH": gettext_lazy(
        "The school code or tax code of this school here differs from the account at the "
        "warehouse: correct the school's details, or ask the Sở to correct the account."
    ),
    "PACKAGE_PROCESSING_FAILED": gettext_lazy(
        "The warehouse could not process the package (a failure on its side, not of the "
        "records): sending goes on by itself, one record at a time and waiting longer each "
        "time, until the warehouse answers. If it lasts, tell the Sở. No record was rejected."
    ),
    "NO_SEAL_KEY": gettext_lazy(
        "The organisation key that seals the packages is not configured: set "
        "HOCBA_SEAL_PKCS11 or HOCBA_SEAL_P12 for a school, HOCBA_UPSTREAM_PKCS11 or "
        "HOCBA_UPSTREAM_P12 for a Sở that forwards (docs/signing.md)."
    ),
}
"""What the person who runs the school's system can do about a pause, by its code."""

WHAT_TO_DO_OTHERWISE = gettext_lazy(
    "The warehouse refused the package as a whole; its message says why. When the cause is "
    "fixed, press Send now; no record was rejected."
)
SEAL_KEY_CODES = frozenset(
    {"TOKEN_NOT_FOUND", "TOKEN_BUSY", "WRONG_PIN", "PIN_LOCKED", "KEY_NOT_FOUND", "NO_KEY",
     "CERT_NOT_FOUND", "KEY_UNSUPPORTED"}
)  # fmt: skip
TOKEN_PROBLEM = gettext_lazy(
    "The school's token or its organisation key could not be used (not connected, or a wrong "
    "PIN): check the token, then press Send now."
)


def what_to_do(code: str) -> str:
    if code in WHAT_TO_DO:
        return str(WHAT_TO_DO[code])
    if code in SEAL_KEY_CODES:
        return str(TOKEN_PROBLEM)
    return str(WHAT_TO_DO_OTHERWISE)


def _school_for_sealing(request: HttpRequest, code: str) -> School:
    school = get_object_or_404(School, code=code)
    if not can(request.user, Permission.SIGN_SEAL, school):
        raise PermissionDenied
    return school


@login_required
def outbox(request: HttpRequest, code: str) -> HttpResponse:
    school = _school_for_sealing(request, code)
    items = OutboxItem.objects.filter(sender_code=school.code).select_related("package")
    counts = dict(items.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))
    state = request.GET.get("state", "")
    shown = items.filter(state=state) if state in STATES else items
    page = Paginator(shown.order_by("-created_at", "-pk"), 50).get_page(request.GET.get("page"))
    names = dict(
        Record.objects.filter(record_id__in=[i.record_id for i in page]).values_list(
            "record_id", "student__full_name"
        )
    )
    rows = [(item, names.get(item.record_id, "")) for item in page]
    sending = SenderState.objects.filter(sender_code=school.code).first()
    in_flight = OutgoingPackage.objects.filter(
        sender_code=school.code, state__in=services.IN_FLIGHT
    ).order_by("created_at", "pk")
    return render(
        request,
        "exchange/outbox.html",
        {
            "school": school,
            "counts": [(s, OutboxItem.State(s).label, counts.get(s, 0)) for s in STATES],
            "state": state,
            "rows": rows,
            "page": page,
            "upstream": settings.UPSTREAM_URL,
            "sending": sending,
            "what_to_do": what_to_do(sending.code) if sending and sending.paused else "",
            "packages": in_flight[:20],
            "learnt_mb": round(sending.package_bytes / 1024 / 1024, 1)
            if sending and sending.package_bytes
            else None,
        },
    )


@login_required
@require_POST
def resend(request: HttpRequest, code: str) -> HttpResponse:
    school = _school_for_sealing(request, code)
    chosen = request.POST.getlist("item")
    items = OutboxItem.objects.filter(sender_code=school.code, state=OutboxItem.State.REJECTED)
    if chosen:
        items = items.filter(pk__in=[int(pk) for pk in chosen if pk.isdigit()])
    done = services.resend(items)
    messages.success(request, _("%(n)d records queued to be sent again.") % {"n": done})
    return redirect("exchange-outbox", code=school.code)


@login_required
@require_POST
def send_now(request: HttpRequest, code: str) -> HttpResponse:
    school = _school_for_sealing(request, code)
    from hocba.exchange.client import InsecureUpstream, upstream_client

    try:
        client = upstream_client()
    except InsecureUpstream as insecure:
        messages.error(request, str(insecure))
        return redirect("exchange-outbox", code=school.code)
    if client is None:
        messages.error(request, _("No upstream warehouse is configured (HOCBA_UPSTREAM_URL)."))
        return redirect("exchange-outbox", code=school.code)
    client.close()
    services.retry_now(school.code)  # someone may have fixed the cause: no waiting
    services.send_now()  # a round for `hocba worker`, not inside this request
    messages.success(
        request,
        _(
            "A round of sending was queued: it starts as soon as a worker is free; this page "
            "shows what it sent and what the warehouse answered."
        ),
    )
    return redirect("exchange-outbox", code=school.code)
