"""The student's (and parent's) own pages, and what a share link opens.

`/my/`: the records of the students the signed-in user is linked to, with PDF and XML downloads
(logged) and share links (create with a recipient and an expiry, revoke). `/chia-se/<token>/`:
for the recipient, without an account, while the link is valid: the version in force, its
verification verdict and its PDF (every opening logged).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hocba.audit.services import record_event
from hocba.documents.models import Document
from hocba.documents.services import read_pdf
from hocba.family import services
from hocba.family.models import ShareLink, StudentAccess
from hocba.records.models import ExternalRecord, RecordVersion, State
from hocba.records.services import read_external_xml, read_xml
from hocba.verification import services as verification

SHOWN = (State.ISSUED, State.SUPERSEDED, State.REVOKED)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if not StudentAccess.objects.filter(user=request.user).exists():
        raise PermissionDenied(_("This account is not linked to any student"))
    rows = []
    for record in services.own_records(request.user).order_by("-school_year__name"):
        versions = list(record.versions.filter(state__in=SHOWN).order_by("-version"))
        links = list(record.share_links.filter(created_by=request.user))
        rows.append((record, versions, links))
    externals = services.own_external_records(request.user).order_by("school_year", "version")
    return render(
        request,
        "family/home.html",
        {"rows": rows, "externals": externals, "max_days": services.MAX_DAYS},
    )


def _version(request: HttpRequest, record_id: str, version: int) -> RecordVersion:
    record = services.own_record(request.user, record_id)
    return get_object_or_404(RecordVersion, record=record, version=version, state__in=SHOWN)


@login_required
def download(request: HttpRequest, record_id: str, version: int, kind: str) -> HttpResponse:
    found = _version(request, record_id, version)
    if kind == "pdf":
        document = Document.objects.filter(version=found).first()
        if document is None:
            raise Http404
        content, mime = read_pdf(document), "application/pdf"
    else:
        content, mime = read_xml(found), "application/xml"
    with transaction.atomic():
        record_event(request.user, "family.download", found, new={"format": kind}, request=request)
    response = HttpResponse(content, content_type=mime)
    name = f"hoc-ba-{found.record.record_id}-v{found.version}.{kind}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def external_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The exact bytes of a record another system issued to the user (or their child)."""
    found = get_object_or_404(ExternalRecord, pk=pk)
    if not services.own_external_records(request.user).filter(pk=found.pk).exists():
        raise PermissionDenied(_("This is not your record or your child's"))
    with transaction.atomic():
        record_event(request.user, "family.download", found, new={"format": "xml"},
                     request=request)  # fmt: skip
    response = HttpResponse(read_external_xml(found), content_type="application/xml")
    name = f"hoc-ba-{found.record_id}-v{found.version}.xml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def share(request: HttpRequest, record_id: str) -> HttpResponse:
    record = services.own_record(request.user, record_id)
    days = request.POST.get("days", "")
    try:
        token, link = services.create_link(
            request.user,
            record,
            request.POST.get("recipient", ""),
            int(days) if days.isdigit() else 0,
            request,
        )
    except services.ShareError as error:
        messages.error(request, str(error))
        return redirect("family-home")
    url = request.build_absolute_uri(reverse("family-shared", args=[token]))
    messages.success(
        request,
        _(
            "Link for %(recipient)s (expires %(date)s): %(url)s — copy it now, the link is "
            "shown only once."
        )
        % {"recipient": link.recipient, "date": f"{link.expires_at:%d/%m/%Y}", "url": url},
    )
    return redirect("family-home")


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(ShareLink, pk=pk)
    if link.created_by_id != request.user.pk:
        raise PermissionDenied(_("You did not create this link"))
    services.revoke_link(request.user, link, request)
    messages.success(request, _("Link for %(recipient)s revoked.") % {"recipient": link.recipient})
    return redirect("family-home")


def _opened(request: HttpRequest, token: str) -> tuple[ShareLink | None, HttpResponse | None]:
    try:
        link = services.open_link(token, request)
    except services.ShareError as error:
        return None, render(request, "family/link_closed.html", {"reason": str(error)}, status=410)
    if link is None:
        return None, render(request, "verification/not_found.html", status=404)
    return link, None


def shared(request: HttpRequest, token: str) -> HttpResponse:
    link, refused = _opened(request, token)
    if refused is not None:
        return refused
    assert link is not None
    current = link.record.versions.filter(state__in=SHOWN).order_by("-version").first()
    if current is None:
        raise Http404
    result = verification.lookup(
        str(link.record.record_id), current.version, verification.short_code(current)
    )
    assert result is not None
    return render(
        request,
        "family/shared.html",
        {
            "link": link,
            "version": current,
            "verdict": result.verdict,
            "verdict_text": verification.verdict_word(result.verdict),
            "summary": verification.public_summary(result),
            "has_pdf": Document.objects.filter(version=current).exists(),
            "token": token,
        },
    )


def shared_pdf(request: HttpRequest, token: str) -> HttpResponse:
    link, refused = _opened(request, token)
    if refused is not None:
        return refused
    assert link is not None
    current = link.record.versions.filter(state__in=SHOWN).order_by("-version").first()
    document = Document.objects.filter(version=current).first() if current else None
    if document is None:
        raise Http404
    response = HttpResponse(read_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="hoc-ba-v{document.version.version}.pdf"'
    return response
