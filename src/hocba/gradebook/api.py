"""The grade book over the API: read a subject's cells, write cells (same rules as the page:
the assigned teacher only, locks respected, all-or-nothing validation)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from hocba.gradebook.models import Assessment, ClassSubject
from hocba.gradebook.services import CellChange, save_assessments
from hocba.gradebook.values import display
from hocba.organizations.permissions import Permission, can

router = Router(tags=["gradebook"])


class Cell(Schema):
    student_id: int
    term: str
    kind: str
    seq: int = 1
    value: str | None = None


class SubjectBook(Schema):
    class_subject: int
    class_name: str
    subject_code: str
    subject_name: str
    mode: str
    periods_per_year: int
    cells: list[Cell]


class CellsIn(Schema):
    cells: list[Cell]


class Saved(Schema):
    changed: int


@router.get("/gradebook/subjects/{class_subject_id}", response=SubjectBook)
def read_subject(request: HttpRequest, class_subject_id: int) -> dict[str, object]:
    cs = get_object_or_404(ClassSubject.objects.select_related("class_group"), pk=class_subject_id)
    if not can(request.user, Permission.GRADEBOOK_READ, cs):
        raise PermissionDenied
    cells = [
        {
            "student_id": a.student_id,
            "term": a.term,
            "kind": a.kind,
            "seq": a.seq,
            "value": display(a.score, a.code),
        }
        for a in Assessment.objects.filter(class_subject=cs).order_by(
            "student_id", "term", "kind", "seq"
        )
    ]
    return {
        "class_subject": cs.pk, "class_name": cs.class_group.name, "subject_code": cs.subject_code,
        "subject_name": cs.name, "mode": cs.mode, "periods_per_year": cs.periods_per_year,
        "cells": cells,
    }  # fmt: skip


@router.put("/gradebook/subjects/{class_subject_id}", response=Saved)
def write_subject(request: HttpRequest, class_subject_id: int, payload: CellsIn) -> dict[str, int]:
    cs = get_object_or_404(ClassSubject.objects.select_related("class_group"), pk=class_subject_id)
    changes = [
        CellChange(c.student_id, c.term, c.kind, c.seq, c.value or "", where=f"cells[{i}]")
        for i, c in enumerate(payload.cells)
    ]
    return {"changed": save_assessments(request.user, cs, changes, request=request)}
