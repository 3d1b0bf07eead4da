"""Every page and every API endpoint, tried by someone outside its scope: the answer is 403.

The table below names, for each route of the site and of the API, a user inside its scope (who
gets through) and one outside it (who is refused). A route added without an entry here fails
`test_every_route_is_in_the_table`, so nothing new goes untried.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from hocba import blobs
from hocba.blobs import Kind
from hocba.config.api import api
from hocba.documents.models import RenderJob
from hocba.family import services as family
from hocba.family.models import StudentAccess
from hocba.gradebook.models import ClassSubject
from hocba.jobs.models import Job
from hocba.organizations.models import Commune, DistrictOffice, Role, RoleAssignment
from hocba.records.models import ExternalRecord, Record, RecordVersion, State
from hocba.records.services import correct_record
from hocba.warehouse import auth as warehouse_auth
from hocba.warehouse.models import StoredRecord

pytestmark = pytest.mark.django_db

SCHOOL, OTHER_SCHOOL, YEAR = "25000201", "25000301", "2024-2025"

#: Open to anyone by design (each is tested for what it shows in its own module).
PUBLIC = {
    "": "redirects each user to their landing page, or to the login",
    "login/": "the login page",
    "logout/": "signing out",
    "i18n/setlang/": "choosing the language",
    "xac-minh/": "the public verification portal",
    "xac-minh/<str:record_id>/<int:version>": "the address printed in the QR code",
    "chia-se/<str:token>/": "a share link (the token is the authorisation)",
    "chia-se/<str:token>/hoc-ba.pdf": "a share link's PDF (the token is the authorisation)",
    "api/v1/": "the API root",
    "api/v1/openapi.json": "the API description",
    "api/v1/docs": "the API documentation page",
    "api/v1/verify/<record_id>/<version>": "public verification, as JSON",
    "api/v1/verify": "public verification of an upload, as JSON",
    "api/v1/warehouse/oauth/token": "the token endpoint (the client secret is the authorisation)",
    "kich-hoat/": "first sign-in with an activation code (the code is the authorisation)",
}


@dataclass
class World:
    """Objects of the demo school and the users around them."""

    school: str
    district: int
    commune: int  # the ward that manages the school
    class_id: int
    other_class: str  # homeroom teacher's username of another class in the same school
    homeroom: str
    subject: ClassSubject
    subject_teacher: str
    other_subject_teacher: str  # teaches another subject in the same class
    student_id: int
    record: Record
    version: RecordVersion
    draft: RecordVersion
    job: RenderJob
    student_user: str
    other_student_user: str
    share_pk: int
    session: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    package_id: str = ""
    external_pk: int = 0  # a record another system issued to the student, imported
    staff_pk: int = 0
    access_pk: int = 0


@dataclass
class Case:
    method: str
    path: Callable[[World], str]
    insider: str | Callable[[World], str]
    outsider: str | Callable[[World], str]
    data: Callable[[World], Any] | None = None
    content_type: str = ""
    bearer: bool = False
    ok: tuple[int, ...] = (200, 302)

    def who(self, value: str | Callable[[World], str], world: World) -> str:
        return value(world) if callable(value) else value


def _cell(w: World) -> dict[str, str]:
    name = f"c-{w.student_id}-HK1-CK-1"
    return {"cell": name, name: "8"}


def _group(w: World) -> str:
    return json.dumps({"group": f"GVBM-{w.class_id}-TOAN", "certificate": ""})


def _import_file(w: World) -> dict[str, str]:
    """A student list uploaded to the import page (kept by its digest)."""
    import hashlib

    content = "Mã học sinh;Họ và tên;Lớp\r\nTPHAM01;Lê Văn Phạm;7A\r\n".encode()
    digest = hashlib.sha256(content).hexdigest()
    if not default_storage.exists(f"imports/{digest}"):
        default_storage.save(f"imports/{digest}", ContentFile(content))
    return {"kind": "students", "year": YEAR, "digest": digest}


def _import_job(w: World) -> int:
    return Job.objects.create(
        kind="hocba.imports.tasks.apply_file", state="DONE",
        arguments={"school": w.school, "kind": "students", "year": YEAR},
    ).pk  # fmt: skip


CASES: dict[str, list[Case]] = {
    "national/": [Case("GET", lambda w: "/national/", "bo.gddt", "so.phutho")],
    "provinces/<str:code>/": [Case("GET", lambda w: "/provinces/25/", "so.phutho", "ht.chuvanan")],
    # the Phòng is history since 1 July 2025: the Sở still reads its page
    "districts/<int:pk>/": [
        Case("GET", lambda w: f"/districts/{w.district}/", "so.phutho", "ht.chuvanan")
    ],
    "communes/<int:pk>/": [
        Case("GET", lambda w: f"/communes/{w.commune}/", "xa.thanhmieu", "ht.chuvanan")
    ],
    "schools/<str:code>/": [
        Case("GET", lambda w: f"/schools/{w.school}/", "ht.chuvanan", "ht.hungvuong")
    ],
    "schools/<str:code>/review/": [
        Case("GET", lambda w: f"/schools/{w.school}/review/", "ht.chuvanan", "ht.hungvuong")
    ],
    "classes/<int:pk>/": [
        Case("GET", lambda w: f"/classes/{w.class_id}/", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "students/<int:pk>/": [
        Case("GET", lambda w: f"/students/{w.student_id}/", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "gradebook/subjects/<int:pk>/": [
        Case("GET", lambda w: f"/gradebook/subjects/{w.subject.pk}/",
             lambda w: w.subject_teacher, lambda w: w.other_subject_teacher)
    ],
    "gradebook/subjects/<int:pk>/cell/": [
        Case("POST", lambda w: f"/gradebook/subjects/{w.subject.pk}/cell/",
             lambda w: w.subject_teacher, lambda w: w.other_subject_teacher, _cell)
    ],
    "gradebook/subjects/<int:pk>/template.xlsx": [
        Case("GET", lambda w: f"/gradebook/subjects/{w.subject.pk}/template.xlsx",
             lambda w: w.subject_teacher, lambda w: w.other_subject_teacher)
    ],
    "gradebook/subjects/<int:pk>/import/": [
        Case("POST", lambda w: f"/gradebook/subjects/{w.subject.pk}/import/",
             lambda w: w.subject_teacher, lambda w: w.other_subject_teacher,
             lambda w: {"file": ContentFile(b"not a workbook", name="diem.xlsx")},
             ok=(200, 302, 400, 422))
    ],
    "gradebook/subjects/<int:pk>/chart/": [
        Case("GET", lambda w: f"/gradebook/subjects/{w.subject.pk}/chart/",
             lambda w: w.subject_teacher, lambda w: w.other_class)
    ],
    "gradebook/classes/<int:pk>/": [
        Case("GET", lambda w: f"/gradebook/classes/{w.class_id}/", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "gradebook/classes/<int:pk>/export.xlsx": [
        Case("GET", lambda w: f"/gradebook/classes/{w.class_id}/export.xlsx",
             lambda w: w.homeroom, lambda w: w.other_class)
    ],
    "gradebook/classes/<int:pk>/csdl.xlsx": [
        Case("GET", lambda w: f"/gradebook/classes/{w.class_id}/csdl.xlsx",
             lambda w: w.homeroom, lambda w: w.subject_teacher)
    ],
    "gradebook/classes/<int:pk>/students/<int:student_id>/homeroom/": [
        Case("GET", lambda w: f"/gradebook/classes/{w.class_id}/students/{w.student_id}/homeroom/",
             lambda w: w.homeroom, lambda w: w.other_class),
        Case("POST", lambda w: f"/gradebook/classes/{w.class_id}/students/{w.student_id}/homeroom/",
             lambda w: w.homeroom, lambda w: w.subject_teacher, lambda w: {"comment": "Chăm chỉ"},
             ok=(200, 302, 400, 422)),
    ],
    "gradebook/schools/<str:code>/locks/": [
        Case("GET", lambda w: f"/gradebook/schools/{w.school}/locks/", "ht.chuvanan",
             lambda w: w.homeroom)
    ],
    "records/classes/<int:pk>/": [
        Case("GET", lambda w: f"/records/classes/{w.class_id}/", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "records/classes/<int:pk>/build/": [
        Case("POST", lambda w: f"/records/classes/{w.class_id}/build/", "ht.chuvanan",
             lambda w: w.homeroom)
    ],
    "records/<str:record_id>/": [
        Case("GET", lambda w: f"/records/{w.record.record_id}/", lambda w: w.homeroom,
             lambda w: w.other_class),
        Case("POST", lambda w: f"/records/{w.record.record_id}/", "ht.chuvanan", "vt.chuvanan",
             lambda w: {"action": "revoke", "reason": "Thử"}),
    ],
    "records/<str:record_id>/v<int:version>.xml": [
        Case("GET", lambda w: f"/records/{w.record.record_id}/v{w.version.version}.xml",
             lambda w: w.homeroom, lambda w: w.other_class)
    ],
    "records/<str:record_id>/v<int:version>.pdf": [
        Case("GET", lambda w: f"/records/{w.record.record_id}/v{w.version.version}.pdf",
             lambda w: w.homeroom, lambda w: w.other_class, ok=(200,))
    ],
    "documents/classes/<int:pk>/render/": [
        Case("POST", lambda w: f"/documents/classes/{w.class_id}/render/", "vt.chuvanan",
             lambda w: w.homeroom, ok=(302,))
    ],
    "documents/jobs/<int:pk>/": [
        Case("GET", lambda w: f"/documents/jobs/{w.job.pk}/", "vt.chuvanan", "vt.hungvuong")
    ],
    "documents/jobs/<int:pk>/all.zip": [
        Case("GET", lambda w: f"/documents/jobs/{w.job.pk}/all.zip", "vt.chuvanan",
             "vt.hungvuong")
    ],
    "documents/jobs/<int:pk>/merged/<str:name>.pdf": [
        Case("GET", lambda w: f"/documents/jobs/{w.job.pk}/merged/lop.pdf", "vt.chuvanan",
             "vt.hungvuong")
    ],
    "exchange/schools/<str:code>/": [
        Case("GET", lambda w: f"/exchange/schools/{w.school}/", "vt.chuvanan", "vt.hungvuong")
    ],
    "exchange/schools/<str:code>/resend/": [
        Case("POST", lambda w: f"/exchange/schools/{w.school}/resend/", "vt.chuvanan",
             "pht.chuvanan", lambda w: {"item": "0"}, ok=(200, 302, 404))
    ],
    "exchange/schools/<str:code>/send/": [
        Case("POST", lambda w: f"/exchange/schools/{w.school}/send/", "vt.chuvanan",
             "ht.hungvuong")
    ],
    "exchange/stats/": [
        Case("GET", lambda w: "/exchange/stats/", "so.phutho", lambda w: w.student_user)
    ],
    "signing/": [Case("GET", lambda w: "/signing/", lambda w: w.homeroom,
                      lambda w: w.student_user)],
    "signing/prepare/": [
        Case("POST", lambda w: "/signing/prepare/", lambda w: w.subject_teacher,
             lambda w: w.other_subject_teacher, _group, "application/json", ok=(400,))
    ],
    "signing/complete/": [
        Case("POST", lambda w: "/signing/complete/", lambda w: w.homeroom,
             lambda w: w.student_user, lambda w: json.dumps({"session": "x"}),
             "application/json", ok=(404,)),
        # the homeroom teacher's own session (no values sent: 400) is not another teacher's
        Case("POST", lambda w: "/signing/complete/", lambda w: w.homeroom,
             lambda w: w.other_class, lambda w: json.dumps({"session": w.session}),
             "application/json", ok=(400,)),
    ],
    "signing/csc/": [
        Case("POST", lambda w: "/signing/csc/", lambda w: w.subject_teacher,
             lambda w: w.other_subject_teacher, lambda w: {"group": f"GVBM-{w.class_id}-TOAN"},
             ok=(302,))
    ],
    "imports/schools/<str:code>/": [
        Case("GET", lambda w: f"/imports/schools/{w.school}/", "ht.chuvanan", "ht.hungvuong")
    ],
    "imports/schools/<str:code>/preview/": [
        Case("POST", lambda w: f"/imports/schools/{w.school}/preview/", "ht.chuvanan",
             "ht.hungvuong", _import_file, ok=(200,))
    ],
    "imports/schools/<str:code>/apply/": [
        Case("POST", lambda w: f"/imports/schools/{w.school}/apply/", "ht.chuvanan",
             "ht.hungvuong", _import_file)
    ],
    "imports/schools/<str:code>/jobs/<int:pk>/": [
        Case("GET", lambda w: f"/imports/schools/{w.school}/jobs/{_import_job(w)}/",
             "ht.chuvanan", "ht.hungvuong")
    ],
    "imports/schools/<str:code>/export/<str:kind>.xlsx": [
        Case("GET", lambda w: f"/imports/schools/{w.school}/export/students.xlsx",
             "ht.chuvanan", "ht.hungvuong"),
        # the lists hold personal IDs, families and addresses: not for the school's teachers
        Case("GET", lambda w: f"/imports/schools/{w.school}/export/students.xlsx",
             "ht.chuvanan", lambda w: w.homeroom),
        Case("GET", lambda w: f"/imports/schools/{w.school}/export/staff.xlsx",
             "ht.chuvanan", lambda w: w.homeroom),
    ],
    "signing/schools/<str:code>/": [
        Case("GET", lambda w: f"/signing/schools/{w.school}/", "ht.chuvanan", "ht.hungvuong")
    ],
    "signing/preview/<int:pk>.pdf": [
        Case("GET", lambda w: f"/signing/preview/{w.draft.pk}.pdf", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "my/": [Case("GET", lambda w: "/my/", lambda w: w.student_user, "ht.chuvanan")],
    "my/records/<str:record_id>/v<int:version>.pdf": [
        Case("GET", lambda w: f"/my/records/{w.record.record_id}/v{w.version.version}.pdf",
             lambda w: w.student_user, lambda w: w.other_student_user, ok=(200,))
    ],
    "my/records/<str:record_id>/v<int:version>.xml": [
        Case("GET", lambda w: f"/my/records/{w.record.record_id}/v{w.version.version}.xml",
             lambda w: w.student_user, lambda w: w.other_student_user)
    ],
    "my/records/<str:record_id>/share/": [
        Case("POST", lambda w: f"/my/records/{w.record.record_id}/share/",
             lambda w: w.student_user, lambda w: w.other_student_user,
             lambda w: {"recipient": "Trường THPT Việt Trì", "days": "30"})
    ],
    "my/shares/<int:pk>/revoke/": [
        Case("POST", lambda w: f"/my/shares/{w.share_pk}/revoke/", lambda w: w.student_user,
             lambda w: w.other_student_user)
    ],
    "external/schools/<str:code>/": [
        Case("GET", lambda w: f"/external/schools/{w.school}/", "ht.chuvanan", "ht.hungvuong"),
        Case("POST", lambda w: f"/external/schools/{w.school}/", "ht.chuvanan", "vt.chuvanan",
             lambda w: {"files": ContentFile(b"<a/>", name="a.xml")}, ok=(422,)),
    ],
    # another system's record is read at the school and above, not by the pupil's teachers
    "external/<int:pk>/": [
        Case("GET", lambda w: f"/external/{w.external_pk}/", "pht.chuvanan",
             lambda w: w.homeroom),
        Case("GET", lambda w: f"/external/{w.external_pk}/", "ht.chuvanan", "ht.hungvuong"),
        Case("POST", lambda w: f"/external/{w.external_pk}/", "ht.chuvanan", "ht.hungvuong",
             lambda w: {"action": "correct", "reason": "Thử"}, ok=(302,)),
    ],
    "external/<int:pk>.xml": [
        Case("GET", lambda w: f"/external/{w.external_pk}.xml", "pht.chuvanan",
             lambda w: w.homeroom, ok=(200,)),
        Case("GET", lambda w: f"/external/{w.external_pk}.xml", "ht.chuvanan", "ht.hungvuong",
             ok=(200,)),
    ],
    "my/external/<int:pk>.xml": [
        Case("GET", lambda w: f"/my/external/{w.external_pk}.xml", lambda w: w.student_user,
             lambda w: w.other_student_user, ok=(200,))
    ],
    # --- people and accounts -------------------------------------------------------------
    "schools/<str:code>/students/": [
        Case("GET", lambda w: f"/schools/{w.school}/students/?q=a", "ht.chuvanan", "ht.hungvuong")
    ],
    "schools/<str:code>/students/new/": [
        Case("GET", lambda w: f"/schools/{w.school}/students/new/", "ht.chuvanan",
             lambda w: w.homeroom)
    ],
    "schools/<str:code>/students/<int:pk>/": [
        Case("GET", lambda w: f"/schools/{w.school}/students/{w.student_id}/", "ht.chuvanan",
             "ht.hungvuong"),
        Case("POST", lambda w: f"/schools/{w.school}/students/{w.student_id}/", "ht.chuvanan",
             lambda w: w.homeroom, lambda w: {"action": "save"}),
    ],
    "schools/<str:code>/staff/": [
        Case("GET", lambda w: f"/schools/{w.school}/staff/?q=a", "ht.chuvanan",
             lambda w: w.homeroom)
    ],
    "schools/<str:code>/staff/new/": [
        Case("GET", lambda w: f"/schools/{w.school}/staff/new/", "ht.chuvanan", "ht.hungvuong")
    ],
    "schools/<str:code>/staff/<int:pk>/": [
        Case("GET", lambda w: f"/schools/{w.school}/staff/{w.staff_pk}/", "ht.chuvanan",
             "ht.hungvuong"),
        # the vice principal edits staff details but gives no roles
        Case("POST", lambda w: f"/schools/{w.school}/staff/{w.staff_pk}/", "ht.chuvanan",
             "pht.chuvanan", lambda w: {"action": "assign", "role-role": "SEAL_KEEPER"}),
    ],
    "schools/<str:code>/accounts/": [
        Case("GET", lambda w: f"/schools/{w.school}/accounts/", "ht.chuvanan", "pht.chuvanan")
    ],
    "schools/<str:code>/accounts/reset/": [
        Case("POST", lambda w: f"/schools/{w.school}/accounts/reset/", "ht.chuvanan",
             "ht.hungvuong", lambda w: {"kind": "access", "pk": w.access_pk}, ok=(200,))
    ],
    # --- the API (session) ---------------------------------------------------------------
    "api/v1/classes/<class_id>/students": [
        Case("GET", lambda w: f"/api/v1/classes/{w.class_id}/students", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "api/v1/students/<student_id>": [
        Case("GET", lambda w: f"/api/v1/students/{w.student_id}", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "api/v1/schools/<code>/review": [
        Case("GET", lambda w: f"/api/v1/schools/{w.school}/review", "ht.chuvanan",
             "ht.hungvuong")
    ],
    "api/v1/gradebook/subjects/<class_subject_id>": [
        Case("GET", lambda w: f"/api/v1/gradebook/subjects/{w.subject.pk}",
             lambda w: w.subject_teacher, lambda w: w.other_class),
        Case("PUT", lambda w: f"/api/v1/gradebook/subjects/{w.subject.pk}",
             lambda w: w.subject_teacher, lambda w: w.other_subject_teacher,
             lambda w: json.dumps({"cells": []}), "application/json"),
    ],
    "api/v1/records/<record_id>": [
        Case("GET", lambda w: f"/api/v1/records/{w.record.record_id}", lambda w: w.homeroom,
             lambda w: w.other_class)
    ],
    "api/v1/records/<record_id>/versions/<version>.xml": [
        Case("GET", lambda w: f"/api/v1/records/{w.record.record_id}/versions/1.xml",
             lambda w: w.homeroom, lambda w: w.other_class)
    ],
    # --- the warehouse API (bearer tokens: our school, another school) -------------------
    "api/v1/warehouse/packages": [
        Case("POST", lambda w: "/api/v1/warehouse/packages", "school", "reader",
             lambda w: b"<goi/>", "application/xml", bearer=True, ok=(200, 202, 400))
    ],
    "api/v1/warehouse/packages/<package_id>": [
        Case("GET", lambda w: f"/api/v1/warehouse/packages/{w.package_id}", "school",
             "other", bearer=True)
    ],
    "api/v1/warehouse/records/<record_id>": [
        Case("GET", lambda w: f"/api/v1/warehouse/records/{w.record.record_id}", "school",
             "other", bearer=True)
    ],
    "api/v1/warehouse/students/<personal_id>/records": [
        Case("GET", lambda w: f"/api/v1/warehouse/students/{w.record.student.personal_id}/records",
             "province", "school", bearer=True)
    ],
    "api/v1/warehouse/records/<record_id>/cancel-requests": [
        Case("POST", lambda w: f"/api/v1/warehouse/records/{w.record.record_id}/cancel-requests",
             "school", "other", lambda w: json.dumps({"reason": "Cấp nhầm"}),
             "application/json", bearer=True, ok=(202,))
    ],
    "api/v1/warehouse/stats": [
        Case("GET", lambda w: "/api/v1/warehouse/stats", "school", "reader", bearer=True)
    ],
}  # fmt: skip


def _routes() -> set[str]:
    found: set[str] = set()

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.add(prefix + str(entry.pattern))

    walk(get_resolver(), "")
    # Django's admin checks its own permissions (tests/organizations/test_scopes.py)
    return {route for route in found if not route.startswith("admin/")}


def test_every_route_is_in_the_table():
    routes = _routes()
    assert routes - PUBLIC.keys() - CASES.keys() == set(), "routes nobody tried from outside"
    assert CASES.keys() - routes == set(), "the table names routes that no longer exist"
    operations = {
        (method.upper(), path)
        for path, methods in api.get_openapi_schema()["paths"].items()
        for method in methods
    }
    tried = {
        (case.method, "/" + route.replace("<", "{").replace(">", "}"))
        for route, cases in CASES.items()
        for case in cases
        if route.startswith("api/")
    }
    public = {"/" + route.replace("<", "{").replace(">", "}") for route in PUBLIC}
    untried = {(m, p) for m, p in operations if (m, p) not in tried and p not in public}
    assert untried == set(), "API operations nobody tried from outside"


@pytest.fixture
def world(demo, settings, tmp_path) -> World:  # type: ignore[no-untyped-def]
    settings.WAREHOUSE_ENABLED = True
    settings.CSC_URL = "http://127.0.0.1:9/csc/v2"  # nothing listens: the insider is told so
    users = get_user_model().objects
    own = StudentAccess.objects.select_related("user").get(
        relation=StudentAccess.Relation.SELF, student__records__school__code=SCHOOL
    )
    stranger = StudentAccess.objects.filter(relation=StudentAccess.Relation.SELF).exclude(
        student=own.student
    )[0]
    record = Record.objects.select_related("student", "class_group").get(
        student=own.student, school_year__name=YEAR, versions__state=State.ISSUED
    )
    version = record.versions.get(state=State.ISSUED)
    class_group = record.class_group
    assignments = RoleAssignment.objects.filter(class_group=class_group).select_related(
        "staff__user"
    )
    homeroom = next(a for a in assignments if a.role == Role.HOMEROOM_TEACHER)
    toan = next(a for a in assignments if a.subject_code == "TOAN")
    other = next(
        a
        for a in assignments
        if a.role == Role.SUBJECT_TEACHER and a.staff_id not in (toan.staff_id, homeroom.staff_id)
        and not assignments.filter(staff=a.staff, subject_code="TOAN").exists()
    )  # fmt: skip
    other_class = RoleAssignment.objects.filter(
        role=Role.HOMEROOM_TEACHER, class_group__school__code=SCHOOL,
        class_group__school_year__name=YEAR,
    ).exclude(class_group=class_group)[0]  # fmt: skip
    principal = users.get(username="ht.chuvanan")
    draft_record = Record.objects.filter(
        class_group=class_group, versions__state=State.ISSUED
    ).exclude(pk=record.pk)[0]
    draft = correct_record(principal, draft_record, "Đính chính")
    job = RenderJob.objects.create(
        school=class_group.school, class_group=class_group, requested_by=principal,
        progress=Job.objects.create(kind="hocba.documents.tasks.render_batch", state="DONE"),
    )  # fmt: skip
    archive = ContentFile(b"PK\x05\x06" + bytes(18))
    merged = ContentFile(b"%PDF-1.7")
    job.outputs = {
        "zip": default_storage.save(f"jobs/{job.pk}/lop.zip", archive),
        "merged": {"lop": default_storage.save(f"jobs/{job.pk}/lop.pdf", merged)},
    }
    job.save()
    _, link = family.create_link(own.user, record, "Trường THPT Việt Trì", 30)
    world = World(
        school=SCHOOL,
        district=DistrictOffice.objects.get().pk,
        commune=Commune.objects.get(code="07909", valid_to=None).pk,
        class_id=class_group.pk,
        other_class=other_class.staff.user.username,
        homeroom=homeroom.staff.user.username,
        subject=ClassSubject.objects.get(class_group=class_group, subject_code="TOAN"),
        subject_teacher=toan.staff.user.username,
        other_subject_teacher=other.staff.user.username,
        student_id=record.student_id,
        record=record,
        version=version,
        draft=draft,
        job=job,
        student_user=own.user.username,
        other_student_user=stranger.user.username,
        share_pk=link.pk,
        staff_pk=homeroom.staff_id,
        access_pk=own.pk,
    )
    from django.utils import timezone

    from hocba.workflow.models import SigningSession

    world.session = str(
        SigningSession.objects.create(
            user=users.get(username=world.homeroom), slot="GVCN", certificate="",
            signing_time=timezone.now(),
        ).pk
    )  # fmt: skip
    _warehouse(world)
    world.external_pk = _external(record, principal).pk
    return world


def _external(record: Record, principal: Any) -> ExternalRecord:
    """A record another system issued to the world's student, as the import keeps it (the
    import itself is tried in tests/external/)."""
    content = b"<HOC_BA/>"
    return ExternalRecord.objects.create(
        student=record.student, school=record.school,
        record_id="7d1f8a0e-4b7d-4c2a-9e51-3d6f0a9b8c72", version=1, issuer_code="26000777",
        issuer_name="Trường THCS Liên Bảo", school_year="2023-2024", grade=6,
        xml_sha256=blobs.put(Kind.RECORD_XML, content).sha256, xml_size=len(content),
        verdict="VALID", report={"checks": []}, verified_at=record.created_at,
        imported_by=principal,
    )  # fmt: skip


def _warehouse(world: World) -> None:
    """Accounts at the warehouse: our school, another school, a Sở, and a reader that may only
    read statistics; the record stored; a package of ours received."""
    from hocba.warehouse.models import Account, ReceivedPackage

    accounts = {
        "school": dict(kind=Account.Kind.SCHOOL, school_code=SCHOOL, province_code="25",
                       province_office_code="25", tax_code="2600000201"),
        "other": dict(kind=Account.Kind.SCHOOL, school_code=OTHER_SCHOOL, province_code="25",
                      province_office_code="25", tax_code="2600000301"),
        "province": dict(kind=Account.Kind.PROVINCE, province_code="25",
                         province_office_code="25", tax_code="2600000025"),
        "reader": dict(kind=Account.Kind.PROVINCE, province_code="26",
                       province_office_code="26", tax_code="2600000026",
                       scopes="records:read"),
    }  # fmt: skip
    for name, fields in accounts.items():
        account = warehouse_auth.create_account(f"scope-{name}", "bi-mat", name, **fields)
        value, _ = warehouse_auth.issue_token(f"scope-{name}", "bi-mat", None, "127.0.0.1")
        world.tokens[name] = value
        if name == "school":
            package = ReceivedPackage.objects.create(
                account=account, package_id="6f1c3c1e-8c1b-4f5e-9a51-0d7c4f1b2a3c",
                sha256="0" * 64, size=1, status=ReceivedPackage.Status.DONE,
            )  # fmt: skip
            world.package_id = str(package.package_id)
    assert StoredRecord.objects.filter(record_id=world.record.record_id).exists()


def _request(client: Client, case: Case, world: World, who: str) -> Any:
    path = case.path(world)
    kwargs: dict[str, Any] = {}
    if case.bearer:
        kwargs["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[who]}"
    else:
        client.force_login(get_user_model().objects.get(username=who))
    data = case.data(world) if case.data else None
    if case.content_type:
        kwargs["content_type"] = case.content_type
    return getattr(client, case.method.lower())(path, data, **kwargs)


ALL = [(route, i) for route, cases in CASES.items() for i in range(len(cases))]


@pytest.mark.parametrize(("route", "index"), ALL, ids=[f"{r}#{i}" for r, i in ALL])
def test_outside_the_scope_is_refused(world, route, index):
    case = CASES[route][index]
    outsider = case.who(case.outsider, world)
    refused = _request(Client(), case, world, outsider)
    assert refused.status_code == 403, (outsider, refused.status_code, refused.content[:300])
    insider = case.who(case.insider, world)
    allowed = _request(Client(), case, world, insider)
    assert allowed.status_code in case.ok, (insider, allowed.status_code, allowed.content[:300])


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login(world, client):
    for route, cases in CASES.items():
        for case in cases:
            if case.bearer:
                continue
            data = case.data(world) if case.data else None
            kwargs = {"content_type": case.content_type} if case.content_type else {}
            response = getattr(client, case.method.lower())(case.path(world), data, **kwargs)
            if route.startswith("api/"):
                assert response.status_code == 401, route
            else:
                assert response.status_code == 302, route
                assert response["Location"].startswith("/login/"), route
