"""Pages for sending records upward: a school's outbox (sent / accepted / rejected with the
reasons, resend), and the statistics page with its chart.

The outbox shows students' names and lets records be sent again: only who seals for the school
(principal, seal keeper). The statistics are counts, for anyone who may read the schools they
cover (Sở and Ministry officers see their province or the country).
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
from django.views.decorators.http import require_POST

from hocba.exchange import services
from hocba.exchange.models import OutboxItem
from hocba.organizations.models import School
from hocba.organizations.permissions import Permission, can, scoped
from hocba.records.models import Record
from hocba.warehouse import stats

STATES = [s.value for s in OutboxItem.State]


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
    from hocba.exchange.client import upstream_client

    client = upstream_client()
    if client is None:
        messages.error(request, _("No upstream warehouse is configured (HOCBA_UPSTREAM_URL)."))
        return redirect("exchange-outbox", code=school.code)
    try:
        result = services.run_once(client)
    finally:
        client.close()
    messages.success(
        request,
        _("Packed %(p)d, submitted %(s)d, answered %(a)d packages.")
        % {"p": result.packed, "s": result.submitted, "a": result.answered},
    )
    for error in result.errors[:5]:
        messages.warning(request, error)
    return redirect("exchange-outbox", code=school.code)


CHART_WIDTH = 640


@login_required
def statistics(request: HttpRequest) -> HttpResponse:
    allowed = set(
        scoped(request.user, Permission.SCHOOL_READ, School.objects.all()).values_list(
            "code", flat=True
        )
    )
    if not allowed:
        raise PermissionDenied
    year = request.GET.get("year") or None
    if settings.WAREHOUSE_ENABLED:
        rows = stats.warehouse_rows(school_year=year, codes=allowed)
    else:
        rows = stats.school_rows(year, codes=allowed)
    names = {
        "MINISTRY": _("Country"),
        "PROVINCE": _("Province"),
        "DISTRICT": _("District"),
        "SCHOOL": _("School"),
    }
    for row in rows:
        row["level_label"] = names[row["level"]]
    schools = [r for r in rows if r["level"] == "SCHOOL"]
    top = max([r["expected"] for r in schools] + [r["issued"] for r in schools] + [1])
    bars = []
    for i, row in enumerate(schools):
        y = 10 + i * 46
        bars.append(
            {
                "row": row,
                "y": y,
                "text_y": y + 12,
                "bars": [
                    (y + 16, round(440 * row[name] / top), colour, label, row[name])
                    for name, colour, label in (
                        ("issued", "#0b5fa5", _("issued")),
                        ("accepted", "#1a7f37", _("accepted")),
                        ("rejected", "#b42318", _("rejected")),
                    )
                ],
            }
        )
    for bar in bars:
        bar["bars"] = [
            {"y": y + n * 8, "width": w, "colour": c, "label": lab, "value": v}
            for n, (y, w, c, lab, v) in enumerate(bar["bars"])
        ]
    return render(
        request,
        "exchange/stats.html",
        {
            "rows": rows,
            "bars": bars,
            "height": 20 + 46 * len(schools),
            "width": CHART_WIDTH,
            "year": year or "",
            "side": "warehouse" if settings.WAREHOUSE_ENABLED else "school",
        },
    )
