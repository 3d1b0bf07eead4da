"""The principal's import page: upload a file, see its recognised layout (or choose the field of
each column), see the preview, apply it; large files are applied by a background job whose
progress the page shows. Exports of the school's lists in the same layouts."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hocba import limits
from hocba.imports import services
from hocba.imports.kinds import KINDS, ImportKind
from hocba.imports.layouts import FIELDS, layout, layouts_of
from hocba.imports.plan import Action
from hocba.imports.tasks import apply_file
from hocba.jobs.models import Job
from hocba.organizations.models import School, SchoolYear
from hocba.organizations.permissions import Permission, can
from hocba.spreadsheets import to_bytes

_DIGEST = re.compile(r"[0-9a-f]{64}")
SHOWN_ITEMS = 500
"""Items of each action listed on the preview page (the counts are always whole)."""


def _school(request: HttpRequest, code: str, permission: Permission) -> School:
    school = get_object_or_404(School, code=code)
    if not can(request.user, permission, school):
        raise PermissionDenied
    return school


def _kind(request: HttpRequest, school: School) -> ImportKind:
    kind = KINDS.get(request.POST.get("kind", "") or request.GET.get("kind", ""))
    if kind is None:
        raise Http404
    if not can(request.user, kind.permission, school):
        raise PermissionDenied
    return kind


def _year(request: HttpRequest) -> SchoolYear:
    name = request.POST.get("year") or request.GET.get("year") or ""
    year = SchoolYear.objects.filter(name=name).first() or SchoolYear.objects.first()
    if year is None:
        raise Http404
    return year


def _stored(content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    if not default_storage.exists(f"imports/{digest}"):
        default_storage.save(f"imports/{digest}", ContentFile(content))
    return digest


def _content(digest: str) -> bytes:
    if not _DIGEST.fullmatch(digest) or not default_storage.exists(f"imports/{digest}"):
        raise Http404
    with default_storage.open(f"imports/{digest}", "rb") as stored:
        return bytes(stored.read())


def _mapping(request: HttpRequest) -> dict[str, str]:
    return {
        request.POST[key]: request.POST.get(f"field-{key[8:]}", "")
        for key in request.POST
        if key.startswith("heading-") and request.POST.get(f"field-{key[8:]}")
    }


def _page(request: HttpRequest, school: School, **context: Any) -> HttpResponse:
    kinds = [kind for kind in KINDS.values() if can(request.user, kind.permission, school)]
    return render(request, "imports/school.html", {
        "school": school, "kinds": kinds, "years": SchoolYear.objects.all(),
        "exports": [(kind, layouts_of(kind.name)) for kind in kinds if kind.name != "assignments"],
        "upload_limit": limits.SPREADSHEET_UPLOAD_BYTES // limits.MiB, **context,
    })  # fmt: skip


@login_required
def school_page(request: HttpRequest, code: str) -> HttpResponse:
    """GET: the upload form; POST: the uploaded file's preview (or the mapping step)."""
    school = _school(request, code, Permission.STUDENT_WRITE)
    if request.method != "POST":
        return _page(request, school)
    kind, year = _kind(request, school), _year(request)
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a file to import."))
        return _page(request, school)
    if upload.size and upload.size > limits.SPREADSHEET_UPLOAD_BYTES:
        messages.error(request, _("The file is too large."))
        return _page(request, school)
    return _preview(request, school, year, kind, _stored(upload.read()), {})


@login_required
@require_POST
def preview_page(request: HttpRequest, code: str) -> HttpResponse:
    """The preview of a file already uploaded, read through the columns' chosen fields."""
    school = _school(request, code, Permission.STUDENT_WRITE)
    kind, year = _kind(request, school), _year(request)
    headings = tuple(
        request.POST[key] for key in sorted(request.POST, key=_column) if key.startswith("heading-")
    )
    return _preview(
        request, school, year, kind, request.POST.get("digest", ""), _mapping(request), headings
    )


def _column(key: str) -> int:
    number = key.rpartition("-")[2]
    return int(number) if number.isdigit() else 0


def _preview(
    request: HttpRequest, school: School, year: SchoolYear, kind: ImportKind, digest: str,
    mapping: dict[str, str], headings: tuple[str, ...] = (),
) -> HttpResponse:  # fmt: skip
    content = _content(digest)
    try:
        seen = services.preview(request.user, school, year, kind.name, content, mapping or None)
    except services.ImportRefused as refused:
        if refused.code in ("LAYOUT_UNKNOWN", "MAPPING_INCOMPLETE", "MAPPING_NOT_FOUND"):
            headings = refused.headings or headings or tuple(mapping)
            return render(request, "imports/mapping.html", {
                "school": school, "year": year, "kind": kind, "digest": digest,
                "message": refused.message, "fields": FIELDS[kind.name],
                "headings": [(n, h, mapping.get(h, "")) for n, h in enumerate(headings) if h],
            })  # fmt: skip
        messages.error(request, refused.message)
        return _page(request, school)
    plan = seen.plan
    groups = [
        (action, [item for item in plan.items if item.action == action][:SHOWN_ITEMS],
         plan.count(action))
        for action in Action
    ]  # fmt: skip
    return render(request, "imports/preview.html", {
        "school": school, "year": year, "kind": kind, "seen": seen, "plan": plan,
        "groups": groups, "digest": digest, "mapping": sorted(mapping.items()),
        "problems": [problem.message() for problem in plan.problems],
        "background": seen.rows > services.BACKGROUND_ROWS,
    })  # fmt: skip


@login_required
@require_POST
def apply_page(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code, Permission.STUDENT_WRITE)
    kind, year = _kind(request, school), _year(request)
    digest = request.POST.get("digest", "")
    content = _content(digest)
    mapping = {
        key[4:]: value for key, value in request.POST.items() if key.startswith("map:") and value
    }
    fingerprint = request.POST.get("fingerprint", "")
    if request.POST.get("background"):
        job = services.start_apply(
            request.user, school, year, kind.name, content, mapping, fingerprint
        )
        return redirect("imports-job", code=school.code, pk=job.pk)
    try:
        done = services.apply_import(
            request.user, school, year, kind.name, content, mapping or None, fingerprint,
            request=request,
        )  # fmt: skip
    except services.ImportRefused as refused:
        messages.error(request, refused.message)
        for problem in refused.problems[:50]:
            messages.error(request, problem.message())
        return redirect("imports-school", code=school.code)
    plan = done.plan
    messages.success(request, _("Imported: %(created)s created, %(changed)s changed, "
                                "%(unchanged)s unchanged.") % {
        "created": plan.count(Action.CREATE), "changed": plan.count(Action.CHANGE),
        "unchanged": plan.count(Action.UNCHANGED),
    })  # fmt: skip
    return redirect("imports-school", code=school.code)


@login_required
def job_page(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    school = _school(request, code, Permission.STUDENT_WRITE)
    job = get_object_or_404(Job, pk=pk, kind=apply_file.module_path)
    if job.arguments.get("school") != school.code:
        raise Http404
    kind = KINDS.get(job.arguments.get("kind", ""))
    if kind is None or not can(request.user, kind.permission, school):
        raise PermissionDenied
    template = "imports/_progress.html" if request.headers.get("HX-Request") else "imports/job.html"
    return render(request, template, {"school": school, "job": job, "kind": kind})


@login_required
def export_page(request: HttpRequest, code: str, kind: str) -> HttpResponse:
    school = _school(request, code, Permission.STUDENT_WRITE if kind == "students"
                     else Permission.STAFF_WRITE)  # fmt: skip
    if kind not in KINDS:
        raise Http404
    try:
        chosen = layout(request.GET.get("layout", f"hocba-{kind}"))
    except KeyError:
        raise Http404 from None
    if chosen.kind != kind:
        raise Http404
    book = services.export_list(request.user, school, _year(request), kind, chosen)
    if book is None:
        raise Http404
    response = HttpResponse(
        to_bytes(book),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{school.code}-{chosen.key}.xlsx"'
    return response
