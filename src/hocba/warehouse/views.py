"""The statistics page with its chart (at /exchange/stats/): counts per country, province,
district and school, for anyone who may read the schools they cover (Sở and Ministry officers see
their province or the country). On a warehouse they are what arrived (`stats.warehouse_rows`);
on a school instance, the grade book, the records and the outbox (`stats.school_rows`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from hocba.organizations.models import School
from hocba.organizations.permissions import Permission, scoped
from hocba.warehouse import stats

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
        "warehouse/stats.html",
        {
            "rows": rows,
            "bars": bars,
            "height": 20 + 46 * len(schools),
            "width": CHART_WIDTH,
            "year": year or "",
            "side": "warehouse" if settings.WAREHOUSE_ENABLED else "school",
        },
    )
