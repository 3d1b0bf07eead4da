"""A locked grade book refuses every write path; unlocking needs a reason and is audited."""

import io

import pytest
from openpyxl import load_workbook

from hocba.audit.models import AuditEvent
from hocba.gradebook import excel
from hocba.gradebook.models import Assessment, Kind, LockedError, Term
from hocba.gradebook.services import (
    CellChange,
    ValidationFailed,
    lock_gradebook,
    save_assessments,
    save_homeroom,
    unlock_gradebook,
)
from tests.factories.database import user

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked(toan_7a):
    return lock_gradebook(user("ht.chuvanan"), toan_7a.class_group.school, toan_7a.class_group)


def snapshot(cs):
    return sorted(Assessment.objects.filter(class_subject=cs).values_list("pk", "score", "code"))


def test_service_refuses(locked, toan_7a, student_7a):
    with pytest.raises(LockedError):
        save_assessments(user("gv.chuvanan.toan.k7"), toan_7a,
                         [CellChange(student_7a.pk, Term.HK1, Kind.TX, 1, "1")])  # fmt: skip
    with pytest.raises(LockedError):
        save_homeroom(user("gvcn.chuvanan.7a"), toan_7a.class_group, student_7a,
                      {"conduct_hk1": "K"})  # fmt: skip


def test_model_layer_refuses(locked, toan_7a):
    assessment = Assessment.objects.filter(class_subject=toan_7a).first()
    assessment.score = 1
    with pytest.raises(LockedError):
        assessment.save()
    with pytest.raises(LockedError):
        assessment.delete()


def test_page_refuses(locked, toan_7a, student_7a, login):
    before = snapshot(toan_7a)
    client = login("gv.chuvanan.toan.k7")
    page = client.post(f"/gradebook/subjects/{toan_7a.pk}/",
                       {"term": "HK1", f"c-{student_7a.pk}-HK1-TX-1": "1"})  # fmt: skip
    assert "Sổ điểm đã khóa" in page.content.decode()
    name = f"c-{student_7a.pk}-HK1-TX-1"
    cell = client.post(f"/gradebook/subjects/{toan_7a.pk}/cell/", {"cell": name, name: "1"})
    assert "Sổ điểm đã khóa" in cell.content.decode()
    assert snapshot(toan_7a) == before


def test_api_refuses(locked, toan_7a, student_7a, login):
    before = snapshot(toan_7a)
    response = login("gv.chuvanan.toan.k7").put(
        f"/api/v1/gradebook/subjects/{toan_7a.pk}",
        {
            "cells": [
                {"student_id": student_7a.pk, "term": "HK1", "kind": "TX", "seq": 1, "value": "1"}
            ]
        },
        content_type="application/json",
    )
    assert response.status_code == 423
    assert response.json()["error"]["code"] == "LOCKED"
    assert snapshot(toan_7a) == before


def test_excel_import_refuses(locked, toan_7a):
    before = snapshot(toan_7a)
    content = excel.template(toan_7a)
    with pytest.raises(LockedError):
        excel.import_workbook(user("gv.chuvanan.toan.k7"), toan_7a, content)
    assert snapshot(toan_7a) == before


def test_admin_refuses(locked, toan_7a, login):
    assessment = Assessment.objects.filter(class_subject=toan_7a).first()
    client = login("quantri")
    response = client.post(f"/admin/gradebook/assessment/{assessment.pk}/change/", {"score": "1"})
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert assessment.score != 1


def test_subject_lock_leaves_other_subjects_and_homeroom_open(toan_7a, student_7a):
    lock_gradebook(user("ht.chuvanan"), toan_7a.class_group.school, toan_7a.class_group, "TOAN")
    with pytest.raises(LockedError):
        save_assessments(user("gv.chuvanan.toan.k7"), toan_7a,
                         [CellChange(student_7a.pk, Term.HK1, Kind.TX, 1, "1")])  # fmt: skip
    save_homeroom(user("gvcn.chuvanan.7a"), toan_7a.class_group, student_7a, {"comment": "Tốt"})


def test_semester_lock_covers_only_that_semester(toan_7a, student_7a):
    lock_gradebook(user("ht.chuvanan"), toan_7a.class_group.school, term=Term.HK1)
    teacher = user("gv.chuvanan.toan.k7")
    with pytest.raises(LockedError):
        save_assessments(teacher, toan_7a, [CellChange(student_7a.pk, "HK1", "TX", 1, "1")])
    assert save_assessments(teacher, toan_7a, [CellChange(student_7a.pk, "HK2", "TX", 1, "1")]) in (
        0,
        1,
    )


def test_only_school_leaders_lock(toan_7a):
    from django.core.exceptions import PermissionDenied

    for username in ("gv.chuvanan.toan.k7", "gvcn.chuvanan.7a", "ht.hungvuong", "so.phutho"):
        with pytest.raises(PermissionDenied):
            lock_gradebook(user(username), toan_7a.class_group.school)


def test_unlocking_needs_a_reason_and_is_audited(locked, toan_7a, student_7a):
    principal = user("ht.chuvanan")
    with pytest.raises(ValidationFailed):
        unlock_gradebook(principal, locked, "  ")
    unlock_gradebook(principal, locked, "Sửa điểm nhập nhầm theo đơn của phụ huynh")
    event = AuditEvent.objects.filter(action="gradebook.unlock").latest("id")
    assert event.reason == "Sửa điểm nhập nhầm theo đơn của phụ huynh"
    assert event.actor == principal
    save_assessments(user("gv.chuvanan.toan.k7"), toan_7a,
                     [CellChange(student_7a.pk, Term.HK1, Kind.TX, 1, "1")])  # fmt: skip


def test_lock_page_locks_and_unlocks(login, toan_7a):
    client = login("ht.chuvanan")
    form = {"class_group": toan_7a.class_group.pk, "subject_code": "", "term": ""}
    client.post("/gradebook/schools/25000201/locks/", form)
    page = client.get("/gradebook/schools/25000201/locks/").content.decode()
    assert "7A" in page and 'name="unlock"' in page
    assert login("gv.chuvanan.toan.k7").get("/gradebook/schools/25000201/locks/").status_code == 403


def test_export_still_works_when_locked(locked, toan_7a):
    book = load_workbook(io.BytesIO(excel.export_class_book(toan_7a.class_group)))
    assert "TOAN" in book.sheetnames
