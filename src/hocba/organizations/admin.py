from django.contrib import admin

from hocba.organizations.admin_scoped import ScopedAdmin, is_system_admin
from hocba.organizations.models import (
    ClassGroup,
    Commune,
    DistrictOffice,
    ProvinceOffice,
    RoleAssignment,
    School,
    SchoolPlacement,
    SchoolSite,
    SchoolYear,
    Staff,
)
from hocba.organizations.permissions import Permission


@admin.register(ProvinceOffice)
class ProvinceOfficeAdmin(ScopedAdmin):
    read_permission = Permission.PROVINCE_READ
    list_display = ("code", "name", "province_code", "province_name")
    search_fields = ("code", "name")


@admin.register(Commune)
class CommuneAdmin(ScopedAdmin):
    read_permission = Permission.COMMUNE_READ
    list_display = ("code", "name", "kind", "province_code", "valid_from", "valid_to")
    list_filter = ("kind", "province_code")
    search_fields = ("code", "name")
    scope_fields = ("code", "province_code", "valid_from", "valid_to")


@admin.register(DistrictOffice)
class DistrictOfficeAdmin(ScopedAdmin):
    read_permission = Permission.DISTRICT_READ
    list_display = ("code", "name", "province_office", "valid_to")
    list_filter = ("province_office",)
    scope_fields = ("province_office",)


class SchoolPlacementInline(admin.TabularInline):  # type: ignore[type-arg]
    model = SchoolPlacement
    extra = 0
    fields = (
        "valid_until", "name", "code", "commune", "district_office", "managing_commune",
        "province_office",
    )  # fmt: skip


@admin.register(School)
class SchoolAdmin(ScopedAdmin):
    read_permission = Permission.SCHOOL_READ
    write_permission = Permission.SCHOOL_WRITE
    list_display = ("code", "name", "province_office", "managing_commune")
    list_filter = ("province_office",)
    search_fields = ("code", "name")
    scope_fields = ("code", "province_office", "district_office", "managing_commune", "commune")

    def get_inlines(self, request, obj):  # type: ignore[no-untyped-def]
        # former placements fix what issued records say: system administrators only
        return (SchoolPlacementInline,) if is_system_admin(request) else ()


@admin.register(SchoolYear)
class SchoolYearAdmin(ScopedAdmin):
    read_permission = Permission.CLASS_READ
    list_display = ("name", "start_date", "end_date")


@admin.register(ClassGroup)
class ClassGroupAdmin(ScopedAdmin):
    read_permission = Permission.CLASS_READ
    write_permission = Permission.CLASS_WRITE
    list_display = ("name", "grade", "level", "school", "site", "school_year")
    list_filter = ("school_year", "level", "grade")
    search_fields = ("name", "school__name", "school__code")
    scope_fields = ("school", "school_year", "level", "grade", "combined_grades")


@admin.register(SchoolSite)
class SchoolSiteAdmin(ScopedAdmin):
    read_permission = Permission.SCHOOL_READ
    write_permission = Permission.SCHOOL_WRITE
    list_display = ("name", "school", "street_address")
    search_fields = ("name", "school__name", "school__code")
    scope_fields = ("school",)


class RoleAssignmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RoleAssignment
    extra = 0
    fields = (
        "role",
        "class_group",
        "subject_code",
        "school",
        "district_office",
        "commune",
        "province_office",
        "active",
    )

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return is_system_admin(request)

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return self.has_add_permission(request, obj)


@admin.register(Staff)
class StaffAdmin(ScopedAdmin):
    read_permission = Permission.STAFF_READ
    write_permission = Permission.STAFF_WRITE
    list_display = ("full_name", "position", "school")
    search_fields = ("full_name", "personal_id")
    scope_fields = ("school", "user", "personal_id")
    inlines = (RoleAssignmentInline,)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ScopedAdmin):
    read_permission = Permission.STAFF_READ
    list_display = ("staff", "role", "class_group", "subject_code", "school", "active")
    list_filter = ("role", "active")
    search_fields = ("staff__full_name",)
