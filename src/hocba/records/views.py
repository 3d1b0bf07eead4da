"""Record pages: the records of a class with their state, one record with its versions, the
XML of a version; the principal builds drafts, corrects and revokes (a reason is required)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hocba.organizations.models import ClassGroup
from hocba.organizations.permissions import Permission, can, scoped
from hocba.records.hooks import version_files
from hocba.records.models import ExternalRecord, Record, RecordVersion
from hocba.records.services import (
    RecordError,
    build_records,
    correct_record,
    read_xml,
    revoke_record,
    visible_record,
)
from hocba.students.models import Student


@login_required
def class_records(request: HttpRequest, pk: int) -> HttpResponse:
    class_group = get_object_or_404(
        ClassGroup.objects.select_related("school", "school_year"), pk=pk
    )
    if not can(request.user, Permission.RECORD_READ, class_group):
        raise PermissionDenied
    students = scoped(
        request.user,
        Permission.STUDENT_READ,
        Student.objects.filter(enrolments__class_group=class_group),
    ).order_by("full_name")
    records = {
        r.student_id: r
        for r in scoped(
            request.user, Permission.RECORD_READ, Record.objects.filter(class_group=class_group)
        )
    }
    latest = {}
    for v in RecordVersion.objects.filter(record__in=records.values()).order_by("version"):
        latest[v.record_id] = v
    # earlier years issued by another system, imported as they are
    externals: dict[int, list[ExternalRecord]] = {}
    for x in scoped(
        request.user,
        Permission.RECORD_READ,
        ExternalRecord.objects.filter(student__in=students).order_by("school_year", "version"),
    ).distinct():
        externals.setdefault(x.student_id, []).append(x)
    rows = [
        {
            "student": s,
            "record": records.get(s.pk),
            "latest": latest.get(records[s.pk].pk) if s.pk in records else None,
            "externals": externals.get(s.pk, []),
        }
        for s in students
    ]
    return render(
        request,
        "records/class_records.html",
        {
            "class_group": class_group,
            "rows": rows,
            "can_build": can(request.user, Permission.RECORD_BUILD, class_group.school),
            "can_seal": can(request.user, Permission.SIGN_SEAL, class_group.school),
            "can_import": can(request.user, Permission.RECORD_IMPORT, class_group.school),
        },
    )


@login_required
@require_POST
def build_class(request: HttpRequest, pk: int) -> HttpResponse:
    class_group = get_object_or_404(
        ClassGroup.objects.select_related("school", "school_year"), pk=pk
    )
    report = build_records(
        request.user, class_group.school, class_group.school_year, [class_group], request=request
    )
    messages.success(
        request,
        _("%(created)s records drafted, %(updated)s drafts rebuilt, %(refused)s refused.")
        % {
            "created": len(report.created),
            "updated": len(report.updated),
            "refused": len(report.refused),
        },
    )
    for student, reasons in report.refused:
        messages.warning(request, f"{student.full_name}: {'; '.join(reasons)}")
    return redirect("records-class", pk=class_group.pk)


@login_required
def record_detail(request: HttpRequest, record_id: str) -> HttpResponse:
    record = visible_record(request.user, record_id)
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        try:
            if request.POST.get("action") == "correct":
                version = correct_record(request.user, record, reason, request=request)
                messages.success(request, _("Version %(n)s started.") % {"n": version.version})
            elif request.POST.get("action") == "revoke":
                version = revoke_record(request.user, record, reason, request=request)
                messages.success(
                    request, _("Revocation started as version %(n)s.") % {"n": version.version}
                )
        except RecordError as error:
            messages.error(request, str(error))
        return redirect("record", record_id=record.record_id)
    versions = record.versions.select_related("created_by").order_by("-version")
    return render(
        request,
        "records/record.html",
        {
            "record": record,
            "versions": versions,
            # other files of a version (the PDF view), from the apps that draw them
            "files": [(kind, kind.existing(versions)) for kind in version_files.values()],
            "can_correct": can(request.user, Permission.RECORD_CORRECT, record),
            "can_revoke": can(request.user, Permission.RECORD_REVOKE, record),
        },
    )


@login_required
def version_xml(request: HttpRequest, record_id: str, version: int) -> HttpResponse:
    record = visible_record(request.user, record_id)
    found = get_object_or_404(RecordVersion, record=record, version=version)
    response = HttpResponse(read_xml(found), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{record.record_id}-v{version}.xml"'
    return response
