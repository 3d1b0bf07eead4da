"""Landing pages per role and the organisation / student pages, every one checked against the
user's scope (`hocba.organizations.permissions`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from hocba.gradebook.models import ClassSubject
from hocba.organizations.models import (
    ClassGroup,
    Commune,
    DistrictOffice,
    ProvinceOffice,
    Role,
    RoleAssignment,
    School,
    SchoolYear,
)
from hocba.organizations.permissions import (
    Permission,
    active_assignments,
    can,
    has_role,
    scoped,
)
from hocba.people.text import matches
from hocba.people.views import keep_query
from hocba.records.models import ExternalRecord
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.students.models import Student
from hocba.students.services import grades_in, review_students


@dataclass(frozen=True)
class Landing:
    role: str
    place: str
    url: str


def _landing(assignment: RoleAssignment) -> Landing:
    role = assignment.get_role_display()
    if assignment.class_group_id:
        cg = assignment.class_group
        assert cg is not None
        place = _("Class %(name)s, %(year)s") % {"name": cg.name, "year": cg.school_year}
        if assignment.subject_code:
            subject = CATALOGUE.get((Level(cg.level), assignment.subject_code))
            place = f"{subject.name if subject else assignment.subject_code} — {place}"
        return Landing(role, place, reverse("class", args=[cg.pk]))
    if assignment.school_id:
        assert assignment.school is not None
        return Landing(
            role, assignment.school.name, reverse("school", args=[assignment.school.code])
        )
    if assignment.district_office_id:
        assert assignment.district_office is not None
        return Landing(
            role,
            assignment.district_office.name,
            reverse("district", args=[assignment.district_office_id]),
        )
    if assignment.commune_id:
        assert assignment.commune is not None
        return Landing(
            role,
            assignment.commune.committee_name,
            reverse("commune", args=[assignment.commune_id]),
        )
    if assignment.province_office_id:
        assert assignment.province_office is not None
        return Landing(
            role,
            assignment.province_office.name,
            reverse("province", args=[assignment.province_office.code]),
        )
    if assignment.role == Role.SYSTEM_ADMIN:
        return Landing(role, _("Administration"), reverse("admin:index"))
    return Landing(role, _("Whole country"), reverse("national"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    assignments = active_assignments(request.user)
    landings = [_landing(a) for a in assignments]
    if len(landings) == 1:
        return redirect(landings[0].url)
    if not landings and request.user.is_superuser:
        return redirect("admin:index")
    if not landings:
        from hocba.family.models import StudentAccess

        if StudentAccess.objects.filter(user=request.user).exists():
            return redirect("family-home")
    return render(request, "web/home.html", {"landings": landings})


def _selected_year(request: HttpRequest) -> SchoolYear | None:
    name = request.GET.get("year")
    years = SchoolYear.objects.all()
    if name:
        return years.filter(name=name).first()
    return years.first()


@login_required
def national(request: HttpRequest) -> HttpResponse:
    if not (
        request.user.is_superuser
        or has_role(request.user, Role.MINISTRY_OFFICER, Role.SYSTEM_ADMIN)
    ):
        raise PermissionDenied
    provinces = scoped(
        request.user, Permission.PROVINCE_READ, ProvinceOffice.objects.all()
    ).annotate(school_count=Count("schools", distinct=True))
    return render(request, "web/national.html", {"provinces": provinces})


SCHOOLS_PER_PAGE = 50


def _schools_with_counts(request: HttpRequest, schools: QuerySet[School]) -> Page[School]:
    """One page of the schools the user may read, those whose name or code matches the search
    (`q`, accents ignored), each with its classes and students of the selected year."""
    visible = scoped(request.user, Permission.SCHOOL_READ, schools)
    query = request.GET.get("q", "").strip()
    if query:
        names = visible.values_list("pk", "code", "name")
        visible = visible.filter(pk__in=[pk for pk, *text in names if matches(query, *text)])
    page = Paginator(visible.order_by("code").values_list("pk", flat=True), SCHOOLS_PER_PAGE)
    found = page.get_page(request.GET.get("page"))
    year = _selected_year(request)
    counted = (
        School.objects.filter(pk__in=list(found.object_list))
        .annotate(
            student_count=Count(
                "classes__enrolments",
                filter=Q(classes__school_year=year, classes__enrolments__date_left__isnull=True),
                distinct=True,
            ),
            class_count=Count("classes", filter=Q(classes__school_year=year), distinct=True),
        )
        .select_related("district_office", "managing_commune")
        .order_by("code")
    )
    found.object_list = list(counted)
    return found


@login_required
def province_detail(request: HttpRequest, code: str) -> HttpResponse:
    province = get_object_or_404(ProvinceOffice, code=code)
    if not can(request.user, Permission.PROVINCE_READ, province):
        raise PermissionDenied
    schools = _schools_with_counts(request, School.objects.filter(province_office=province))
    districts = scoped(request.user, Permission.DISTRICT_READ, province.district_offices.all())
    communes = scoped(
        request.user,
        Permission.COMMUNE_READ,
        Commune.objects.filter(managed_schools__province_office=province).distinct(),
    )
    return render(
        request,
        "web/province.html",
        {
            "province": province,
            "schools": schools,
            "districts": districts,
            "communes": communes,
            "year": _selected_year(request),
            "q": request.GET.get("q", "").strip(),
            "keep": keep_query(request),
        },
    )


@login_required
def district_detail(request: HttpRequest, pk: int) -> HttpResponse:
    district = get_object_or_404(DistrictOffice.objects.select_related("province_office"), pk=pk)
    if not can(request.user, Permission.DISTRICT_READ, district):
        raise PermissionDenied
    schools = _schools_with_counts(request, School.objects.filter(district_office=district))
    return render(
        request,
        "web/district.html",
        {
            "district": district,
            "schools": schools,
            "year": _selected_year(request),
            "q": request.GET.get("q", "").strip(),
            "keep": keep_query(request),
        },
    )


@login_required
def commune_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A commune's People's Committee: the schools it manages since 1 July 2025."""
    commune = get_object_or_404(Commune, pk=pk)
    if not can(request.user, Permission.COMMUNE_READ, commune):
        raise PermissionDenied
    schools = _schools_with_counts(request, School.objects.filter(managing_commune=commune))
    return render(
        request,
        "web/commune.html",
        {
            "commune": commune,
            "schools": schools,
            "year": _selected_year(request),
            "q": request.GET.get("q", "").strip(),
            "keep": keep_query(request),
        },
    )


@login_required
def school_detail(request: HttpRequest, code: str) -> HttpResponse:
    school = get_object_or_404(School.objects.select_related("province_office"), code=code)
    if not can(request.user, Permission.SCHOOL_READ, school):
        raise PermissionDenied
    year = _selected_year(request)
    classes = (
        scoped(request.user, Permission.CLASS_READ, school.classes.filter(school_year=year))
        .annotate(student_count=Count("enrolments", filter=Q(enrolments__date_left__isnull=True)))
        .order_by("grade", "name")
    )
    staff = scoped(request.user, Permission.STAFF_READ, school.staff.all()).prefetch_related(
        "roles"
    )
    leaders = (
        RoleAssignment.objects.filter(
            school=school, role__in=[Role.PRINCIPAL, Role.VICE_PRINCIPAL], active=True
        )
        .select_related("staff")
        .order_by("role")
    )
    return render(
        request,
        "web/school.html",
        {
            "school": school,
            "year": year,
            "years": SchoolYear.objects.filter(classes__school=school).distinct(),
            "classes": classes,
            "staff": staff,
            "leaders": leaders,
            "can_review": can(request.user, Permission.DATA_REVIEW_READ, school),
            "can_seal": can(request.user, Permission.SIGN_SEAL, school),
            "can_lock": can(request.user, Permission.GRADEBOOK_LOCK, school),
            "can_import": can(request.user, Permission.RECORD_IMPORT, school),
            "can_import_people": can(request.user, Permission.STUDENT_WRITE, school),
            "can_students": can(request.user, Permission.STUDENT_WRITE, school),
            "can_staff": can(request.user, Permission.STAFF_WRITE, school),
            "can_accounts": can(request.user, Permission.ACCOUNT_MANAGE, school),
        },
    )


@login_required
def school_review(request: HttpRequest, code: str) -> HttpResponse:
    school = get_object_or_404(School, code=code)
    if not can(request.user, Permission.DATA_REVIEW_READ, school):
        raise PermissionDenied
    visible = scoped(request.user, Permission.STUDENT_READ, Student.objects.all())
    problems = review_students(visible, school=school)
    return render(request, "web/review.html", {"school": school, "problems": problems})


@login_required
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    class_group = get_object_or_404(
        ClassGroup.objects.select_related("school", "school_year"), pk=pk
    )
    if not can(request.user, Permission.CLASS_READ, class_group):
        raise PermissionDenied
    students = scoped(
        request.user,
        Permission.STUDENT_READ,
        Student.objects.filter(
            enrolments__class_group=class_group, enrolments__date_left__isnull=True
        ),
    ).order_by("full_name")
    if class_group.is_combined:
        grades = grades_in(class_group)
        students = list(students)
        for student in students:
            student.own_grade = grades.get(student.pk, class_group.grade)  # type: ignore[attr-defined]
    teachers = (
        class_group.roles.filter(active=True)
        .select_related("staff")
        .order_by("role", "subject_code")
    )
    level = Level(class_group.level)
    teacher_rows = [
        (
            a,
            CATALOGUE[(level, a.subject_code)].name if (level, a.subject_code) in CATALOGUE else "",
        )
        for a in teachers
    ]
    books = scoped(
        request.user,
        Permission.GRADEBOOK_READ,
        ClassSubject.objects.filter(class_group=class_group),
    ).order_by("position")
    return render(
        request,
        "web/class.html",
        {
            "class_group": class_group,
            "students": students,
            "teachers": teacher_rows,
            "books": books,
            "can_summary": can(request.user, Permission.GRADEBOOK_READ, class_group),
        },
    )


@login_required
def student_detail(request: HttpRequest, pk: int) -> HttpResponse:
    student = get_object_or_404(Student, pk=pk)
    if not can(request.user, Permission.STUDENT_READ, student):
        raise PermissionDenied
    history = student.enrolments.select_related(
        "class_group__school__province_office", "class_group__school_year"
    ).order_by("class_group__school_year__name", "date_joined")
    problems = review_students(Student.objects.filter(pk=student.pk))
    externals = scoped(
        request.user, Permission.RECORD_READ, ExternalRecord.objects.filter(student=student)
    ).distinct()
    return render(
        request,
        "web/student.html",
        {"student": student, "history": history, "problems": problems, "externals": externals},
    )
