"""Pages for the printable views: download a version's sealed PDF; draw and seal a whole class
as a background task (`hocba worker`) and watch its progress; download the batch's ZIP and
merged PDFs.

Reading a PDF needs the right to read the record; starting a batch and downloading its files
need the right to seal for the school (principal, seal keeper).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hocba.documents.models import Document, RenderJob
from hocba.documents.services import read_pdf, start_render
from hocba.organizations.models import ClassGroup
from hocba.organizations.permissions import Permission, can
from hocba.records.models import RecordVersion
from hocba.records.services import visible_record


@login_required
def version_pdf(request: HttpRequest, record_id: str, version: int) -> HttpResponse:
    record = visible_record(request.user, record_id)
    found = get_object_or_404(RecordVersion, record=record, version=version)
    document = Document.objects.filter(version=found).first()
    if document is None:
        raise Http404("Phiên bản này chưa có bản thể hiện PDF")
    response = HttpResponse(read_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{record.record_id}-v{version}.pdf"'
    return response


@login_required
@require_POST
def render_class(request: HttpRequest, pk: int) -> HttpResponse:
    class_group = get_object_or_404(ClassGroup.objects.select_related("school"), pk=pk)
    if not can(request.user, Permission.SIGN_SEAL, class_group.school):
        raise PermissionDenied
    batch = start_render(request.user, class_group.school, class_group)
    return redirect("documents-job", pk=batch.pk)


def _job(request: HttpRequest, pk: int) -> RenderJob:
    job = get_object_or_404(
        RenderJob.objects.select_related("school", "class_group", "progress"), pk=pk
    )
    if not can(request.user, Permission.SIGN_SEAL, job.school):
        raise PermissionDenied
    return job


@login_required
def job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    template = (
        "documents/_progress.html" if request.headers.get("HX-Request") else "documents/job.html"
    )
    return render(request, template, {"job": job})


@login_required
def job_file(request: HttpRequest, pk: int, kind: str, name: str = "") -> FileResponse:
    job = _job(request, pk)
    path = job.outputs.get("zip") if kind == "zip" else job.outputs.get("merged", {}).get(name)
    if not path or not default_storage.exists(path):
        raise Http404
    filename = path.rsplit("/", 1)[-1]
    return FileResponse(default_storage.open(path, "rb"), as_attachment=True, filename=filename)
