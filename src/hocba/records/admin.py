"""Records in the admin are read-only for everyone: versions change only through the record
services (build, correct, revoke, sign), and an issued version never changes at all."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from hocba.organizations.admin_scoped import ScopedAdmin
from hocba.organizations.permissions import Permission
from hocba.records.models import ExternalRecord, Record, RecordVersion


class ReadOnly(ScopedAdmin):
    read_permission = Permission.RECORD_READ

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RecordVersion
    extra = 0
    fields = ("version", "event", "status", "state", "xml_sha256", "reason", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Record)
class RecordAdmin(ReadOnly):
    list_display = ("record_id", "student", "class_group", "school_year")
    search_fields = ("student__full_name", "student__student_code")
    inlines = (VersionInline,)


@admin.register(RecordVersion)
class RecordVersionAdmin(ReadOnly):
    list_display = ("record", "version", "event", "status", "state", "created_at")
    list_filter = ("state", "event")


@admin.register(ExternalRecord)
class ExternalRecordAdmin(ReadOnly):
    """Records issued by another system: imported through the import page or command only."""

    list_display = (
        "student", "school_year", "grade", "issuer_name", "verdict_shown", "imported_at",
    )  # fmt: skip
    list_filter = ("verdict",)
    search_fields = ("student__full_name", "student__student_code", "record_id")

    @admin.display(description=_("verification verdict"), ordering="verdict")
    def verdict_shown(self, obj: ExternalRecord) -> str:
        """The verdict in words ("Hợp lệ"), not its code ("VALID")."""
        return obj.verdict_text
