from django.contrib import admin

from hocba.organizations.admin_scoped import ScopedAdmin, register_read_permission
from hocba.organizations.permissions import Permission
from hocba.students.models import Enrolment, Student

register_read_permission(Student, Permission.STUDENT_READ)


class EnrolmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Enrolment
    extra = 0
    fields = ("class_group", "date_joined", "join_reason", "date_left", "leave_reason")
    readonly_fields = fields


@admin.register(Student)
class StudentAdmin(ScopedAdmin):
    read_permission = Permission.STUDENT_READ
    write_permission = Permission.STUDENT_WRITE
    list_display = ("student_code", "full_name", "date_of_birth", "sex")
    search_fields = ("student_code", "full_name", "personal_id")
    list_filter = ("sex",)
    inlines = (EnrolmentInline,)


@admin.register(Enrolment)
class EnrolmentAdmin(ScopedAdmin):
    read_permission = Permission.STUDENT_READ
    list_display = ("student", "class_group", "date_joined", "date_left")
    list_filter = ("class_group__school_year",)
    scope_fields = ("student", "class_group")
