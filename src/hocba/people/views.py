"""The school's people pages: students (list, add, edit, enrol, move, leave), staff (list, add,
edit, roles), accounts (letters with activation codes, a new code for one person) and the public
activation page. Every page checks the user's scope (`hocba.organizations.permissions`); every
change goes through `hocba.people.services`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from hocba import ratelimit
from hocba.family.models import StudentAccess
from hocba.organizations.models import ClassGroup, RoleAssignment, School, SchoolYear, Staff
from hocba.organizations.permissions import Permission, can
from hocba.people import forms, services
from hocba.people.letters import letters_pdf
from hocba.people.services import Letter, PeopleError
from hocba.people.text import matches, name_key
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.students.models import Enrolment, LeaveReason, Student

PAGE_SIZE = 50


def _school(request: HttpRequest, code: str, permission: Permission) -> School:
    school = get_object_or_404(School, code=code)
    if not can(request.user, permission, school):
        raise PermissionDenied
    return school


def _year(request: HttpRequest) -> SchoolYear | None:
    name = request.GET.get("year") or request.POST.get("year")
    years = SchoolYear.objects.all()
    return (years.filter(name=name).first() if name else None) or years.first()


def keep_query(request: HttpRequest) -> str:
    """The list's query string without its page number (for the links to other pages)."""
    kept = request.GET.copy()
    kept.pop("page", None)
    return kept.urlencode()


def _page(request: HttpRequest, rows: list[Any]) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _classes(school: School, year: SchoolYear | None) -> QuerySet[ClassGroup]:
    return (
        ClassGroup.objects.filter(school=school, school_year=year)
        .select_related("school_year")
        .order_by("grade", "name")
    )


def _new_page(
    request: HttpRequest, school: School, form: Any, title: str, back: str, back_label: str
) -> HttpResponse:
    return render(
        request, "people/new.html",
        {"school": school, "form": form, "title": title, "back_label": back_label,
         "back": reverse(back, args=[school.code])},
    )  # fmt: skip


def _refused(form: Any, error: PeopleError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


# --- students --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StudentRow:
    pk: int
    full_name: str
    student_code: str
    personal_id: str
    date_of_birth: Any
    class_name: str
    left: str
    """Why the student left this year's class (empty: still in it)."""


def student_rows(
    school: School, year: SchoolYear | None, query: str, in_class: str = ""
) -> list[StudentRow]:
    """The school's students of `year` (their last class that year), those matching `query`
    (name, student code or personal ID, accents ignored) and in class `in_class` (any when
    empty), in Vietnamese name order."""
    enrolments = (
        Enrolment.objects.filter(class_group__school=school, class_group__school_year=year)
        .order_by("student_id", F("date_left").asc(nulls_first=True), "-date_joined")
        .values_list(
            "student_id", "student__full_name", "student__student_code", "student__personal_id",
            "student__date_of_birth", "class_group__name", "date_left", "leave_reason",
        )
    )  # fmt: skip
    reasons = dict(LeaveReason.choices)
    rows: dict[int, StudentRow] = {}
    for pk, name, code, pid, born, class_name, date_left, reason in enrolments:
        if pk in rows:  # the open enrolment first, else the latest
            continue
        if date_left is None or reason == LeaveReason.CLASS_CHANGE:
            left = ""
        else:
            left = f"{reasons.get(reason, reason)} ({date_left:%d/%m/%Y})"
        rows[pk] = StudentRow(pk, name, code, pid, born, class_name, str(left))
    found = [
        r
        for r in rows.values()
        if (not in_class or r.class_name == in_class)
        and (not query or matches(query, r.full_name, r.student_code, r.personal_id))
    ]
    return sorted(found, key=lambda r: (name_key(r.full_name), r.student_code))


@login_required
def students(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code, Permission.STUDENT_WRITE)
    year = _year(request)
    query = request.GET.get("q", "").strip()
    in_class = request.GET.get("class", "")
    page = _page(request, student_rows(school, year, query, in_class))
    return render(
        request,
        "people/students.html",
        {"school": school, "year": year, "years": SchoolYear.objects.all(), "q": query,
         "classes": _classes(school, year), "in_class": in_class, "page": page,
         "keep": keep_query(request)},
    )  # fmt: skip


@login_required
def student_new(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code, Permission.STUDENT_WRITE)
    year = _year(request)
    form = forms.NewStudentForm(
        request.POST or None, classes=_classes(school, year), initial={"date_joined": _day_in(year)}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            student = services.add_student(
                request.user, data, data["class_group"], data["date_joined"],
                data["join_reason"], request, grade=data.get("grade"),
            )  # fmt: skip
        except PeopleError as error:
            _refused(form, error)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": student.full_name})
            return redirect("people-student", school.code, student.pk)
    return _new_page(request, school, form, _("Add a student"), "people-students", _("Students"))


def _student_of(school: School, pk: int) -> Student:
    student = get_object_or_404(Student, pk=pk)
    if not student.enrolments.filter(class_group__school=school).exists():
        raise Http404
    return student


def _day_in(year: SchoolYear | None) -> dt.date:
    """Today, or the nearest day of `year` when today is outside it (the form's first guess)."""
    today = timezone.localdate()
    if year is None:
        return today
    return min(max(today, year.start_date), year.end_date)


def _student_forms(
    request: HttpRequest,
    student: Student,
    classes: QuerySet[ClassGroup],
    action: str,
    year: SchoolYear | None,
) -> dict[str, Any]:
    initial = {name: getattr(student, name) for name in services.STUDENT_FIELDS}
    post = request.POST if request.method == "POST" else None
    when = {"date": _day_in(year)}
    return {
        "form": forms.StudentForm(post if action == "save" else None, initial=initial),
        "enrol_form": forms.EnrolForm(
            post if action in ("enrol", "move") else None, classes=classes, prefix="enrol",
            initial=when,
        ),
        "leave_form": forms.LeaveForm(
            post if action == "leave" else None, prefix="leave", initial=when
        ),
    }  # fmt: skip


def _student_action(
    request: HttpRequest, school: School, student: Student, action: str, found: dict[str, Any]
) -> str | None:
    """Carry out a posted action; the success message, or None when refused (the form says
    why)."""
    form = {"save": found["form"], "leave": found["leave_form"]}.get(action, found["enrol_form"])
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        if action == "save":
            changed = services.edit_student(request.user, student, data, request, school=school)
            return _("Saved.") if changed else _("Nothing changed.")
        if action == "leave":
            services.mark_leaving(
                request.user, student, school, data["date"], data["reason"], request
            )
            return _("The student's leaving was recorded.")
        target = data["class_group"]
        if action == "move":
            services.move(
                request.user, student, target, data["date"], request, grade=data.get("grade")
            )
            return _("Moved to class %(class)s.") % {"class": target.name}
        services.enrol(
            request.user, student, target, data["date"], request=request, grade=data.get("grade")
        )
        return _("Enrolled in class %(class)s.") % {"class": target.name}
    except PeopleError as error:
        _refused(form, error)
        return None


@login_required
def student(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    school = _school(request, code, Permission.STUDENT_WRITE)
    found_student = _student_of(school, pk)
    year = _year(request)
    classes = _classes(school, year)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and action not in ("save", "enrol", "move", "leave"):
        raise Http404
    found = _student_forms(request, found_student, classes, action, year)
    if action:
        done = _student_action(request, school, found_student, action, found)
        if done is not None:
            messages.success(request, done)
            return redirect("people-student", school.code, found_student.pk)
    found_student.refresh_from_db()
    history = found_student.enrolments.select_related(
        "class_group__school", "class_group__school_year"
    ).order_by("class_group__school_year__name", "date_joined")
    access = StudentAccess.objects.filter(student=found_student).select_related("user")
    return render(
        request,
        "people/student.html",
        {"school": school, "student": found_student, "history": history,
         "current": found_student.current_enrolment(), "access": access,
         "can_accounts": can(request.user, Permission.ACCOUNT_MANAGE, school), **found},
    )  # fmt: skip


# --- staff -----------------------------------------------------------------------------------


def _subject_name(level: str, subject_code: str) -> str:
    subject = CATALOGUE.get((Level(level), subject_code))
    return subject.name if subject else subject_code


def _role_label(assignment: RoleAssignment) -> str:
    label = assignment.get_role_display()
    cg = assignment.class_group
    if cg is None:
        return str(label)
    where = _("class %(name)s, %(year)s") % {"name": cg.name, "year": cg.school_year.name}
    if assignment.subject_code:
        where = f"{_subject_name(cg.level, assignment.subject_code)} — {where}"
    return f"{label}: {where}"


@login_required
def staff_list(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code, Permission.STAFF_WRITE)
    query = request.GET.get("q", "").strip()
    everyone = (
        Staff.objects.filter(school=school)
        .select_related("user")
        .prefetch_related("roles__class_group__school_year")
    )
    found = [
        s for s in everyone if not query or matches(query, s.full_name, s.personal_id, s.position)
    ]
    found.sort(key=lambda s: name_key(s.full_name))
    page = _page(request, found)
    rows = [(s, [_role_label(a) for a in s.roles.all() if a.active]) for s in page.object_list]
    return render(
        request, "people/staff_list.html",
        {"school": school, "q": query, "page": page, "rows": rows, "keep": keep_query(request)},
    )  # fmt: skip


@login_required
def staff_new(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code, Permission.STAFF_WRITE)
    form = forms.StaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff = services.add_staff(request.user, school, form.cleaned_data, request)
        except PeopleError as error:
            _refused(form, error)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": staff.full_name})
            return redirect("people-staff", school.code, staff.pk)
    return _new_page(
        request, school, form, _("Add a staff member"), "people-staff-list", _("Staff")
    )


def _staff_action(
    request: HttpRequest, school: School, member: Staff, action: str, found: dict[str, Any]
) -> str | None:
    try:
        if action == "save":
            form = found["form"]
            if not form.is_valid():
                return None
            changed = services.edit_staff(request.user, member, form.cleaned_data, request)
            return _("Saved.") if changed else _("Nothing changed.")
        if not can(request.user, Permission.ROLE_ASSIGN, school):
            raise PermissionDenied
        if action == "unassign":
            assignment = get_object_or_404(
                RoleAssignment, pk=request.POST.get("assignment", ""), staff=member
            )
            try:
                services.remove_role(request.user, assignment, request)
            except PeopleError as error:
                messages.error(request, error.message)
                return None
            return _("The role was removed.")
        form = found["role_form"]
        if not form.is_valid():
            return None
        data = form.cleaned_data
        services.assign_role(
            request.user, member, data["role"], data["class_group"], data["subject_code"] or "",
            request,
        )  # fmt: skip
        return _("The role was given.")
    except PeopleError as error:
        form = found["form"] if action == "save" else found["role_form"]
        _refused(form, error)
        return None


@login_required
def staff(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    school = _school(request, code, Permission.STAFF_WRITE)
    member = get_object_or_404(Staff.objects.select_related("user", "school"), pk=pk, school=school)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if action and action not in ("save", "assign", "unassign"):
        raise Http404
    post = request.POST if request.method == "POST" else None
    initial = {name: getattr(member, name) for name in services.STAFF_FIELDS}
    found = {
        "form": forms.StaffForm(post if action == "save" else None, initial=initial),
        "role_form": forms.RoleForm(
            post if action == "assign" else None, prefix="role",
            classes=_classes(school, _year(request)), levels=school.levels,
        ),
    }  # fmt: skip
    if action:
        done = _staff_action(request, school, member, action, found)
        if done is not None:
            messages.success(request, done)
            return redirect("people-staff", school.code, member.pk)
    roles = [
        (a, _role_label(a))
        for a in member.roles.filter(active=True).select_related("class_group__school_year")
    ]
    return render(
        request, "people/staff.html",
        {"school": school, "member": member, "roles": roles,
         "can_assign": can(request.user, Permission.ROLE_ASSIGN, school),
         "can_accounts": can(request.user, Permission.ACCOUNT_MANAGE, school), **found},
    )  # fmt: skip


# --- accounts --------------------------------------------------------------------------------


def _letters_response(
    request: HttpRequest, school: School, letters: list[Letter], name: str
) -> HttpResponse:
    base = request.build_absolute_uri(reverse("activate"))
    pdf = letters_pdf(school.name, letters, base, base.split("?")[0])
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
def accounts(request: HttpRequest, code: str) -> HttpResponse:
    school = _school(request, code, Permission.ACCOUNT_MANAGE)
    year = _year(request)
    classes = _classes(school, year)
    if request.method == "POST":
        group = request.POST.get("group", "")
        if group == "staff":
            letters = services.staff_accounts(request.user, school, request)
            name = f"tai-khoan-can-bo-{school.code}"
        elif group in ("students", "parents"):
            class_group = get_object_or_404(classes, pk=request.POST.get("class_group") or 0)
            parents = group == "parents"
            letters = services.student_accounts(request.user, class_group, parents, request)
            kind = "phu-huynh" if parents else "hoc-sinh"
            name = f"tai-khoan-{kind}-{class_group.name}-{year}"
        else:
            raise Http404
        if not letters:
            messages.info(request, _("Everyone in this group already uses an account."))
            return redirect(reverse("people-accounts", args=[school.code]) + f"?year={year}")
        return _letters_response(request, school, letters, name)
    return render(
        request, "people/accounts.html",
        {"school": school, "year": year, "years": SchoolYear.objects.all(), "classes": classes,
         "days": settings.ACTIVATION_CODE_DAYS},
    )  # fmt: skip


@login_required
@require_POST
def account_reset(request: HttpRequest, code: str) -> HttpResponse:
    """A new activation code for one person's account (the letter, as a PDF of one page)."""
    school = _school(request, code, Permission.ACCOUNT_MANAGE)
    kind, pk = request.POST.get("kind", ""), request.POST.get("pk", "") or "0"
    if kind == "staff":
        member = get_object_or_404(Staff, pk=pk, school=school, user__isnull=False)
        user, full_name, about = member.user, member.full_name, member.position
        back = reverse("people-staff", args=[school.code, member.pk])
    elif kind == "access":
        at_school = StudentAccess.objects.filter(
            student__enrolments__class_group__school=school,
            student__enrolments__date_left__isnull=True,
        ).values("pk")
        access = get_object_or_404(
            StudentAccess.objects.select_related("user", "student").filter(pk__in=at_school),
            pk=pk,
        )
        user, full_name = access.user, access.student.full_name
        if access.relation == StudentAccess.Relation.PARENT:
            full_name = _("Parent of %(name)s") % {"name": access.student.full_name}
        about = str(access.get_relation_display())
        back = reverse("people-student", args=[school.code, access.student_id])
    else:
        raise Http404
    try:
        letter = services.issue_code(request.user, school, user, full_name, about, request)
    except PeopleError as error:
        messages.error(request, error.message)
        return redirect(back)
    return _letters_response(request, school, [letter], f"ma-kich-hoat-{letter.username}")


# --- activation (public) ---------------------------------------------------------------------


def _over_limit(request: HttpRequest, username: str) -> bool:
    """Count this attempt first (so parallel attempts count each other), then compare."""
    period = int(settings.ACTIVATION_LOCK_MINUTES * 60)
    by_account = ratelimit.count_failure("activation-account", username.lower(), period)
    by_address = ratelimit.count_failure("activation-address", ratelimit.client(request), period)
    return (
        by_account > settings.ACTIVATION_FAILURES_PER_ACCOUNT
        or by_address > settings.ACTIVATION_FAILURES_PER_ADDRESS
    )


def activate(request: HttpRequest) -> HttpResponse:
    """First sign-in: username and activation code (filled in from the QR link), a new password
    twice; then the person is signed in."""
    username = (request.POST.get("username") or request.GET.get("u") or "").strip()
    code = (request.POST.get("code") or request.GET.get("c") or "").strip()
    context: dict[str, Any] = {"username": username, "code": code, "errors": []}
    if request.method != "POST":
        return render(request, "people/activate.html", context)
    password1, password2 = request.POST.get("password1", ""), request.POST.get("password2", "")
    if not username or not code:
        context["errors"] = [_("Enter the username and the activation code of your letter.")]
        return render(request, "people/activate.html", context, status=400)
    if password1 != password2:
        context["errors"] = [_("The two passwords differ.")]
        return render(request, "people/activate.html", context, status=400)
    if _over_limit(request, username):
        minutes = int(settings.ACTIVATION_LOCK_MINUTES)
        context["errors"] = [
            _("Too many attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}
        ]
        response = render(request, "people/activate.html", context, status=429)
        response["Retry-After"] = str(minutes * 60)
        return response
    try:
        user = services.activate(username, code, password1, request)
    except services.ActivationError as error:
        # a weak password with a right code still counts for the address: one's own valid
        # code must not clear the counter of guesses made at other accounts
        context["errors"] = [error.message]
        return render(request, "people/activate.html", context, status=400)
    ratelimit.forgive_failure("activation-account", username.lower())
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("Your account is ready. Welcome!"))
    return redirect("home")
