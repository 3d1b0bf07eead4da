"""The principal's page for records issued by another system (upload XML files or a ZIP; the
school's imported records), one imported record with its verification at import, and its exact
bytes. An imported record is never corrected here: that belongs to its issuer."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from hocba import limits
from hocba.external.services import ImportRefused, Incoming, import_external
from hocba.organizations.models import School
from hocba.organizations.permissions import Permission, can
from hocba.records.models import ExternalRecord
from hocba.records.services import read_external_xml
from hocba.verification import services as verification


def _school(request: HttpRequest, code: str) -> School:
    school = get_object_or_404(School, code=code)
    if not can(request.user, Permission.RECORD_IMPORT, school):
        raise PermissionDenied
    return school


@login_required
def school_imports(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code)
    refusals = []
    if request.method == "POST":
        uploads = request.FILES.getlist("files")
        if sum(u.size or 0 for u in uploads) > limits.EXTERNAL_UPLOAD_BYTES:
            messages.error(request, _("The files are too large for one import."))
            return redirect("external-import", code=school.code)
        files = [Incoming(u.name or "", u.read()) for u in uploads]
        try:
            report = import_external(request.user, school, files, request=request)
        except ImportRefused as refused:
            refusals = refused.refusals
        else:
            messages.success(
                request,
                _("%(imported)s records imported, %(unchanged)s already imported before.")
                % {"imported": len(report.imported), "unchanged": len(report.unchanged)},
            )
            return redirect("external-import", code=school.code)
    records = (
        ExternalRecord.objects.filter(school=school)
        .select_related("student")
        .order_by("student__full_name", "school_year", "version")
    )
    return render(
        request,
        "external/school.html",
        {"school": school, "records": records, "refusals": refusals},
        status=422 if refusals else 200,
    )


def _visible(request: HttpRequest, pk: int) -> ExternalRecord:
    record = get_object_or_404(
        ExternalRecord.objects.select_related("student", "school", "imported_by"), pk=pk
    )
    if not can(request.user, Permission.RECORD_READ, record):
        raise PermissionDenied
    return record


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _visible(request, pk)
    if request.method == "POST":
        # a correction or revocation is the issuer's: this system never writes one for it
        messages.error(
            request,
            _(
                "This record was issued by another system (%(school)s): only its issuer can "
                "correct or revoke it."
            )
            % {"school": record.issuer_name},
        )
        return redirect("external-record", pk=record.pk)
    checks = [
        {
            "what": str(verification.CHECKS.get(c["check"], c["check"])),
            "status": c["status"],
            "status_text": str(verification.STATUS.get(c["status"], c["status"])),
            "signer": c.get("signer", ""),
            "message": c.get("message", ""),
        }
        for c in record.report.get("checks", [])
    ]
    return render(request, "external/record.html", {"record": record, "checks": checks})


@login_required
def download(request: HttpRequest, pk: int) -> HttpResponse:
    record = _visible(request, pk)
    response = HttpResponse(read_external_xml(record), content_type="application/xml")
    name = f"hoc-ba-{record.record_id}-v{record.version}.xml"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
