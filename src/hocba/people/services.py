"""Every change to a school's people: students and their enrolments, staff and their roles,
accounts and their activation codes. One function per change, each in one transaction with its
audit event (`hocba.audit.services.record_event`); views never save these models themselves.

A refused change raises `PeopleError` (a stable code, a Vietnamese message, the field
concerned) and leaves nothing written.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from hocba.audit.services import record_event
from hocba.family.models import StudentAccess
from hocba.identity import ProblemCode, review_student
from hocba.identity.names import normalize_name
from hocba.organizations.models import (
    ClassGroup,
    Role,
    RoleAssignment,
    School,
    Staff,
)
from hocba.organizations.permissions import Permission, can
from hocba.people.models import ActivationCode
from hocba.people.text import fold, name_key
from hocba.students.models import Enrolment, JoinReason, LeaveReason, Student

User = get_user_model()


class PeopleError(ValueError):
    """A change refused: `code` is stable, `message` is for the person, `field` the form field
    it concerns (empty: the whole form)."""

    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


# --- students --------------------------------------------------------------------------------

STUDENT_FIELDS = (
    "full_name",
    "student_code",
    "personal_id",
    "date_of_birth",
    "sex",
    "ethnicity",
    "nationality",
    "birthplace",
    "hometown",
    "current_address",
    "father_name",
    "father_occupation",
    "mother_name",
    "mother_occupation",
    "guardian_name",
    "guardian_occupation",
)

#: Gaps the identity review reports but a school may fill later (the record waits for them).
_FILLED_LATER = {ProblemCode.FIELD_MISSING, ProblemCode.PERSONAL_ID_MISSING}


def _check_identity(student: Student, actor: Any) -> None:
    """Refuse what the identity review would refuse, except gaps to be filled later; and a
    personal ID number or student code that another student already has (named only when the
    actor may read that student)."""
    for problem in review_student(student.identity(), timezone.localdate()):
        if problem.code not in _FILLED_LATER:
            raise PeopleError(problem.code.value, problem.message, problem.field)
    others = Student.objects.exclude(pk=student.pk)
    if student.personal_id:
        same = others.filter(personal_id=student.personal_id).first()
        if same is not None:
            message = _("Personal ID number %(id)s is already that of another student.") % {
                "id": student.personal_id
            }
            if can(actor, Permission.STUDENT_READ, same):
                message = _(
                    "Personal ID number %(id)s is already that of %(name)s (student code %(code)s)."
                ) % {"id": student.personal_id, "name": same.full_name, "code": same.student_code}
            raise PeopleError(ProblemCode.PERSONAL_ID_DUPLICATE.value, message, "personal_id")
    same = others.filter(student_code=student.student_code).first()
    if same is not None:
        message = _("Student code %(code)s is already that of another student.") % {
            "code": student.student_code
        }
        if can(actor, Permission.STUDENT_READ, same):
            message = _("Student code %(code)s is already that of %(name)s.") % {
                "code": student.student_code, "name": same.full_name,
            }  # fmt: skip
        raise PeopleError("STUDENT_CODE_TAKEN", message, "student_code")


def _fields_of(student: Student) -> dict[str, Any]:
    return {name: getattr(student, name) for name in STUDENT_FIELDS}


def _apply(student: Student, fields: dict[str, Any]) -> None:
    for name in STUDENT_FIELDS:
        if name in fields:
            value = fields[name]
            if isinstance(value, str):
                value = value.strip()
            setattr(student, name, value)
    student.full_name = normalize_name(student.full_name)
    for name in ("father_name", "mother_name", "guardian_name"):
        setattr(student, name, normalize_name(getattr(student, name)))


def _open_enrolment(student: Student, class_group: ClassGroup) -> Enrolment | None:
    """The student's enrolment still open in `class_group`'s school year."""
    return (
        student.enrolments.filter(
            date_left__isnull=True, class_group__school_year=class_group.school_year_id
        )
        .select_related("class_group")
        .first()
    )


@transaction.atomic
def add_student(
    actor: Any,
    fields: dict[str, Any],
    class_group: ClassGroup,
    date_joined: dt.date,
    join_reason: str,
    request: HttpRequest | None = None,
    grade: int | None = None,
) -> Student:
    """A new student, enrolled in `class_group` from `date_joined` (`grade`: the pupil's own,
    in a combined class)."""
    student = Student()
    _apply(student, fields)
    _check_identity(student, actor)
    student.save()
    enrolment = _enrol(student, class_group, date_joined, join_reason, grade)
    record_event(
        actor, "student.add", student, summary=f"{student.full_name} → {class_group}",
        new={**_fields_of(student), "class": class_group.pk, "date_joined": date_joined},
        request=request,
    )  # fmt: skip
    assert enrolment.pk
    return student


def _save_changes(
    actor: Any,
    obj: Any,
    names: tuple[str, ...],
    change: Callable[[], None],
    check: Callable[[], None],
    action: str,
    request: HttpRequest | None,
) -> list[str]:
    """Apply `change` to `obj` (locked), check it, save the fields that changed and record them
    with their old and new values; the names of the fields changed."""
    old = {k: getattr(obj, k) for k in names}
    change()
    changed = [k for k in names if getattr(obj, k) != old[k]]
    if not changed:
        return []
    check()
    obj.save(update_fields=changed)
    record_event(
        actor, action, obj, summary=obj.full_name, old={k: old[k] for k in changed},
        new={k: getattr(obj, k) for k in changed}, request=request,
    )  # fmt: skip
    return changed


@transaction.atomic
def edit_student(
    actor: Any,
    student: Student,
    fields: dict[str, Any],
    request: HttpRequest | None = None,
    school: School | None = None,
) -> list[str]:
    """Change a student's identity and family fields; the names of the fields changed. A school
    does not edit a student who studies at another school now: that school keeps the data."""
    student = Student.objects.select_for_update().get(pk=student.pk)
    if school is not None:
        open_here = student.enrolments.filter(date_left__isnull=True, class_group__school=school)
        open_elsewhere = student.enrolments.filter(date_left__isnull=True).exclude(
            class_group__school=school
        )
        if open_elsewhere.exists() and not open_here.exists():
            raise PeopleError(
                "STUDIES_ELSEWHERE",
                _("%(name)s studies at another school now; that school keeps these data.")
                % {"name": student.full_name},
            )
    return _save_changes(
        actor, student, STUDENT_FIELDS, lambda: _apply(student, fields),
        lambda: _check_identity(student, actor), "student.edit", request,
    )  # fmt: skip


def _own_grade(class_group: ClassGroup, grade: int | None) -> int | None:
    """The grade stored on the enrolment: a combined class needs the pupil's own, one of its
    grades; an ordinary class's pupils are in its grade (nothing stored)."""
    if not class_group.is_combined:
        if grade is not None and grade != class_group.grade:
            raise PeopleError(
                "GRADE_NOT_IN_CLASS",
                _("Class %(class)s has no pupils of grade %(grade)s.")
                % {"class": class_group.name, "grade": grade},
                "grade",
            )
        return None
    if grade is None:
        raise PeopleError(
            "GRADE_REQUIRED",
            _("Class %(class)s is a combined class: choose the pupil's grade (%(grades)s).")
            % {"class": class_group.name, "grades": ", ".join(map(str, class_group.grades))},
            "grade",
        )
    if grade not in class_group.grades:
        raise PeopleError(
            "GRADE_NOT_IN_CLASS",
            _("Class %(class)s has no pupils of grade %(grade)s.")
            % {"class": class_group.name, "grade": grade},
            "grade",
        )
    return grade


def _enrol(
    student: Student,
    class_group: ClassGroup,
    when: dt.date,
    reason: str,
    grade: int | None = None,
) -> Enrolment:
    own_grade = _own_grade(class_group, grade)
    year = class_group.school_year
    if not (year.start_date <= when <= year.end_date):
        raise PeopleError(
            "DATE_OUTSIDE_YEAR",
            _("The date must fall within the school year %(year)s (%(start)s – %(end)s).")
            % {"year": year.name, "start": f"{year.start_date:%d/%m/%Y}",
               "end": f"{year.end_date:%d/%m/%Y}"},
            "date",
        )  # fmt: skip
    if _open_enrolment(student, class_group) is not None:
        raise PeopleError(
            "ALREADY_ENROLLED",
            _("%(name)s is already in a class of %(year)s.")
            % {"name": student.full_name, "year": year.name},
            "class_group",
        )
    if student.enrolments.filter(class_group=class_group).exists():
        raise PeopleError(
            "WAS_IN_CLASS",
            _("%(name)s was already in class %(class)s this year; choose another class.")
            % {"name": student.full_name, "class": class_group.name},
            "class_group",
        )
    return Enrolment.objects.create(
        student=student, class_group=class_group, date_joined=when, join_reason=reason,
        grade=own_grade,
    )  # fmt: skip


@transaction.atomic
def enrol(
    actor: Any,
    student: Student,
    class_group: ClassGroup,
    when: dt.date,
    reason: str = JoinReason.NEW,
    request: HttpRequest | None = None,
    grade: int | None = None,
) -> Enrolment:
    """Enrol a student who has no class in that school year (`grade`: the pupil's own, in a
    combined class)."""
    enrolment = _enrol(student, class_group, when, reason, grade)
    record_event(
        actor, "student.enrol", enrolment, summary=f"{student.full_name} → {class_group}",
        new={"class": class_group.pk, "date_joined": when, "reason": reason}, request=request,
    )  # fmt: skip
    return enrolment


@transaction.atomic
def move(
    actor: Any,
    student: Student,
    to_class: ClassGroup,
    when: dt.date,
    request: HttpRequest | None = None,
    grade: int | None = None,
) -> Enrolment:
    """Move a student to another class of the same school and year: the current enrolment ends
    the day before `when`, a new one starts on `when` (the history keeps both)."""
    current = _open_enrolment(student, to_class)
    if current is None:
        raise PeopleError(
            "NOT_ENROLLED",
            _("%(name)s has no class in %(year)s to move from.")
            % {"name": student.full_name, "year": to_class.school_year.name},
            "class_group",
        )
    if current.class_group_id == to_class.pk:
        raise PeopleError("SAME_CLASS", _("The student is already in this class."), "class_group")
    if current.class_group.school_id != to_class.school_id:
        raise PeopleError(
            "OTHER_SCHOOL", _("A student moves only between classes of one school."), "class_group"
        )
    if when <= current.date_joined:
        raise PeopleError(
            "DATE_BEFORE_JOINED",
            _("The move must come after the student joined class %(class)s (%(date)s).")
            % {"class": current.class_group.name, "date": f"{current.date_joined:%d/%m/%Y}"},
            "date",
        )
    current.date_left = when - dt.timedelta(days=1)
    current.leave_reason = LeaveReason.CLASS_CHANGE
    current.save(update_fields=["date_left", "leave_reason"])
    if grade is None and to_class.is_combined:
        grade = current.own_grade  # a pupil moving into a combined class keeps their grade
    enrolment = _enrol(student, to_class, when, JoinReason.CLASS_CHANGE, grade)
    record_event(
        actor, "student.move", enrolment,
        summary=f"{student.full_name}: {current.class_group.name} → {to_class.name}",
        old={"class": current.class_group_id}, new={"class": to_class.pk, "date": when},
        request=request,
    )  # fmt: skip
    return enrolment


LEAVING_REASONS = (LeaveReason.TRANSFER_OUT, LeaveReason.DROPPED_OUT)


@transaction.atomic
def mark_leaving(
    actor: Any,
    student: Student,
    school: School,
    when: dt.date,
    reason: str,
    request: HttpRequest | None = None,
) -> Enrolment:
    """The student leaves `school` (transferred out, dropped out) on `when`: only an enrolment
    open at this school is closed, never one at another school."""
    if reason not in LEAVING_REASONS:
        raise PeopleError("LEAVE_REASON", _("Choose why the student leaves."), "reason")
    current = (
        student.enrolments.filter(date_left__isnull=True, class_group__school=school)
        .select_related("class_group")
        .order_by("-date_joined")
        .first()
    )
    if current is None:
        raise PeopleError(
            "NOT_ENROLLED_HERE",
            _("%(name)s has no class here to leave.") % {"name": student.full_name},
        )
    if when < current.date_joined:
        raise PeopleError(
            "DATE_BEFORE_JOINED",
            _("The student cannot leave before joining (%(date)s).")
            % {"date": f"{current.date_joined:%d/%m/%Y}"},
            "date",
        )
    current.date_left, current.leave_reason = when, reason
    current.save(update_fields=["date_left", "leave_reason"])
    record_event(
        actor, "student.leave", current, summary=f"{student.full_name} ({reason})",
        new={"date_left": when, "reason": reason}, request=request,
    )  # fmt: skip
    return current


# --- staff -----------------------------------------------------------------------------------

STAFF_FIELDS = ("personal_id", "full_name", "position")


def _check_staff(staff: Staff, actor: Any) -> None:
    try:
        staff.full_clean(exclude=["user", "school"], validate_unique=False)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise PeopleError("STAFF_INVALID", messages[0], field) from None
    same = Staff.objects.exclude(pk=staff.pk).filter(personal_id=staff.personal_id).first()
    if same is not None:
        message = _("Personal ID number %(id)s is already that of another person.") % {
            "id": staff.personal_id
        }
        if can(actor, Permission.STAFF_READ, same):
            message = _("Personal ID number %(id)s is already that of %(name)s.") % {
                "id": staff.personal_id, "name": same.full_name,
            }  # fmt: skip
        raise PeopleError("PERSONAL_ID_TAKEN", message, "personal_id")


@transaction.atomic
def add_staff(
    actor: Any, school: School, fields: dict[str, Any], request: HttpRequest | None = None
) -> Staff:
    staff = Staff(school=school, **{k: str(fields.get(k, "")).strip() for k in STAFF_FIELDS})
    staff.full_name = normalize_name(staff.full_name)
    _check_staff(staff, actor)
    staff.save()
    record_event(
        actor, "staff.add", staff, summary=staff.full_name,
        new={k: getattr(staff, k) for k in STAFF_FIELDS}, request=request,
    )  # fmt: skip
    return staff


@transaction.atomic
def edit_staff(
    actor: Any, staff: Staff, fields: dict[str, Any], request: HttpRequest | None = None
) -> list[str]:
    """Change a staff member's personal ID number, name or position."""
    staff = Staff.objects.select_for_update().get(pk=staff.pk)

    def change() -> None:
        for k in STAFF_FIELDS:
            if k in fields:
                setattr(staff, k, str(fields[k]).strip())
        staff.full_name = normalize_name(staff.full_name)

    return _save_changes(
        actor,
        staff,
        STAFF_FIELDS,
        change,
        lambda: _check_staff(staff, actor),
        "staff.edit",
        request,
    )


#: The roles a school gives its own staff, and the scope each needs.
SCHOOL_ROLES = (
    Role.HOMEROOM_TEACHER,
    Role.SUBJECT_TEACHER,
    Role.VICE_PRINCIPAL,
    Role.SEAL_KEEPER,
    Role.SCHOOL_ADMIN,
)


#: The roles a school administrator gives: teaching and their own (never the school's leaders).
SCHOOL_ADMIN_ROLES = (Role.HOMEROOM_TEACHER, Role.SUBJECT_TEACHER, Role.SCHOOL_ADMIN)


def _above_every_school(actor: Any) -> bool:
    """A superuser or system administrator: no school ceiling (their own account aside)."""
    if getattr(actor, "is_superuser", False):
        return True
    return RoleAssignment.objects.filter(
        staff__user=actor, role=Role.SYSTEM_ADMIN, active=True
    ).exists()


def roles_given_by(actor: Any, school: School) -> tuple[str, ...]:
    """The school roles `actor` may give and take away at `school`: all of them for the
    principal (and system administrators), teaching roles and school administrator for a
    school administrator, none for anyone else."""
    if _above_every_school(actor):
        return SCHOOL_ROLES
    held = set(
        RoleAssignment.objects.filter(staff__user=actor, school=school, active=True).values_list(
            "role", flat=True
        )
    )
    if Role.PRINCIPAL in held:
        return SCHOOL_ROLES
    if Role.SCHOOL_ADMIN in held:
        return SCHOOL_ADMIN_ROLES
    return ()


def _school_of(assignment: RoleAssignment) -> int | None:
    if assignment.school_id is not None:
        return assignment.school_id
    if assignment.class_group_id is not None:
        return assignment.class_group.school_id
    return None


def _own(actor: Any, staff: Staff) -> bool:
    return staff.user_id is not None and staff.user_id == getattr(actor, "pk", None)


def check_may_issue_staff(actor: Any, school: School, user: Any) -> None:
    """Refuse an activation code for a staff account above `actor` at `school`: the actor's own,
    a superuser's or administrator's, one holding a role outside the school or a role the actor
    does not give (for a school administrator: the principal, vice principals, seal keepers)."""
    if user.pk == getattr(actor, "pk", None):
        raise PeopleError("ACCOUNT_OWN", _("You cannot issue a code for your own account."))
    if _above_every_school(actor):
        return
    refused = PeopleError(
        "ACCOUNT_ABOVE_YOU",
        _("This account holds a role you do not give; the person above you issues its code."),
    )
    if user.is_superuser or Staff.objects.filter(user=user).exclude(school=school).exists():
        raise refused
    if user.is_staff and not Staff.objects.filter(user=user, school=school).exists():
        raise refused  # an administrator of the site, not a staff member of this school
    given = roles_given_by(actor, school)
    for assignment in RoleAssignment.objects.filter(staff__user=user, active=True).select_related(
        "class_group"
    ):
        if assignment.role not in given or _school_of(assignment) != school.pk:
            raise refused


def check_may_issue_access(actor: Any, school: School, user: Any) -> None:
    """Refuse an activation code for a parent's or student's account unless every student it
    reaches is enrolled at `school` now, and it is no staff member's account."""
    if user.pk == getattr(actor, "pk", None):
        raise PeopleError("ACCOUNT_OWN", _("You cannot issue a code for your own account."))
    if _above_every_school(actor):
        return
    elsewhere = StudentAccess.objects.filter(user=user).exclude(
        student__enrolments__in=Enrolment.objects.filter(
            date_left__isnull=True, class_group__school=school
        )
    )
    if (
        user.is_superuser
        or user.is_staff
        or Staff.objects.filter(user=user).exists()
        or elsewhere.exists()
    ):
        raise PeopleError(
            "ACCOUNT_NOT_HERE",
            _("This account is not only that of a student of this school or their parent."),
        )


@transaction.atomic
def assign_role(
    actor: Any,
    staff: Staff,
    role: str,
    class_group: ClassGroup | None = None,
    subject_code: str = "",
    request: HttpRequest | None = None,
) -> RoleAssignment:
    """Give a staff member of a school one of the school's roles: only a role the actor gives
    (`roles_given_by`), never to themselves."""
    school = staff.school
    if role not in SCHOOL_ROLES or school is None:
        raise PeopleError("ROLE_NOT_ALLOWED", _("This role is not given by the school."), "role")
    if role not in roles_given_by(actor, school):
        raise PeopleError("ROLE_ABOVE_YOU", _("You cannot give this role."), "role")
    if _own(actor, staff):
        raise PeopleError("ROLE_OWN", _("You cannot change your own roles."), "role")
    per_class = role in (Role.HOMEROOM_TEACHER, Role.SUBJECT_TEACHER)
    if per_class and class_group is None:
        raise PeopleError("CLASS_REQUIRED", _("Choose the class."), "class_group")
    if class_group is not None and per_class and class_group.school_id != school.pk:
        raise PeopleError("OTHER_SCHOOL", _("The class belongs to another school."), "class_group")
    assignment = RoleAssignment(
        staff=staff,
        role=role,
        class_group=class_group if per_class else None,
        subject_code=subject_code if role == Role.SUBJECT_TEACHER else "",
        school=None if per_class else school,
    )
    try:
        assignment.full_clean(exclude=["staff"])
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise PeopleError("ROLE_INVALID", messages[0], field) from None
    scope = Q(class_group=assignment.class_group, subject_code=assignment.subject_code)
    if not per_class:
        scope = Q(school=school)
    if RoleAssignment.objects.filter(scope, staff=staff, role=role, active=True).exists():
        raise PeopleError("ROLE_HELD", _("This person already holds this role."), "role")
    if role == Role.HOMEROOM_TEACHER:
        holder = RoleAssignment.objects.filter(
            role=role, class_group=class_group, active=True
        ).first()
        if holder is not None:
            raise PeopleError(
                "HOMEROOM_TAKEN",
                _("Class %(class)s already has a homeroom teacher: %(name)s.")
                % {"class": class_group.name if class_group else "", "name": holder.staff},
                "class_group",
            )
    assignment.save()
    record_event(
        actor, "role.assign", assignment, summary=str(assignment),
        new={"staff": staff.pk, "role": role, "class": assignment.class_group_id,
             "subject": assignment.subject_code, "school": assignment.school_id},
        request=request,
    )  # fmt: skip
    return assignment


@transaction.atomic
def remove_role(actor: Any, assignment: RoleAssignment, request: HttpRequest | None = None) -> None:
    """End a role assignment (kept, inactive: signatures made under it still name it): only a
    school role the actor gives (`roles_given_by`) at the staff member's school, never their
    own."""
    if not assignment.active:
        return
    school = assignment.staff.school
    if (
        school is None
        or _school_of(assignment) != school.pk
        or assignment.role not in roles_given_by(actor, school)
    ):
        raise PeopleError("ROLE_ABOVE_YOU", _("You cannot remove this role."))
    if _own(actor, assignment.staff):
        raise PeopleError("ROLE_OWN", _("You cannot change your own roles."))
    assignment.active = False
    assignment.save(update_fields=["active"])
    record_event(
        actor, "role.remove", assignment, summary=str(assignment),
        old={"active": True}, new={"active": False}, request=request,
    )  # fmt: skip


# --- accounts and activation codes ----------------------------------------------------------

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed
CODE_LENGTH = 12


def normalize_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _hash(user_pk: int, code: str) -> str:
    return salted_hmac("hocba.people.activation", f"{user_pk}:{normalize_code(code)}").hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


@dataclass(frozen=True, slots=True)
class Letter:
    """What one person's activation letter says."""

    full_name: str
    """The person the account is for."""
    about: str
    """Who they are at the school (position, class, the child a parent account follows)."""
    username: str
    code: str
    """The one-time activation code, in groups of four."""
    expires: dt.date


def _issue(actor: Any, user: Any) -> tuple[str, dt.datetime]:
    now = timezone.now()
    ActivationCode.objects.filter(user=user, used_at__isnull=True, void_at__isnull=True).update(
        void_at=now
    )
    code = _new_code()
    expires = now + dt.timedelta(days=settings.ACTIVATION_CODE_DAYS)
    ActivationCode.objects.create(
        user=user, code_hash=_hash(user.pk, code), issued_by=actor, issued_at=now,
        expires_at=expires,
    )  # fmt: skip
    if user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return code, expires


@transaction.atomic
def issue_code(
    actor: Any,
    school: School,
    user: Any,
    full_name: str,
    about: str,
    request: HttpRequest | None = None,
) -> Letter:
    """A new activation code for one account of `school` (a staff member's or a student's or
    parent's); its password and older codes stop working. Refused for an account above the actor
    (`check_may_issue_staff`) or reaching beyond the school (`check_may_issue_access`)."""
    has_access = StudentAccess.objects.filter(user=user).exists()
    if Staff.objects.filter(user=user).exists() or not has_access:
        check_may_issue_staff(actor, school, user)
    if has_access:
        check_may_issue_access(actor, school, user)
    code, expires = _issue(actor, user)
    record_event(
        actor, "account.code", user, summary=f"{user.get_username()} ({full_name})",
        request=request,
    )  # fmt: skip
    return Letter(full_name, about, user.get_username(), code, timezone.localdate(expires))


def _username(base: str) -> str:
    """`base`, or `base` with the smallest number after it that no account has."""
    base = base[:140]
    taken = set(User.objects.filter(username__startswith=base).values_list("username", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def staff_username(staff: Staff) -> str:
    """Given name and the family and middle names' initials, then the school's code:
    Nguyễn Văn An at school 25000201 → annv.25000201."""
    words = fold(staff.full_name).replace("'", "").replace("-", "").split() or ["gv"]
    initials = "".join(w[0] for w in words[:-1])
    school = staff.school.code if staff.school else "gv"
    return _username(f"{words[-1]}{initials}.{school}".lower())


def _never_used(user: Any) -> bool:
    return not user.has_usable_password() and user.last_login is None


def _new_user(username: str) -> Any:
    user = User(username=username)
    user.set_unusable_password()
    user.save()
    return user


def _ask(people: list[tuple[Any, Any, str, str]], actor: Any) -> list[Letter]:
    """Codes for (user, _, full name, about) rows, in order."""
    letters = []
    for user, _unused, full_name, about in people:
        code, expires = _issue(actor, user)
        letters.append(
            Letter(full_name, about, user.get_username(), code, timezone.localdate(expires))
        )
    return letters


@transaction.atomic
def staff_accounts(actor: Any, school: School, request: HttpRequest | None = None) -> list[Letter]:
    """Accounts for the school's staff who have none, and new codes for accounts never used."""
    rows = []
    for staff in Staff.objects.filter(school=school).select_related("user", "school"):
        user = staff.user
        if user is None:
            try:
                user = _new_user(staff_username(staff))
            except IntegrityError:  # pragma: no cover - a name taken between the read and write
                raise PeopleError("USERNAME_TAKEN", _("Try again.")) from None
            staff.user = user
            staff.save(update_fields=["user"])
        elif not _never_used(user):
            continue
        try:
            check_may_issue_staff(actor, school, user)
        except PeopleError:
            continue  # the person above the actor issues this one
        rows.append((user, staff, staff.full_name, staff.position or str(_("Staff"))))
    letters = _ask(_sorted(rows), actor)
    record_event(
        actor, "account.bulk", school, summary=f"staff: {len(letters)}",
        new={"group": "staff", "usernames": [x.username for x in letters]}, request=request,
    )  # fmt: skip
    return letters


def _class_students(class_group: ClassGroup) -> list[Student]:
    return list(
        Student.objects.filter(
            enrolments__class_group=class_group, enrolments__date_left__isnull=True
        ).prefetch_related("access__user")
    )


@transaction.atomic
def student_accounts(
    actor: Any, class_group: ClassGroup, parents: bool, request: HttpRequest | None = None
) -> list[Letter]:
    """Accounts for the students of a class (or one parent account per student), linked to the
    student; students who have one already get a new code only if it was never used."""
    relation = StudentAccess.Relation.PARENT if parents else StudentAccess.Relation.SELF
    rows = []
    for student in _class_students(class_group):
        linked = [a.user for a in student.access.all() if a.relation == relation]
        if linked:
            user = linked[0]
            if not _never_used(user):
                continue
            try:
                check_may_issue_access(actor, class_group.school, user)
            except PeopleError:
                continue
        else:
            prefix = "ph." if parents else ""
            user = _new_user(_username(f"{prefix}{student.student_code.lower()}"))
            StudentAccess.objects.create(user=user, student=student, relation=relation)
        if parents:
            about = _("Parent of %(name)s, class %(class)s") % {
                "name": student.full_name, "class": class_group.name,
            }  # fmt: skip
            name = _("Parent of %(name)s") % {"name": student.full_name}
        else:
            about = _("Student of class %(class)s") % {"class": class_group.name}
            name = student.full_name
        rows.append((user, student, name, about))
    letters = _ask(_sorted(rows), actor)
    record_event(
        actor, "account.bulk", class_group,
        summary=f"{'parents' if parents else 'students'} {class_group}: {len(letters)}",
        new={"group": "parents" if parents else "students",
             "usernames": [x.username for x in letters]},
        request=request,
    )  # fmt: skip
    return letters


def _sorted(rows: list[tuple[Any, Any, str, str]]) -> list[tuple[Any, Any, str, str]]:
    return sorted(rows, key=lambda row: name_key(row[1].full_name))


class ActivationError(ValueError):
    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


@transaction.atomic
def activate(username: str, code: str, password: str, request: HttpRequest | None = None) -> Any:
    """Check a one-time code and set the account's password; the user, for signing in.
    Nothing is written unless the code is valid and the password acceptable."""
    user = User.objects.filter(username=username.strip().lower(), is_active=True).first()
    if user is None:
        user = User.objects.filter(username=username.strip(), is_active=True).first()
    found = None
    if user is not None:
        found = (
            ActivationCode.objects.select_for_update()
            .filter(user=user, code_hash=_hash(user.pk, code))
            .first()
        )
    if found is None:
        raise ActivationError(
            "CODE_WRONG", _("This username and activation code do not match."), "code"
        )
    if found.used_at is not None:
        raise ActivationError("CODE_USED", _("This activation code has already been used."))
    if found.void_at is not None:
        raise ActivationError(
            "CODE_REPLACED", _("This activation code was replaced by a newer one.")
        )
    if found.expires_at <= timezone.now():
        raise ActivationError(
            "CODE_EXPIRED",
            _("This activation code expired on %(date)s; ask the school for a new one.")
            % {"date": f"{timezone.localtime(found.expires_at):%d/%m/%Y}"},
        )
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ActivationError("PASSWORD_WEAK", " ".join(error.messages), "password1") from None
    found.used_at = timezone.now()
    found.save(update_fields=["used_at"])
    user.set_password(password)
    user.save(update_fields=["password"])
    record_event(user, "account.activate", user, summary=user.get_username(), request=request)
    return user
