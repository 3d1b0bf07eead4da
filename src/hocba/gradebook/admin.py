"""The grade book in the admin is read-only: marks are entered by the assigned teachers on the
grade-book pages (or by Excel import), where permissions, locks and the audit apply."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from hocba.gradebook.models import (
    Assessment,
    ClassSubject,
    GradebookLock,
    HomeroomRecord,
    SubjectRemark,
    YearResult,
)
from hocba.organizations.admin_scoped import ScopedAdmin
from hocba.organizations.permissions import Permission


class ReadOnlyScopedAdmin(ScopedAdmin):
    read_permission = Permission.GRADEBOOK_READ

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ClassSubject)
class ClassSubjectAdmin(ScopedAdmin):
    read_permission = Permission.GRADEBOOK_READ
    write_permission = Permission.CLASS_WRITE
    list_display = ("name", "class_group", "mode", "periods_per_year")
    list_filter = ("class_group__school_year", "mode")
    scope_fields = ("class_group", "subject_code")


@admin.register(Assessment)
class AssessmentAdmin(ReadOnlyScopedAdmin):
    list_display = (
        "student",
        "class_subject",
        "term",
        "kind",
        "seq",
        "score",
        "code",
        "entered_by",
    )
    list_filter = ("term", "kind")
    search_fields = ("student__full_name", "student__student_code")


@admin.register(SubjectRemark)
class SubjectRemarkAdmin(ReadOnlyScopedAdmin):
    list_display = ("student", "class_subject", "entered_by")


@admin.register(HomeroomRecord)
class HomeroomRecordAdmin(ReadOnlyScopedAdmin):
    list_display = ("student", "class_group", "conduct_hk1", "conduct_hk2", "absences")
    search_fields = ("student__full_name", "student__student_code")


@admin.register(YearResult)
class YearResultAdmin(ReadOnlyScopedAdmin):
    list_display = ("student", "class_group", "outcome", "complete", "computed_at")
    list_filter = ("outcome", "complete")


@admin.register(GradebookLock)
class GradebookLockAdmin(ReadOnlyScopedAdmin):
    list_display = ("describe", "school", "locked_by", "locked_at", "unlocked_at", "unlock_reason")
