"""Grade-book pages: a subject teacher's grade entry (htmx, one cell at a time, or the whole
form without JavaScript), the class summary, the homeroom form, the score distribution chart,
Excel template / import / export, and the principal's locks."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hocba.gradebook import excel
from hocba.gradebook.compute import class_subjects, enrolled_students, students_of_subject
from hocba.gradebook.models import (
    Assessment,
    ClassSubject,
    GradebookLock,
    HomeroomRecord,
    LockedError,
    Term,
    YearResult,
    active_lock,
)
from hocba.gradebook.services import (
    HOMEROOM_FIELDS,
    CellChange,
    ValidationFailed,
    lock_gradebook,
    save_assessments,
    save_homeroom,
    unlock_gradebook,
)
from hocba.gradebook.values import display
from hocba.organizations.models import ClassGroup, School
from hocba.organizations.permissions import Permission, can, scoped
from hocba.rules.catalogue import Level
from hocba.rules.labels import Circular, Outcome, Rating, SubjectLevel
from hocba.rules.outcome import SubjectOutcome, YearOutcome
from hocba.rules.primary import QUALITIES, competencies_for
from hocba.students.models import Student
from hocba.students.services import grades_in

TERMS = {Term.HK1: "Học kì I", Term.HK2: "Học kì II", Term.SUMMER: "Kiểm tra lại (hè)"}


def _class_subject(request: HttpRequest, pk: int) -> ClassSubject:
    cs = get_object_or_404(
        ClassSubject.objects.select_related("class_group__school", "class_group__school_year"),
        pk=pk,
    )
    if not can(request.user, Permission.GRADEBOOK_READ, cs):
        raise PermissionDenied
    return cs


def _columns(cs: ClassSubject, term: str) -> list[tuple[str, str, int]]:
    return [c for c in excel.columns(cs) if c[0] == term]


def _grid(cs: ClassSubject, term: str, students: list[Student]) -> list[dict[str, Any]]:
    cols = _columns(cs, term)
    values = {
        (a.student_id, a.kind, a.seq): display(a.score, a.code)
        for a in Assessment.objects.filter(class_subject=cs, term=term)
    }
    results = {
        r.student_id: r.year_outcome for r in YearResult.objects.filter(class_group=cs.class_group)
    }
    rows = []
    for student in students:
        known = results.get(student.pk)
        subject = (known.subject(cs.subject_code) if known else None) or SubjectOutcome("")
        rows.append(
            {
                "student": student,
                "cells": [
                    {
                        "name": f"c-{student.pk}-{t}-{k}-{s}",
                        "value": values.get((student.pk, k, s), ""),
                    }
                    for t, k, s in cols
                ],
                "term_result": _show(subject, "retake" if term == Term.SUMMER else term.lower()),
                "year": _show(subject, "year"),
            }
        )
    return rows


def _show(subject: SubjectOutcome, period: str) -> str:
    """A subject's result as a teacher writes it ("8,3", "Đ", "M"; primary: its level)."""
    shown = subject.year_shown() if period == "year" else subject.shown(period)
    return (shown or "").replace(".", ",")


def _parse_cell_name(name: str) -> tuple[int, str, str, int] | None:
    parts = name.split("-")
    if len(parts) != 5 or parts[0] != "c" or not parts[1].isdigit() or not parts[4].isdigit():
        return None
    return int(parts[1]), parts[2], parts[3], int(parts[4])


@login_required
def subject_book(request: HttpRequest, pk: int) -> HttpResponse:
    cs = _class_subject(request, pk)
    primary = cs.class_group.level == Level.TH
    terms = [Term.HK1, Term.HK2] if primary else [Term.HK1, Term.HK2, Term.SUMMER]
    term = request.GET.get("term") or request.POST.get("term") or Term.HK1
    if term not in terms:
        term = Term.HK1
    writable = can(request.user, Permission.ASSESSMENT_WRITE, cs)
    lock = active_lock(cs.class_group, cs.subject_code, term)
    errors: list[str] = []
    if request.method == "POST":
        if not writable:
            raise PermissionDenied
        changes = []
        for name, value in request.POST.items():
            parsed = _parse_cell_name(name)
            if parsed is not None and parsed[1] == term:
                changes.append(CellChange(*parsed, value=value, where=name))
        try:
            changed = save_assessments(request.user, cs, changes, request=request)
            messages.success(request, _("Saved %(n)s cells.") % {"n": changed})
            return redirect(f"{request.path}?term={term}")
        except LockedError as error:
            errors = [str(error)]
        except ValidationFailed as failed:
            errors = failed.errors
    students = students_of_subject(cs)
    from hocba.gradebook.excel import column_label

    return render(
        request,
        "gradebook/subject_book.html",
        {
            "cs": cs,
            "term": term,
            "terms": [(t, TERMS[t]) for t in terms],
            "headers": [column_label(*c) for c in _columns(cs, term)],
            "rows": _grid(cs, term, students),
            "writable": writable and lock is None,
            "lock": lock,
            "errors": errors,
            "primary": primary,
        },
    )


@login_required
@require_POST
def save_cell(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: save one cell; answer with its error (if any) and the row's new averages."""
    cs = _class_subject(request, pk)
    name = request.POST.get("cell", "")
    parsed = _parse_cell_name(name)
    if parsed is None:
        return HttpResponse(_("Unknown cell."), status=400)
    student_id, term, kind, seq = parsed
    error = ""
    status = 200
    try:
        save_assessments(
            request.user,
            cs,
            [CellChange(student_id, term, kind, seq, request.POST.get(name, ""))],
            request=request,
        )
    except ValidationFailed as failed:
        error, status = "; ".join(failed.errors), 200
    except LockedError as locked:
        error, status = str(locked), 200
    student = get_object_or_404(Student, pk=student_id)
    row = _grid(cs, term, [student])[0]
    return render(
        request,
        "gradebook/_cell_result.html",
        {"row": row, "error": error, "student": student},
        status=status,
    )


@login_required
def template_download(request: HttpRequest, pk: int) -> HttpResponse:
    cs = _class_subject(request, pk)
    response = HttpResponse(
        excel.template(cs),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"so-diem-{cs.class_group.name}-{cs.subject_code}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def import_upload(request: HttpRequest, pk: int) -> HttpResponse:
    cs = _class_subject(request, pk)
    if not can(request.user, Permission.ASSESSMENT_WRITE, cs):
        raise PermissionDenied
    upload = request.FILES.get("file")
    errors: list[str]
    if upload is None:
        errors = [_("Choose an Excel file to import.")]
    else:
        try:
            report = excel.import_workbook(request.user, cs, upload.read(), request=request)
            messages.success(
                request,
                _("Imported %(rows)s students, %(n)s cells changed.")
                % {"rows": report.rows, "n": report.changed},
            )
            return redirect("gradebook-subject", pk=cs.pk)
        except ValidationFailed as failed:
            errors = failed.errors
        except LockedError as locked:
            errors = [str(locked)]
    for error in errors[:50]:
        messages.error(request, error)
    if len(errors) > 50:
        messages.error(request, _("… and %(n)s more errors.") % {"n": len(errors) - 50})
    messages.error(request, _("Nothing was imported: fix the file and import it again."))
    return redirect("gradebook-subject", pk=cs.pk)


def _class_group(request: HttpRequest, pk: int) -> ClassGroup:
    class_group = get_object_or_404(
        ClassGroup.objects.select_related("school", "school_year"), pk=pk
    )
    if not can(request.user, Permission.GRADEBOOK_READ, class_group):
        raise PermissionDenied
    return class_group


@login_required
def class_summary(request: HttpRequest, pk: int) -> HttpResponse:
    class_group = _class_group(request, pk)
    subjects = scoped(request.user, Permission.GRADEBOOK_READ, class_group.subjects.all()).order_by(
        "position"
    )
    all_subjects = class_subjects(class_group)
    students = enrolled_students(class_group)
    results = {r.student_id: r for r in YearResult.objects.filter(class_group=class_group)}
    primary = class_group.level == Level.TH
    rows = []
    counts: Counter[Outcome | None] = Counter()
    for student in students:
        result = results.get(student.pk)
        year = result.year_outcome if result else YearOutcome(Circular.of_level(class_group.level))
        counts[year.outcome] += 1
        rows.append(
            {
                "student": student,
                "values": [
                    _show(year.subject(s.subject_code) or SubjectOutcome(""), "year")
                    for s in all_subjects
                ],
                "year": year,
                "missing": result.missing if result else [_("Not computed yet")],
            }
        )
    return render(
        request,
        "gradebook/class_summary.html",
        {
            "class_group": class_group,
            "subjects": subjects,
            "all_subjects": all_subjects,
            "rows": rows,
            "primary": primary,
            "counts": [(k or _("Incomplete data"), v) for k, v in counts.items()],
            "can_homeroom": can(request.user, Permission.HOMEROOM_WRITE, class_group),
        },
    )


@login_required
def homeroom_form(request: HttpRequest, pk: int, student_id: int) -> HttpResponse:
    class_group = _class_group(request, pk)
    student = get_object_or_404(Student, pk=student_id, enrolments__class_group=class_group)
    if not can(request.user, Permission.HOMEROOM_WRITE, class_group):
        raise PermissionDenied
    primary = class_group.level == Level.TH
    grade = grades_in(class_group, [student.pk]).get(student.pk, class_group.grade)
    record = HomeroomRecord.objects.filter(class_group=class_group, student=student).first()
    errors: list[str] = []
    if request.method == "POST":
        values: dict[str, Any] = {}
        for name in HOMEROOM_FIELDS:
            if name in ("qualities", "competencies"):
                codes = QUALITIES if name == "qualities" else competencies_for(grade)
                if primary:
                    values[name] = {c: request.POST.get(f"{name}-{c}", "") for c in codes}
            elif name in ("outstanding", "disability_plan"):
                values[name] = request.POST.get(name) == "on"
            elif name in request.POST:
                values[name] = request.POST[name]
        try:
            save_homeroom(request.user, class_group, student, values, request=request)
            messages.success(request, _("Saved."))
            return redirect("gradebook-class", pk=class_group.pk)
        except ValidationFailed as failed:
            errors = failed.errors
        except LockedError as locked:
            errors = [str(locked)]
    return render(
        request,
        "gradebook/homeroom_form.html",
        {
            "class_group": class_group,
            "student": student,
            "record": record or HomeroomRecord(class_group=class_group, student=student),
            "primary": primary,
            "qualities": [(q, (record.qualities if record else {}).get(q, "")) for q in QUALITIES],
            "competencies": [
                (c, (record.competencies if record else {}).get(c, ""))
                for c in competencies_for(grade)
            ],
            "errors": errors,
            "lock": active_lock(class_group, None, None),
        },
    )


@login_required
def class_export(request: HttpRequest, pk: int) -> HttpResponse:
    class_group = _class_group(request, pk)
    response = HttpResponse(
        excel.export_class_book(class_group),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="so-diem-lop-{class_group.name}.xlsx"'
    return response


BINS = [(Decimal(i), Decimal(i + 1)) for i in range(10)]


@login_required
def subject_chart(request: HttpRequest, pk: int) -> HttpResponse:
    """Distribution of the subject's results in the class, as a plain SVG bar chart."""
    cs = _class_subject(request, pk)
    period = request.GET.get("period", "year")
    if period not in ("hk1", "hk2", "year"):
        period = "year"
    values = []
    for result in YearResult.objects.filter(class_group=cs.class_group):
        subject = result.year_outcome.subject(cs.subject_code)
        value = None
        if subject is not None and not subject.exempt:
            value = subject.year_shown() if subject.level else subject.shown(period)
        if value is not None:
            values.append(value)
    if cs.scored:
        labels = [f"{lo:.0f}–{hi:.0f}" for lo, hi in BINS]
        counts = [0] * len(BINS)
        for value in values:
            number = Decimal(value)
            counts[min(9, int(number))] += 1
    else:
        levels = list(SubjectLevel) if cs.class_group.level == Level.TH else [Rating.D, Rating.CD]
        labels = [level.value for level in levels]
        counts = [values.count(label) for label in labels]
    top = max(counts) if counts and max(counts) > 0 else 1
    bars = []
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        height = round(160 * count / top)
        x = 40 + i * 52
        bars.append(
            {
                "label": label,
                "count": count,
                "height": height,
                "x": x,
                "mid": x + 20,
                "y": 190 - height,
                "count_y": 185 - height,
            }
        )
    return render(
        request,
        "gradebook/chart.html",
        {
            "cs": cs,
            "bars": bars,
            "period": period,
            "total": len(values),
            "width": 60 + 52 * len(bars),
        },
    )


@login_required
def school_locks(request: HttpRequest, code: str) -> HttpResponse:
    school = get_object_or_404(School, code=code)
    if not can(request.user, Permission.GRADEBOOK_LOCK, school):
        raise PermissionDenied
    classes = school.classes.select_related("school_year").order_by(
        "-school_year__name", "grade", "name"
    )
    if request.method == "POST":
        try:
            if request.POST.get("unlock"):
                lock = get_object_or_404(GradebookLock, pk=request.POST["unlock"], school=school)
                unlock_gradebook(
                    request.user, lock, request.POST.get("reason", ""), request=request
                )
                messages.success(request, _("Unlocked."))
            else:
                class_id = request.POST.get("class_group")
                class_group = classes.filter(pk=class_id).first() if class_id else None
                lock_gradebook(
                    request.user,
                    school,
                    class_group,
                    request.POST.get("subject_code", "").strip(),
                    request.POST.get("term", ""),
                    request=request,
                )
                messages.success(request, _("Locked."))
            return redirect("gradebook-locks", code=school.code)
        except ValidationFailed as failed:
            for error in failed.errors:
                messages.error(request, error)
    return render(
        request,
        "gradebook/locks.html",
        {
            "school": school,
            "locks": school.gradebook_locks.select_related(
                "class_group", "locked_by", "unlocked_by"
            ),
            "classes": classes,
            "terms": list(TERMS.items()),
        },
    )
