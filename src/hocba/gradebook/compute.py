"""From the stored grade book to the rules engine and back: builds each student's input in the
shape of `docs/contracts/rules-evaluate.md`, evaluates it, and stores the answer as `YearResult`.
While data is missing it stores the semester results known so far and what is missing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import transaction

from hocba.gradebook.models import (
    Assessment,
    ClassSubject,
    HomeroomRecord,
    Kind,
    Term,
    YearResult,
)
from hocba.organizations.models import ClassGroup
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.rules.contract import RulesInputError, evaluate
from hocba.rules.primary import QUALITIES, competencies_for
from hocba.rules.scores import format1
from hocba.rules.secondary import (
    CommentAssessments,
    ScoreAssessments,
    comment_semester,
    semester_average,
    year_average,
)
from hocba.students.models import Student

TERM_NAMES = {Term.HK1: "HK I", Term.HK2: "HK II"}
Cells = dict[tuple[str, str, int], Assessment]
"""(term, kind, seq) → assessment, for one student and one subject."""


def regulation_of(class_group: ClassGroup) -> str:
    if class_group.level == Level.TH:
        return "TT27"
    if class_group.level == Level.GDTX:
        return "TT43"
    return "TT22"


def _value(a: Assessment) -> Any:
    return str(a.score) if a.score is not None else a.code


def _semester_raw(
    cs: ClassSubject, cells: Cells, term: str, missing: list[str]
) -> dict[str, Any] | None:
    tx = [cells[(term, Kind.TX, i)] for i in range(1, 10) if (term, Kind.TX, i) in cells]
    gk = cells.get((term, Kind.GK, 1))
    ck = cells.get((term, Kind.CK, 1))
    lacking = []
    if cs.scored and len(tx) < cs.regular_count:
        lacking.append(f"{cs.regular_count - len(tx)} điểm đánh giá thường xuyên")
    if gk is None:
        lacking.append("đánh giá giữa kì")
    if ck is None:
        lacking.append("đánh giá cuối kì")
    if lacking:
        missing.append(f"{cs.name} {TERM_NAMES[Term(term)]}: thiếu {', '.join(lacking)}")
        return None
    assert gk is not None and ck is not None
    raw: dict[str, Any] = {"tx": [_value(a) for a in tx], "gk": _value(gk), "ck": _value(ck)}
    cd = [cells[(term, Kind.CD, i)] for i in range(1, 4) if (term, Kind.CD, i) in cells]
    if cd and cs.scored:
        raw["cd"] = [_value(a) for a in cd]
    return raw


def _semester_result(cs: ClassSubject, raw: dict[str, Any]) -> Decimal | bool:
    if cs.scored:
        tx = tuple(Decimal(v) for v in raw["tx"] + raw.get("cd", []))
        return semester_average(ScoreAssessments(tx, Decimal(raw["gk"]), Decimal(raw["ck"])))
    flags = tuple(v == "Đ" for v in raw["tx"])
    return comment_semester(CommentAssessments(flags, raw["gk"] == "Đ", raw["ck"] == "Đ"), 2)


def _show(value: Decimal | bool | None) -> str | None:
    if isinstance(value, bool):
        return "Đ" if value else "CĐ"
    return format1(value)


def secondary_input(
    class_group: ClassGroup,
    subjects: list[ClassSubject],
    cells_by_subject: dict[int, Cells],
    record: HomeroomRecord | None,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(engine input, partial results, missing items) for one student."""
    missing: list[str] = []
    partial: dict[str, Any] = {}
    entries = []
    retake: dict[str, Any] = {}
    for cs in subjects:
        cells = cells_by_subject.get(cs.pk, {})
        if any(a.code == "M" for a in cells.values()):  # miễn: not assessed (Điều 11)
            entries.append({"code": cs.subject_code, "mode": cs.mode, "exempt": True})
            partial[cs.subject_code] = {"hk1": "M", "hk2": "M", "year": "M"}
            continue
        hk1 = _semester_raw(cs, cells, Term.HK1, missing)
        hk2 = _semester_raw(cs, cells, Term.HK2, missing)
        r1 = None if hk1 is None else _semester_result(cs, hk1)
        r2 = None if hk2 is None else _semester_result(cs, hk2)
        year: Decimal | bool | None = None
        if r1 is not None and r2 is not None:
            year = year_average(r1, r2) if cs.scored else r2  # type: ignore[arg-type]
        partial[cs.subject_code] = {"hk1": _show(r1), "hk2": _show(r2), "year": _show(year)}
        entries.append(
            {
                "code": cs.subject_code,
                "mode": cs.mode,
                "periods_per_year": cs.periods_per_year,
                "hk1": hk1,
                "hk2": hk2,
            }
        )
        again = cells.get((Term.SUMMER, Kind.RETAKE, 1))
        if again is not None:
            retake[cs.subject_code] = _value(again)
    conduct: dict[str, str] = {}
    if record is not None and record.conduct_hk1 and record.conduct_hk2:
        conduct = {"hk1": record.conduct_hk1, "hk2": record.conduct_hk2}
    else:
        missing.append("Kết quả rèn luyện học kì I và II")
    data = {
        "regulation": regulation_of(class_group),
        "level": "GDTX" if class_group.level == Level.GDTX else class_group.level,
        "grade": class_group.grade,
        "subjects": entries,
        "conduct": conduct,
        "absences": str(record.absences) if record is not None else "0",
        "retake": retake,
        "disability_plan": bool(record and record.disability_plan),
    }
    if record is not None and record.summer_conduct:
        data["summer_conduct"] = record.summer_conduct
    return data, {"subjects": partial}, missing


def primary_input(
    class_group: ClassGroup,
    subjects: list[ClassSubject],
    cells_by_subject: dict[int, Cells],
    record: HomeroomRecord | None,
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    missing: list[str] = []
    entries = []
    partial: dict[str, Any] = {}
    for cs in subjects:
        cells = cells_by_subject.get(cs.pk, {})
        level = cells.get((Term.HK2, Kind.LEVEL, 1))
        test = cells.get((Term.HK2, Kind.TEST, 1))
        known = CATALOGUE.get((Level.TH, cs.subject_code))
        needs_test = known is not None and class_group.grade in known.periodic_test_grades
        partial[cs.subject_code] = {
            "level": level.code if level else None,
            "test": None if test is None or test.score is None else int(test.score),
        }
        if level is None:
            missing.append(f"{cs.name}: thiếu mức đạt được cuối năm")
            continue
        entry: dict[str, Any] = {"code": cs.subject_code, "level": level.code}
        if test is not None and test.score is not None:
            entry["test"] = int(test.score)
        elif needs_test and level.code != "M":
            missing.append(f"{cs.name}: thiếu điểm kiểm tra định kì cuối năm")
            continue
        entries.append(entry)
    qualities = dict(record.qualities) if record is not None else {}
    competencies = dict(record.competencies) if record is not None else {}
    if any(q not in qualities for q in QUALITIES):
        missing.append("Đánh giá phẩm chất chủ yếu")
    if any(c not in competencies for c in competencies_for(class_group.grade)):
        missing.append("Đánh giá năng lực cốt lõi")
    data = {
        "regulation": "TT27",
        "level": "TH",
        "grade": class_group.grade,
        "subjects": entries,
        "qualities": qualities,
        "competencies": {
            k: v for k, v in competencies.items() if k in competencies_for(class_group.grade)
        },
        "outstanding": bool(record and record.outstanding),
        "disability_plan": bool(record and record.disability_plan),
    }
    return data, {"subjects": partial}, missing


def class_subjects(class_group: ClassGroup) -> list[ClassSubject]:
    return list(class_group.subjects.order_by("position", "subject_code"))


def enrolled_students(class_group: ClassGroup) -> list[Student]:
    return list(
        Student.objects.filter(enrolments__class_group=class_group)
        .order_by("full_name", "student_code")
        .distinct()
    )


def recompute(class_group: ClassGroup, student_ids: Iterable[int] | None = None) -> int:
    """Recompute and store the results of the class (or of some of its students)."""
    subjects = class_subjects(class_group)
    students = enrolled_students(class_group)
    if student_ids is not None:
        wanted = set(student_ids)
        students = [s for s in students if s.pk in wanted]
    ids = [s.pk for s in students]
    cells: dict[int, dict[int, Cells]] = defaultdict(lambda: defaultdict(dict))
    for a in Assessment.objects.filter(class_subject__in=subjects, student_id__in=ids):
        cells[a.student_id][a.class_subject_id][(a.term, a.kind, a.seq)] = a
    records = {
        r.student_id: r
        for r in HomeroomRecord.objects.filter(class_group=class_group, student_id__in=ids)
    }
    build = primary_input if class_group.level == Level.TH else secondary_input
    with transaction.atomic():
        for student in students:
            data, partial, missing = build(
                class_group, subjects, cells[student.pk], records.get(student.pk)
            )
            result: dict[str, Any] = partial
            outcome = ""
            if not missing:
                try:
                    result = evaluate(data)
                    result.setdefault("subjects", partial["subjects"])  # primary: levels, tests
                    outcome = result["outcome"]
                except RulesInputError as error:
                    missing = [f"{error.path}: {error.message}"]
            YearResult.objects.update_or_create(
                class_group=class_group,
                student=student,
                defaults={
                    "complete": not missing,
                    "missing": missing,
                    "data": result,
                    "outcome": outcome,
                },
            )
    return len(students)
