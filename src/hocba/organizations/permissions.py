"""Who may do what to which object.

A role grants permissions; a role assignment limits them to its scope (a class and subject, a
class, a school, a commune, a district (history), a province, or the country). Each scoped
model declares how it is reached from those scopes (`register_scope`), so one query answers both
"which objects may this user see" (`scoped`) and "may this user do this to that object" (`can`).

Permission names read `scope:resource:action`, where the scope is the bounded context that owns
the resource (`students:student:read`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.db.models import Q

from hocba.organizations.models import (
    ClassGroup,
    Commune,
    DistrictOffice,
    ProvinceOffice,
    Role,
    RoleAssignment,
    School,
    SchoolSite,
    SchoolYear,
    Staff,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

M = TypeVar("M", bound=models.Model)


class Permission(StrEnum):
    PROVINCE_READ = "organizations:province:read"
    DISTRICT_READ = "organizations:district:read"
    COMMUNE_READ = "organizations:commune:read"
    SCHOOL_READ = "organizations:school:read"
    SCHOOL_WRITE = "organizations:school:write"
    CLASS_READ = "organizations:class:read"
    CLASS_WRITE = "organizations:class:write"
    STAFF_READ = "organizations:staff:read"
    STAFF_WRITE = "organizations:staff:write"
    STUDENT_READ = "students:student:read"
    STUDENT_WRITE = "students:student:write"
    DATA_REVIEW_READ = "students:review:read"
    GRADEBOOK_READ = "gradebook:book:read"
    ASSESSMENT_WRITE = "gradebook:assessment:write"
    HOMEROOM_WRITE = "gradebook:homeroom:write"
    GRADEBOOK_LOCK = "gradebook:lock:manage"
    PROMOTION_DECIDE = "gradebook:promotion:decide"
    RECORD_READ = "records:record:read"
    RECORD_BUILD = "records:record:build"
    RECORD_CORRECT = "records:record:correct"
    RECORD_REVOKE = "records:record:revoke"
    RECORD_IMPORT = "records:external:import"
    SIGN_SUBJECT = "signing:subject:sign"
    SIGN_HOMEROOM = "signing:homeroom:sign"
    SIGN_PRINCIPAL = "signing:principal:sign"
    SIGN_SEAL = "signing:seal:sign"
    ROLE_ASSIGN = "organizations:role:assign"
    ACCOUNT_MANAGE = "people:account:manage"


_P = Permission
_READ_ALL = frozenset(
    {
        _P.PROVINCE_READ,
        _P.DISTRICT_READ,
        _P.COMMUNE_READ,
        _P.SCHOOL_READ,
        _P.CLASS_READ,
        _P.STAFF_READ,
        _P.STUDENT_READ,
        _P.DATA_REVIEW_READ,
        _P.GRADEBOOK_READ,
        _P.RECORD_READ,
    }
)
_SCHOOL_MANAGEMENT = frozenset(
    {
        _P.SCHOOL_READ,
        _P.SCHOOL_WRITE,
        _P.CLASS_READ,
        _P.CLASS_WRITE,
        _P.STAFF_READ,
        _P.STAFF_WRITE,
        _P.STUDENT_READ,
        _P.STUDENT_WRITE,
        _P.DATA_REVIEW_READ,
        _P.GRADEBOOK_READ,
        _P.GRADEBOOK_LOCK,
        _P.PROMOTION_DECIDE,
        _P.RECORD_READ,
        _P.RECORD_BUILD,
        _P.RECORD_CORRECT,
    }
)

#: Only the person assigned holds these; no one else, not even a superuser, writes a teacher's
#: assessments or a homeroom teacher's records, or signs in someone's place.
TEACHER_ONLY = frozenset(
    {
        Permission.ASSESSMENT_WRITE,
        Permission.HOMEROOM_WRITE,
        Permission.SIGN_SUBJECT,
        Permission.SIGN_HOMEROOM,
        Permission.SIGN_PRINCIPAL,
        Permission.SIGN_SEAL,
    }
)

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.SUBJECT_TEACHER: frozenset(
        {
            _P.SCHOOL_READ,
            _P.CLASS_READ,
            _P.STUDENT_READ,
            _P.GRADEBOOK_READ,
            _P.ASSESSMENT_WRITE,
            _P.RECORD_READ,
            _P.SIGN_SUBJECT,
        }
    ),
    Role.HOMEROOM_TEACHER: frozenset(
        {
            _P.SCHOOL_READ,
            _P.CLASS_READ,
            _P.STUDENT_READ,
            _P.DATA_REVIEW_READ,
            _P.GRADEBOOK_READ,
            _P.HOMEROOM_WRITE,
            _P.RECORD_READ,
            _P.SIGN_HOMEROOM,
        }
    ),
    Role.PRINCIPAL: _SCHOOL_MANAGEMENT
    | {
        _P.RECORD_REVOKE,
        _P.RECORD_IMPORT,
        _P.SIGN_PRINCIPAL,
        _P.SIGN_SEAL,
        _P.ROLE_ASSIGN,
        _P.ACCOUNT_MANAGE,
    },
    Role.VICE_PRINCIPAL: _SCHOOL_MANAGEMENT,
    Role.SEAL_KEEPER: frozenset(
        {_P.SCHOOL_READ, _P.CLASS_READ, _P.STAFF_READ, _P.RECORD_READ, _P.SIGN_SEAL}
    ),
    # the school's people: students, staff, their roles and accounts (not its records)
    Role.SCHOOL_ADMIN: frozenset(
        {
            _P.SCHOOL_READ,
            _P.CLASS_READ,
            _P.STAFF_READ,
            _P.STAFF_WRITE,
            _P.STUDENT_READ,
            _P.STUDENT_WRITE,
            _P.DATA_REVIEW_READ,
            _P.ROLE_ASSIGN,
            _P.ACCOUNT_MANAGE,
        }
    ),
    Role.DISTRICT_OFFICER: _READ_ALL,
    Role.COMMUNE_OFFICER: _READ_ALL,
    Role.PROVINCE_OFFICER: _READ_ALL | {_P.SCHOOL_WRITE, _P.STAFF_WRITE},
    Role.MINISTRY_OFFICER: _READ_ALL,
    # Writing assessments and homeroom data stays with the assigned teachers, even for admins.
    Role.SYSTEM_ADMIN: frozenset(Permission) - TEACHER_ONLY,
}


@dataclass(frozen=True, slots=True)
class ScopePaths:
    """How a model is reached from each kind of scope: ORM lookups to the class, subject code,
    school, district office, managing commune and province office it belongs to (None: not
    reachable that way)."""

    class_group: str | None = None
    subject_code: str | None = None
    school: str | None = None
    district_office: str | None = None
    commune: str | None = None
    """The commune that manages it (a school's `managing_commune`), since 1 July 2025."""
    province_office: str | None = None
    province_code: str | None = None
    """For objects tied to a province by its code rather than to its Sở (communes)."""
    everyone: bool = False
    """Reference data: every holder of the permission reaches every object."""


_SCOPES: dict[type[models.Model], ScopePaths] = {}


def register_scope(model: type[M], paths: ScopePaths) -> type[M]:
    _SCOPES[model] = paths
    return model


def _assignment_q(assignment: RoleAssignment, paths: ScopePaths) -> Q | None:
    """The objects inside one assignment's scope, or None when it reaches none of them."""
    role = assignment.role
    if role in (Role.MINISTRY_OFFICER, Role.SYSTEM_ADMIN):
        return Q()
    if role in (Role.SUBJECT_TEACHER, Role.HOMEROOM_TEACHER):
        if paths.class_group is None:
            return _school_wide_for_teacher(assignment, paths)
        q = Q(**{paths.class_group: assignment.class_group_id})
        if role == Role.SUBJECT_TEACHER and paths.subject_code is not None:
            q &= Q(**{paths.subject_code: assignment.subject_code})
        return q
    if role in (Role.PRINCIPAL, Role.VICE_PRINCIPAL, Role.SEAL_KEEPER, Role.SCHOOL_ADMIN):
        return None if paths.school is None else Q(**{paths.school: assignment.school_id})
    if role == Role.DISTRICT_OFFICER:
        if paths.district_office is None:
            return None
        return Q(**{paths.district_office: assignment.district_office_id})
    if role == Role.COMMUNE_OFFICER:
        return None if paths.commune is None else Q(**{paths.commune: assignment.commune_id})
    if role == Role.PROVINCE_OFFICER:
        if paths.province_office is not None:
            return Q(**{paths.province_office: assignment.province_office_id})
        if paths.province_code is not None:
            assert assignment.province_office is not None
            return Q(**{paths.province_code: assignment.province_office.province_code})
        return None
    return None


def _school_wide_for_teacher(assignment: RoleAssignment, paths: ScopePaths) -> Q | None:
    # A teacher sees the school they teach in (its page), not the school's other classes.
    if paths.school is None or paths.school != "pk":
        return None
    return Q(pk=assignment.class_group.school_id)


def active_assignments(user: AbstractBaseUser | AnonymousUser) -> list[RoleAssignment]:
    if not user.is_authenticated:
        return []
    cached: list[RoleAssignment] | None = getattr(user, "_hocba_assignments", None)
    if cached is None:
        cached = list(
            RoleAssignment.objects.filter(staff__user=user, active=True).select_related(
                "class_group", "school", "district_office", "commune", "province_office"
            )
        )
        user._hocba_assignments = cached  # type: ignore[union-attr]
    return cached


def scoped(
    user: AbstractBaseUser | AnonymousUser, permission: Permission, queryset: models.QuerySet[M]
) -> models.QuerySet[M]:
    """The part of `queryset` that `user` may act on with `permission`."""
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if getattr(user, "is_superuser", False) and permission not in TEACHER_ONLY:
        return queryset
    paths = _SCOPES.get(queryset.model)
    if paths is None:
        raise LookupError(f"{queryset.model.__name__} has no registered scope")
    combined: Q | None = None
    for assignment in active_assignments(user):
        if permission not in ROLE_PERMISSIONS.get(assignment.role, frozenset()):
            continue
        if paths.everyone:
            return queryset
        q = _assignment_q(assignment, paths)
        if q is None:
            continue
        if q == Q():
            return queryset
        combined = q if combined is None else combined | q
    if combined is None:
        return queryset.none()
    return queryset.filter(pk__in=queryset.model._default_manager.filter(combined).values("pk"))


def can(user: AbstractBaseUser | AnonymousUser, permission: Permission, obj: Any) -> bool:
    """May `user` do `permission` to `obj`?"""
    model = type(obj)
    return scoped(user, permission, model._default_manager.filter(pk=obj.pk)).exists()


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return any(a.role in roles for a in active_assignments(user))


register_scope(ProvinceOffice, ScopePaths(province_office="pk", district_office="district_offices"))
register_scope(DistrictOffice, ScopePaths(district_office="pk", province_office="province_office"))
register_scope(Commune, ScopePaths(commune="pk", province_code="province_code"))
register_scope(
    School,
    ScopePaths(
        school="pk",
        district_office="district_office",
        commune="managing_commune",
        province_office="province_office",
    ),
)
register_scope(
    ClassGroup,
    ScopePaths(
        class_group="pk",
        school="school",
        district_office="school__district_office",
        commune="school__managing_commune",
        province_office="school__province_office",
    ),
)
register_scope(
    Staff,
    ScopePaths(
        school="school",
        district_office="school__district_office",
        commune="school__managing_commune",
        province_office="school__province_office",
    ),
)
register_scope(
    RoleAssignment,
    ScopePaths(
        school="staff__school",
        district_office="staff__school__district_office",
        commune="staff__school__managing_commune",
        province_office="staff__school__province_office",
    ),
)
register_scope(SchoolYear, ScopePaths(everyone=True))
register_scope(
    SchoolSite,
    ScopePaths(
        school="school",
        district_office="school__district_office",
        commune="school__managing_commune",
        province_office="school__province_office",
    ),
)
