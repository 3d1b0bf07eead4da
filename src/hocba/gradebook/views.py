"""Grade-book pages: a subject teacher's grade entry (htmx, one cell at a time, or the whole
form without JavaScript), the class summary, the homeroom form, the score distribution chart,
Excel template / import / export, and the principal's locks."""

from __future__ import annotations

import base64
from collections import Counter
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hocba.gradebook import csdl, excel, foreign
from hocba.gradebook.compute import class_subjects, enrolled_students, students_of_subject
from hocba.gradebook.models import (
    Assessment,
    ClassSubject,
    GradebookLock,
    HomeroomRecord,
    LockedError,
    SubjectRemark,
    Term,
    YearResult,
    active_lock,
)
from hocba.gradebook.services import (
    HOMEROOM_FIELDS,
    CellChange,
    RemarkChange,
    ValidationFailed,
    lock_gradebook,
    save_assessments,
    save_homeroom,
    save_remarks,
    save_subject_book,
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
REMARK_TERM = Term.HK2
"""The tab where the subject teacher writes the year's remark (its lock is the second
semester's)."""


def _xlsx(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


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
    remarks = (
        dict(
            SubjectRemark.objects.filter(class_subject=cs, student__in=students).values_list(
                "student_id", "text"
            )
        )
        if term == REMARK_TERM
        else {}
    )
    rows = []
    for student in students:
        known = results.get(student.pk)
        subject = (known.subject(cs.subject_code) if known else None) or SubjectOutcome("")
        rows.append(
            {
                "student": student,
                "remark": {"name": f"r-{student.pk}", "value": remarks.get(student.pk, "")},
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


def _parse_remark_name(name: str) -> int | None:
    """The student of a remark field ("r-12")."""
    prefix, _sep, student = name.partition("-")
    return int(student) if prefix == "r" and student.isdigit() else None


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
        remarks = []
        for name, value in request.POST.items():
            parsed = _parse_cell_name(name)
            if parsed is not None and parsed[1] == term:
                changes.append(CellChange(*parsed, value=value, where=name))
            student_id = _parse_remark_name(name)
            if student_id is not None and term == REMARK_TERM:
                remarks.append(RemarkChange(student_id, value, where=name))
        try:
            changed, noted = save_subject_book(request.user, cs, changes, remarks, request=request)
            messages.success(
                request,
                _("Saved %(n)s cells and %(r)s remarks.") % {"n": changed, "r": noted},
            )
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
            "with_remarks": term == REMARK_TERM,
            "remark_required": primary,
        },
    )


@login_required
@require_POST
def save_cell(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx: save one cell; answer with its error (if any) and the row's new averages."""
    cs = _class_subject(request, pk)
    name = request.POST.get("cell", "")
    parsed = _parse_cell_name(name)
    remark_of = _parse_remark_name(name)
    if parsed is None and remark_of is None:
        return HttpResponse(_("Unknown cell."), status=400)
    if parsed is not None:
        student_id, term = parsed[0], parsed[1]
    else:
        assert remark_of is not None
        student_id, term = remark_of, REMARK_TERM
    error = ""
    status = 200
    try:
        if parsed is not None:
            save_assessments(
                request.user,
                cs,
                [CellChange(*parsed, request.POST.get(name, ""))],
                request=request,
            )
        else:
            save_remarks(
                request.user, cs, [RemarkChange(student_id, request.POST.get(name, ""))],
                request=request,
            )  # fmt: skip
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
    filename = f"so-diem-{cs.class_group.name}-{cs.subject_code}.xlsx"
    return _xlsx(excel.template(cs), filename)


@login_required
@require_POST
def import_upload(request: HttpRequest, pk: int) -> HttpResponse:
    cs = _class_subject(request, pk)
    if not can(request.user, Permission.ASSESSMENT_WRITE, cs):
        raise PermissionDenied
    upload = request.FILES.get("file")
    carried = request.POST.get("content", "")
    errors: list[str]
    if upload is None and not carried:
        errors = [_("Choose an Excel file to import.")]
    else:
        content = upload.read() if upload is not None else _carried(carried)
        try:
            if _foreign_layout(content):
                return _import_foreign(request, cs, content, apply=bool(carried))
            report = excel.import_workbook(request.user, cs, content, request=request)
            messages.success(
                request,
                _("Imported %(rows)s students, %(n)s cells and %(r)s remarks changed.")
                % {"rows": report.rows, "n": report.changed, "r": report.remarks},
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


def _carried(text: str) -> bytes:
    """The file a preview page sent back (base64); refused as not a workbook when damaged."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return b""


def _foreign_layout(content: bytes) -> bool:
    """Whether the file is in another system's layout (vnEdu, SMAS) rather than the
    platform's own template."""
    try:
        foreign.recognise(foreign.read_grid(content))
    except ValidationFailed:
        return False
    return True


def _import_foreign(
    request: HttpRequest, cs: ClassSubject, content: bytes, apply: bool
) -> HttpResponse:
    """A vnEdu or SMAS file: first a preview of every change (nothing written), then, when
    the teacher confirms, the same file checked again and written."""
    planned = foreign.plan(
        content, cs.class_group.school, cs.class_group.school_year, class_subject=cs
    )
    if planned.errors:
        raise ValidationFailed(planned.errors)
    if apply:
        changed, noted = foreign.apply(request.user, planned, request=request)
        messages.success(
            request,
            _("Imported %(rows)s students, %(n)s cells and %(r)s remarks changed.")
            % {"rows": planned.rows, "n": changed, "r": noted},
        )
        return redirect(f"{reverse('gradebook-subject', args=[cs.pk])}?term={planned.term}")
    return render(
        request,
        "gradebook/import_preview.html",
        {
            "cs": cs,
            "plan": planned,
            "term": TERMS[Term(planned.term)],
            "content": base64.b64encode(content).decode(),
        },
    )


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
            "can_export_csdl": _may_export_csdl(request.user, class_group),
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
    return _xlsx(excel.export_class_book(class_group), f"so-diem-lop-{class_group.name}.xlsx")


@login_required
def class_csdl_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The class's year results to upload to the sector database (CSDL ngành): for the
    homeroom teacher and the school's principal and vice principals."""
    class_group = _class_group(request, pk)
    if not _may_export_csdl(request.user, class_group):
        raise PermissionDenied
    name = f"csdl-ket-qua-{class_group.school.code}-{class_group.name}.xlsx"
    return _xlsx(csdl.results(class_group), name)


def _may_export_csdl(user: Any, class_group: ClassGroup) -> bool:
    return can(user, Permission.HOMEROOM_WRITE, class_group) or can(
        user, Permission.GRADEBOOK_LOCK, class_group.school
    )


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
