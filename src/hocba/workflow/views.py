"""Staff signing pages: what waits for my signature, and signing it from the browser.

With a USB token the page talks to the local signer agent (`hocba signer-agent`) on the user's
own computer: the server prepares the digests and says what they are (prepare), the page hands
them to the agent, the teacher confirms and types the PIN in the agent's own window (never on
this site), and the page brings the values back (complete, in chunks, with a progress bar).
With a remote signing service (CSC API v2) the server signs after the PIN and OTP. Every step
checks the user's role and scope again (`hocba.signing.services`).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from hocba.signing.services import SigningRefused, sign_records
from hocba.signing.signers import SignerError
from hocba.workflow import services
from hocba.workflow.models import SigningSession


def _defaults(request: HttpRequest, group: services.Group) -> dict[str, str]:
    """What the development tokens are called (a real token's labels are typed by the user)."""
    if not settings.DEV_PKI:
        return {"token": "", "key": ""}
    from hocba.signing.dev.tokens import org_label, token_label

    staff = request.user.staff  # type: ignore[union-attr]
    version = group.versions[0] if group.versions else None
    school = version.record.school if version else staff.school
    if school is None:
        return {"token": "", "key": ""}
    key = org_label(school) if group.slot == "KY_PHAT_HANH" else staff.personal_id
    return {"token": token_label(school), "key": key}


@login_required
def to_sign(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "staff", None) is None:
        raise PermissionDenied(_("Only the school's staff and teachers sign records"))
    groups = services.waiting_for(request.user)
    response = render(
        request,
        "workflow/to_sign.html",
        {
            "groups": [(g, _defaults(request, g)) for g in groups],
            "agent_url": settings.SIGNER_AGENT_URL,
            "csc": bool(settings.CSC_URL),
        },
    )
    # The page opens the signer agent's confirmation window and must keep it as its own window
    # (to see it closed, and close it when the values are back); "same-origin" would cut it off.
    response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
    return response


def _json(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(code: str, message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


@login_required
@require_POST
def prepare(request: HttpRequest) -> JsonResponse:
    body = _json(request)
    group = services.group_of(request.user, str(body.get("group", "")))
    if group is None and str(body.get("group", "")) in services.group_keys(request.user):
        return _error("NOTHING_TO_SIGN", "Không có học bạ nào chờ thầy/cô ký ở mục này", 404)
    if group is None:
        return _error("NOT_YOUR_GROUP", "Mục ký này không thuộc về thầy/cô", 403)
    try:
        der = base64.b64decode(str(body.get("certificate", "")), validate=True)
        session, digests = services.start(request.user, group, der)
    except (binascii.Error, ValueError):
        return _error("BAD_CERTIFICATE", "Không đọc được chứng thư số từ thiết bị ký")
    except SigningRefused as refused:
        return _error(refused.code, refused.message)
    return JsonResponse(
        {
            "session": str(session.id),
            "digests": digests,
            "total": len(session.digests),
            "failed": session.failed,
            "batch": _about(group, session),
        }
    )


def _about(group: services.Group, session: SigningSession) -> dict[str, Any]:
    """What the batch signs, for the signer agent's confirmation page (the teacher reads it there
    before typing the PIN): the step, the school, the classes, the subject, and one line per
    signature, in the order of the digests. The agent signs exactly as many digests as there are
    lines; a group is one step (and one subject for a subject teacher), so each record prepared
    has one signature and one line."""
    from hocba.gradebook.models import ClassSubject

    by_pk = {v.pk: v for v in group.versions}
    versions = [by_pk[int(pk)] for pk, values in session.digests.items() for _value in values]
    classes = sorted({v.record.class_group.name for v in versions})
    subject = ""
    if group.subject_code and versions:
        book = ClassSubject.objects.filter(
            class_group_id=versions[0].record.class_group_id, subject_code=group.subject_code
        ).first()
        subject = book.name if book is not None else group.subject_code
    return {
        "step": group.slot,
        "school": versions[0].record.school.name if versions else "",
        "classes": classes,
        "subject": subject,
        "records": [
            f"{v.record.student.full_name} — {v.record.class_group.name}"
            + (f" ({_('version %(version)s') % {'version': v.version}})" if v.version > 1 else "")
            for v in versions
        ],
    }


@login_required
@require_POST
def complete(request: HttpRequest) -> JsonResponse:
    body = _json(request)
    if getattr(request.user, "staff", None) is None:
        return _error("NOT_STAFF", "Chỉ cán bộ, giáo viên của trường mới ký học bạ", 403)
    session = SigningSession.objects.filter(
        pk=str(body.get("session", "")) if _is_uuid(body.get("session")) else None
    ).first()
    if session is None:
        return _error("NO_SESSION", "Không tìm thấy phiên ký", 404)
    if session.user_id != request.user.pk:
        return _error("NOT_YOUR_SESSION", "Phiên ký này không phải của thầy/cô", 403)
    values = body.get("values")
    if not isinstance(values, dict):
        return _error("BAD_VALUES", "Thiếu giá trị chữ ký")
    total = len(session.digests)
    was_finished = len(session.done) >= total
    try:
        session = services.complete(session, {str(k): str(v) for k, v in values.items()}, request)
    except (ValueError, binascii.Error) as error:
        return _error("SESSION_EXPIRED", str(error))
    except SignerError as error:
        return _error(error.code, error.message)
    except SigningRefused as refused:
        return _error(refused.code, refused.message)
    if not was_finished and len(session.done) >= total:
        _drawing(request, services.draw_issued(request.user, services.issued_by(session)))
    return JsonResponse(
        {
            "done": len(session.done),
            "total": total,
            "signed": session.signed,
            "failed": session.failed,
            "finished": len(session.done) >= total,
        }
    )


def _drawing(request: HttpRequest, batches: list[Any]) -> None:
    """Say where the views of what was just issued are being drawn (the next page shows it):
    one line, with a link to each class's batch."""
    if not batches:
        return
    links = format_html_join(
        " · ",
        '<a href="{}">{}</a>',
        (
            (
                reverse("documents-job", args=[batch.pk]),
                batch.class_group.name if batch.class_group_id else _("Follow the progress"),
            )
            for batch in batches
        ),
    )
    messages.info(
        request,
        format_html(
            "{} {}: {}",
            _("The PDF views of the records just issued are being drawn and sealed."),
            _("Follow the progress"),
            links,
        ),
    )


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


@login_required
@require_POST
def csc_sign(request: HttpRequest) -> HttpResponse:
    """Remote signing: the server asks the CSC service, with the user's PIN and OTP, for the
    whole group under one authorisation."""
    from hocba.signing.signers import CscSigner

    if not settings.CSC_URL:
        raise Http404
    key = request.POST.get("group", "")
    group = services.group_of(request.user, key)
    if group is None and key in services.group_keys(request.user):
        messages.info(request, _("No record in this group is waiting for your signature"))
        return redirect("workflow-to-sign")
    if group is None:
        raise PermissionDenied(_("This signing group is not yours"))
    try:
        signer = CscSigner(
            settings.CSC_URL,
            request.POST.get("access_token", ""),
            request.POST.get("credential", ""),
            request.POST.get("pin", ""),
            request.POST.get("otp", ""),
        )
    except SignerError as error:
        messages.error(request, f"{error.message} ({error.code})")
        return redirect("workflow-to-sign")
    try:
        report = sign_records(
            request.user, group.versions, group.slot, signer,
            subject_code=group.subject_code or None, request=request,
        )  # fmt: skip
    except (SignerError, SigningRefused) as error:
        messages.error(request, f"{error.message} ({error.code})")
        return redirect("workflow-to-sign")
    finally:
        signer.close()
    _drawing(request, services.draw_issued(request.user, report.issued))
    n = len(report.signed)
    messages.success(
        request, ngettext("Signed %(n)d record.", "Signed %(n)d records.", n) % {"n": n}
    )
    for version, code, message in report.failed[:10]:
        messages.warning(request, f"{version.record.student}: {message} ({code})")
    return redirect("workflow-to-sign")


@login_required
def school_progress(request: HttpRequest, code: str) -> HttpResponse:
    """The principal's dashboard: signing progress per class and step, and over time."""
    from django.shortcuts import get_object_or_404

    from hocba.organizations.models import School, SchoolYear
    from hocba.organizations.permissions import Permission, can

    school = get_object_or_404(School, code=code)
    if not can(request.user, Permission.RECORD_READ, school):
        raise PermissionDenied
    year = SchoolYear.objects.filter(classes__school=school).distinct().first()
    rows = services.school_progress(school, year) if year else []
    days = services.signatures_per_day(school)
    top = max([n for _, n in days] + [1])
    bars = [
        {"day": day, "n": n, "x": 40 + i * 22, "height": round(140 * n / top),
         "y": 160 - round(140 * n / top)}
        for i, (day, n) in enumerate(days)
    ]  # fmt: skip
    totals = {
        key: sum(r[key] for r in rows)
        for key in ("records", "issued", "GVBM", "GVCN", "CBQL", "KY_PHAT_HANH")
    }
    totals["percent"] = (
        round(100 * totals["issued"] / totals["records"]) if totals["records"] else 0
    )
    return render(
        request,
        "workflow/progress.html",
        {
            "school": school,
            "year": year,
            "rows": rows,
            "totals": totals,
            "bars": bars,
            "width": 60 + 22 * len(bars),
            "can_sign": can(request.user, Permission.SIGN_PRINCIPAL, school),
            "outcomes": services.outcomes(school, year) if year else None,
        },
    )


@login_required
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's view as it will print, marked "BẢN XEM TRƯỚC" (not sealed, not stored), for
    whoever may read the record — the homeroom teacher reviews the class before signing."""
    from django.shortcuts import get_object_or_404

    from hocba.documents.render import RenderError
    from hocba.documents.services import renderer
    from hocba.records.models import RecordVersion, State
    from hocba.records.services import read_xml, visible_record

    version = get_object_or_404(
        RecordVersion.objects.select_related("record"),
        pk=pk,
        state__in=(State.DRAFT, State.SIGNING),
    )
    visible_record(request.user, str(version.record.record_id))
    try:
        pdf = renderer().render(read_xml(version))
    except RenderError as error:
        return HttpResponse(error.message, status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="xem-truoc-{version.pk}.pdf"'
    return response
