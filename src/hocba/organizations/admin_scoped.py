"""A ModelAdmin that shows and edits only what the user's roles reach.

Non-superusers see the admin through `hocba.organizations.permissions`: lists are scoped,
objects outside the scope do not exist for them, foreign-key choices are limited to what they may
read, and the fields that place an object in a scope are read-only (nobody moves a school to
another province from the admin but a system administrator). Adding and deleting are for system
administrators.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.http import HttpRequest

from hocba.audit.services import record_event
from hocba.organizations.models import (
    ClassGroup,
    Commune,
    DistrictOffice,
    ProvinceOffice,
    Role,
    School,
    SchoolYear,
    Staff,
)
from hocba.organizations.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    active_assignments,
    can,
    has_role,
    scoped,
)


def _plain(value: Any) -> Any:
    if isinstance(value, models.Model):
        return value.pk
    return value


READ_PERMISSION: dict[type[models.Model], Permission] = {
    ProvinceOffice: Permission.PROVINCE_READ,
    DistrictOffice: Permission.DISTRICT_READ,
    Commune: Permission.COMMUNE_READ,
    School: Permission.SCHOOL_READ,
    SchoolYear: Permission.CLASS_READ,
    ClassGroup: Permission.CLASS_READ,
    Staff: Permission.STAFF_READ,
}


def register_read_permission(model: type[models.Model], permission: Permission) -> None:
    READ_PERMISSION[model] = permission


def is_system_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_superuser) or has_role(user, Role.SYSTEM_ADMIN)


def _holds(request: HttpRequest, permission: Permission | None) -> bool:
    if permission is None:
        return False
    if request.user.is_superuser:
        return True
    return any(
        permission in ROLE_PERMISSIONS.get(a.role, frozenset())
        for a in active_assignments(request.user)
    )


class ScopedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    read_permission: Permission
    write_permission: Permission | None = None
    scope_fields: tuple[str, ...] = ()
    """Fields that place the object in a scope; read-only except for system administrators."""

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        return scoped(request.user, self.read_permission, super().get_queryset(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and _holds(
            request, self.read_permission
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.has_module_permission(request):
            return False
        return obj is None or can(request.user, self.read_permission, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        if not _holds(request, self.write_permission):
            return False
        assert self.write_permission is not None
        return obj is None or can(request.user, self.write_permission, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff) and is_system_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_add_permission(request)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if is_system_admin(request):
            return readonly
        return readonly + self.scope_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Every admin change is an audit event with the old and new values of changed fields."""
        fields = list(form.changed_data)
        old = {}
        if change and obj.pk is not None:
            stored = type(obj)._default_manager.filter(pk=obj.pk).first()
            old = {f: _plain(getattr(stored, f, None)) for f in fields}
        new = {f: _plain(getattr(obj, f, None)) for f in fields}
        if change:
            fields = [f for f in fields if old.get(f) != new[f]]
            old = {f: old[f] for f in fields}
            new = {f: new[f] for f in fields}
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record_event(
                request.user,
                "admin.change" if change else "admin.add",
                obj,
                summary=str(obj)[:300],
                old=old or None,
                new=new,
                request=request,
            )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            record_event(request.user, "admin.delete", obj, summary=str(obj)[:300], request=request)
            super().delete_model(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        permission = READ_PERMISSION.get(db_field.related_model)
        if permission is not None and "queryset" not in kwargs:
            kwargs["queryset"] = scoped(
                request.user, permission, db_field.related_model._default_manager.all()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
