"""The doors through which the grade book changes. Each checks the permission and the locks,
validates everything before writing anything, writes, records the audit event in the same
transaction, and recomputes the affected results."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from hocba.audit.services import record_event
from hocba.gradebook.compute import recompute, studies
from hocba.gradebook.models import (
    Assessment,
    ClassSubject,
    GradebookLock,
    HomeroomRecord,
    Kind,
    LockedError,
    SubjectRemark,
    Term,
    active_lock,
)
from hocba.gradebook.values import InvalidValue, Parsed, display, parse_value
from hocba.organizations.models import ClassGroup, School
from hocba.organizations.permissions import Permission, can
from hocba.rules.catalogue import Level
from hocba.rules.labels import Outcome, QualityLevel, Rating
from hocba.rules.primary import QUALITIES, competencies_for
from hocba.students.models import Student
from hocba.students.services import grades_in

CONDUCT = {r.value for r in Rating}
MARKS = {m.value for m in QualityLevel}


@dataclass(frozen=True, slots=True)
class CellChange:
    """One cell a teacher wants to set: raw text (empty to clear)."""

    student_id: int
    term: str
    kind: str
    seq: int
    value: object
    where: str = ""
    """How to name the cell in an error: "D7" in Excel, a field name on a page."""


@dataclass
class ValidationFailed(Exception):
    """Nothing was written; every problem is listed."""

    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "; ".join(self.errors)


def allowed_cells(cs: ClassSubject) -> set[tuple[str, str, int]]:
    """The (term, kind, seq) a subject's grade book has."""
    if cs.class_group.level == Level.TH:
        return {(t, k, 1) for t in (Term.HK1, Term.HK2) for k in (Kind.LEVEL, Kind.TEST)}
    cells = {(Term.SUMMER, Kind.RETAKE, 1)}
    for term in (Term.HK1, Term.HK2):
        cells |= {(term, Kind.TX, i) for i in range(1, cs.regular_count + 1)}
        cells |= {(term, Kind.GK, 1), (term, Kind.CK, 1)}
        if cs.scored and cs.class_group.level in (Level.THPT, Level.GDTX):
            cells |= {(term, Kind.CD, i) for i in range(1, 4)}
    return cells


_NOT_IN_CLASS = "học sinh không thuộc lớp"


def _enrolled(class_group: ClassGroup) -> set[int]:
    return set(
        Student.objects.filter(enrolments__class_group=class_group).values_list("pk", flat=True)
    )


def _check_lock(class_group: ClassGroup, subject: str | None, terms: set[str]) -> None:
    for term in terms or {""}:
        lock = active_lock(class_group, subject, term or None)
        if lock is not None:
            raise LockedError(lock)


def validate_assessments(
    class_subject: ClassSubject, changes: list[CellChange]
) -> tuple[list[str], list[tuple[CellChange, Parsed | None]]]:
    """Every problem of the changes (nothing is written), and the parsed values."""
    class_group = class_subject.class_group
    enrolled = _enrolled(class_group)
    allowed = allowed_cells(class_subject)
    grades = grades_in(class_group) if class_group.is_combined else {}
    errors: list[str] = []
    parsed = []
    for change in changes:
        prefix = f"{change.where}: " if change.where else ""
        if change.student_id not in enrolled:
            errors.append(f"{prefix}{_NOT_IN_CLASS} {class_group.name}")
            continue
        grade = grades.get(change.student_id, class_group.grade)
        if not studies(class_subject, grade):
            errors.append(f"{prefix}học sinh lớp {grade} không học môn {class_subject.name}")
            continue
        if (change.term, change.kind, change.seq) not in allowed:
            errors.append(f"{prefix}môn {class_subject.name} không có cột điểm này")
            continue
        kind = change.kind if change.kind in (Kind.LEVEL, Kind.TEST) else ""
        try:
            value = parse_value(change.value, class_subject.mode, kind)
        except InvalidValue as error:
            errors.append(f"{prefix}{error}")
            continue
        parsed.append((change, value))
    return errors, parsed


_ASSESSMENT_COLUMNS = (
    "class_subject", "student", "term", "kind", "seq", "score", "code", "entered_by", "entered_at",
)  # fmt: skip


def _insert_assessments(
    class_subject: ClassSubject,
    user: Any,
    now: dt.datetime,
    added: dict[tuple[int, str, str, int], tuple[Decimal | None, str]],
) -> None:
    """New cells in one statement run once per row (`executemany`). Django's `bulk_create`
    builds its SQL field by field and row by row in Python, which cost more than the database
    itself when a school's year of grade books is imported (about 100,000 cells); the values
    are adapted here as the ORM would (`connection.ops`)."""
    meta = Assessment._meta
    fields = [meta.get_field(name) for name in _ASSESSMENT_COLUMNS]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    score_field = meta.get_field("score")
    entered_at = connection.ops.adapt_datetimefield_value(now)
    rows = [
        (
            class_subject.pk, student, term, kind, seq,
            None if score is None else connection.ops.adapt_decimalfield_value(
                score, score_field.max_digits, score_field.decimal_places  # type: ignore[attr-defined]
            ),
            code, user.pk, entered_at,
        )
        for (student, term, kind, seq), (score, code) in added.items()
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def save_assessments(
    user: Any,
    class_subject: ClassSubject,
    changes: list[CellChange],
    request: HttpRequest | None = None,
    recompute_results: bool = True,
    _parsed: list[tuple[CellChange, Parsed | None]] | None = None,
) -> int:
    """Set cells of one subject's grade book; returns how many changed. All or nothing.

    The rows are written together (one INSERT, one UPDATE, one DELETE statement at most) once
    the locks of every term written were checked here, rather than one row at a time each
    asking for its lock again. `recompute_results=False` leaves the results to the caller, who
    recomputes the class once after many subjects (a school's year imported at once)."""
    if not can(user, Permission.ASSESSMENT_WRITE, class_subject):
        raise PermissionDenied("Chỉ giáo viên bộ môn được phân công mới được nhập điểm môn này")
    class_group = class_subject.class_group
    _check_lock(class_group, class_subject.subject_code, {c.term for c in changes})
    if _parsed is None:
        errors, parsed = validate_assessments(class_subject, changes)
        if errors:
            raise ValidationFailed(errors)
    else:
        parsed = _parsed

    # what is stored, as plain rows: (pk, score, code) by cell
    existing: dict[tuple[int, str, str, int], tuple[int | None, Decimal | None, str]] = {
        (student, term, kind, seq): (pk, score, code)
        for pk, student, term, kind, seq, score, code in Assessment.objects.filter(
            class_subject=class_subject, student_id__in={c.student_id for c, _ in parsed}
        ).values_list("pk", "student_id", "term", "kind", "seq", "score", "code")
    }
    changed = []
    added: dict[tuple[int, str, str, int], tuple[Decimal | None, str]] = {}
    updated: dict[int, Assessment] = {}
    removed: list[int] = []
    now = timezone.now()
    for change, value in parsed:
        key = (change.student_id, change.term, change.kind, change.seq)
        current = existing.get(key)
        old = None if current is None else display(current[1], current[2])
        new = None if value is None else display(value.score, value.code)
        if old == new:
            continue
        if value is None:
            assert current is not None
            if current[0] is None:  # added earlier in the same changes
                del added[key]
            else:
                removed.append(current[0])
            del existing[key]
        elif current is None or current[0] is None:
            added[key] = (value.score, value.code)
            existing[key] = (None, value.score, value.code)
        else:
            updated[current[0]] = Assessment(
                pk=current[0], score=value.score, code=value.code, entered_by=user,
                entered_at=now,
            )  # fmt: skip
            existing[key] = (current[0], value.score, value.code)
        changed.append(
            {
                "student": change.student_id,
                "term": change.term,
                "kind": change.kind,
                "seq": change.seq,
                "old": old,
                "new": new,
            }
        )
    if not changed:
        return 0
    with transaction.atomic():
        if removed:
            Assessment.objects.filter(pk__in=removed).delete()
        if added:
            _insert_assessments(class_subject, user, now, added)
        if updated:
            Assessment.objects.bulk_update(
                list(updated.values()), ["score", "code", "entered_by", "entered_at"]
            )
        record_event(
            user, "gradebook.assessments", class_subject,
            summary=f"{class_subject.name} {class_group.name}: {len(changed)} ô điểm",
            old=[{k: c[k] for k in ("student", "term", "kind", "seq", "old")} for c in changed],
            new=[{k: c[k] for k in ("student", "term", "kind", "seq", "new")} for c in changed],
            request=request,
        )  # fmt: skip
        if recompute_results:
            recompute(class_group, {c["student"] for c in changed})
    return len(changed)


REMARK_CHARS = 2000
"""The longest subject teacher's remark (the model's limit)."""


@dataclass(frozen=True, slots=True)
class RemarkChange:
    """A subject teacher's remark on one student for the year (empty to clear it)."""

    student_id: int
    text: object
    where: str = ""
    """How to name the cell in an error: "K7" in Excel, a field name on a page."""


def remark_text(raw: object) -> str:
    """What is stored of a typed remark: NFC, trimmed, inner runs of blanks kept as typed."""
    if raw is None:
        return ""
    return unicodedata.normalize("NFC", str(raw)).strip()


def validate_remarks(class_subject: ClassSubject, changes: list[RemarkChange]) -> list[str]:
    """Every problem of the remarks (nothing is written)."""
    class_group = class_subject.class_group
    enrolled = _enrolled(class_group)
    errors = []
    for change in changes:
        where = f"{change.where}: " if change.where else ""
        if change.student_id not in enrolled:
            errors.append(f"{where}{_NOT_IN_CLASS} {class_group.name}")
        elif len(text := remark_text(change.text)) > REMARK_CHARS:
            errors.append(f"{where}nhận xét dài {len(text)} kí tự (tối đa {REMARK_CHARS} kí tự)")
    return errors


def save_remarks(
    user: Any,
    class_subject: ClassSubject,
    changes: list[RemarkChange],
    request: HttpRequest | None = None,
) -> int:
    """Set the subject teacher's remarks (nhận xét) of some students; returns how many changed.
    Same door as the scores: the assigned teacher only, refused under a lock of the subject's
    second semester (the remark is the year's), all or nothing, one audit event."""
    if not can(user, Permission.ASSESSMENT_WRITE, class_subject):
        raise PermissionDenied("Chỉ giáo viên bộ môn được phân công mới được nhận xét môn này")
    _check_lock(class_subject.class_group, class_subject.subject_code, {Term.HK2})
    errors = validate_remarks(class_subject, changes)
    if errors:
        raise ValidationFailed(errors)
    existing = {
        r.student_id: r
        for r in SubjectRemark.objects.filter(
            class_subject=class_subject, student_id__in={c.student_id for c in changes}
        )
    }
    changed: list[dict[str, Any]] = []
    with transaction.atomic():
        for change in changes:
            text = remark_text(change.text)
            current = existing.get(change.student_id)
            old = current.text if current is not None else ""
            if old == text:
                continue
            if not text:
                assert current is not None
                current.delete()
                del existing[change.student_id]
            elif current is None:
                existing[change.student_id] = SubjectRemark(
                    class_subject=class_subject, student_id=change.student_id, text=text,
                    entered_by=user,
                )  # fmt: skip
                existing[change.student_id].save()
            else:
                current.text, current.entered_by = text, user
                current.save()
            changed.append({"student": change.student_id, "old": old, "new": text})
        if changed:
            record_event(
                user, "gradebook.remarks", class_subject,
                summary=(
                    f"{class_subject.name} {class_subject.class_group.name}: "
                    f"{len(changed)} nhận xét"
                ),
                old=[{"student": c["student"], "old": c["old"]} for c in changed],
                new=[{"student": c["student"], "new": c["new"]} for c in changed],
                request=request,
            )  # fmt: skip
    return len(changed)


def save_subject_book(
    user: Any,
    class_subject: ClassSubject,
    cells: list[CellChange],
    remarks: list[RemarkChange],
    request: HttpRequest | None = None,
    recompute_results: bool = True,
) -> tuple[int, int]:
    """Scores and remarks of one subject together (a whole page, an Excel file): every problem
    of both is listed before anything is written, and both are written in one transaction.
    Returns (cells changed, remarks changed)."""
    if not can(user, Permission.ASSESSMENT_WRITE, class_subject):
        raise PermissionDenied("Chỉ giáo viên bộ môn được phân công mới được nhập điểm môn này")
    terms = {c.term for c in cells} | ({Term.HK2.value} if remarks else set())
    _check_lock(class_subject.class_group, class_subject.subject_code, terms)
    errors, parsed = validate_assessments(class_subject, cells) if cells else ([], [])
    errors += validate_remarks(class_subject, remarks)
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        changed = (
            save_assessments(user, class_subject, cells, request, recompute_results, _parsed=parsed)
            if cells
            else 0
        )
        noted = save_remarks(user, class_subject, remarks, request=request) if remarks else 0
    return changed, noted


HOMEROOM_FIELDS = (
    "conduct_hk1", "conduct_hk2", "summer_conduct", "absences", "absences_excused", "comment",
    "awards", "contests", "certificates", "qualities", "competencies", "qualities_comment",
    "competencies_comment", "outstanding", "disability_plan",
)  # fmt: skip


def _clean_homeroom(grade: int, values: dict[str, Any]) -> dict[str, Any]:
    errors: list[str] = []
    clean: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in HOMEROOM_FIELDS:
            errors.append(f"{name}: trường không tồn tại")
            continue
        if name in ("conduct_hk1", "conduct_hk2", "summer_conduct"):
            code = str(raw or "").strip().upper().replace("D", "Đ")
            if code and code not in CONDUCT:
                errors.append(f"{name}: mức “{raw}” không hợp lệ (dùng T, K, Đ hoặc CĐ)")
            clean[name] = code
        elif name in ("absences", "absences_excused"):
            try:
                number = Decimal(str(raw or "0").replace(",", "."))
            except ArithmeticError:
                number = Decimal(-1)
            if not (0 <= number <= 365) or number != number.quantize(Decimal("0.5")):
                errors.append(f"{name}: số buổi nghỉ “{raw}” không hợp lệ")
            clean[name] = number
        elif name in ("qualities", "competencies"):
            allowed = QUALITIES if name == "qualities" else competencies_for(grade)
            marks = raw if isinstance(raw, dict) else {}
            for key, mark in marks.items():
                if key not in allowed:
                    errors.append(f"{name}.{key}: không có trong danh mục")
                elif str(mark).upper().replace("D", "Đ") not in MARKS:
                    errors.append(f"{name}.{key}: mức “{mark}” không hợp lệ (dùng T, Đ hoặc C)")
            clean[name] = {k: str(v).upper().replace("D", "Đ") for k, v in marks.items() if v}
        elif name in ("outstanding", "disability_plan"):
            clean[name] = bool(raw)
        else:
            clean[name] = str(raw or "").strip()
    if errors:
        raise ValidationFailed(errors)
    return clean


def save_homeroom(
    user: Any, class_group: ClassGroup, student: Student, values: dict[str, Any],
    request: HttpRequest | None = None,
) -> HomeroomRecord:  # fmt: skip
    """The homeroom teacher's entries for one student (conduct, absences, comments …)."""
    if not can(user, Permission.HOMEROOM_WRITE, class_group):
        raise PermissionDenied("Chỉ giáo viên chủ nhiệm của lớp mới được nhập mục này")
    _check_lock(class_group, None, set())
    if not class_group.enrolments.filter(student=student).exists():
        raise ValidationFailed([f"Học sinh không thuộc lớp {class_group.name}"])
    grade = grades_in(class_group, [student.pk]).get(student.pk, class_group.grade)
    clean = _clean_homeroom(grade, values)
    with transaction.atomic():
        record, _ = HomeroomRecord.objects.get_or_create(
            class_group=class_group, student=student, defaults={"updated_by": user}
        )
        old = {name: getattr(record, name) for name in clean}
        for name, value in clean.items():
            setattr(record, name, value)
        record.updated_by = user
        record.save()
        record_event(user, "gradebook.homeroom", record, old=old, new=clean, request=request)
        recompute(class_group, {student.pk})
    return record


def decide_promotion(
    user: Any, class_group: ClassGroup, student: Student, decision: str,
    request: HttpRequest | None = None,
) -> HomeroomRecord:  # fmt: skip
    """The principal's decision where the rules leave it to them (TT27 Điều 11; Điều 11 of
    TT22 for students assessed by an individual education plan)."""
    if not can(user, Permission.PROMOTION_DECIDE, class_group):
        raise PermissionDenied("Chỉ hiệu trưởng, phó hiệu trưởng mới được quyết định lên lớp")
    if decision not in (Outcome.PROMOTED, Outcome.RETAINED, ""):
        raise ValidationFailed([f"Quyết định “{decision}” không hợp lệ"])
    _check_lock(class_group, None, set())
    with transaction.atomic():
        record, _ = HomeroomRecord.objects.get_or_create(class_group=class_group, student=student)
        old = record.promotion_decision
        record.promotion_decision = decision
        record.updated_by = user
        record.save()
        record_event(user, "gradebook.promotion_decision", record, old=old, new=decision,
                     request=request)  # fmt: skip
    return record


def lock_gradebook(
    user: Any, school: School, class_group: ClassGroup | None = None, subject_code: str = "",
    term: str = "", request: HttpRequest | None = None,
) -> GradebookLock:  # fmt: skip
    if not can(user, Permission.GRADEBOOK_LOCK, school):
        raise PermissionDenied("Chỉ hiệu trưởng, phó hiệu trưởng mới được khóa sổ điểm")
    if class_group is not None and class_group.school_id != school.pk:
        raise ValidationFailed(["Lớp không thuộc trường"])
    if term and term not in (Term.HK1, Term.HK2, Term.SUMMER):
        raise ValidationFailed([f"Học kì “{term}” không hợp lệ"])
    with transaction.atomic():
        lock = GradebookLock.objects.create(
            school=school, class_group=class_group, subject_code=subject_code, term=term,
            locked_by=user,
        )  # fmt: skip
        record_event(user, "gradebook.lock", lock, new={"scope": lock.describe()}, request=request)
    return lock


def unlock_gradebook(
    user: Any, lock: GradebookLock, reason: str, request: HttpRequest | None = None
) -> GradebookLock:
    if not can(user, Permission.GRADEBOOK_LOCK, lock.school):
        raise PermissionDenied("Chỉ hiệu trưởng, phó hiệu trưởng mới được mở khóa sổ điểm")
    if not reason or not reason.strip():
        raise ValidationFailed(["Cần ghi rõ lý do mở khóa"])
    if not lock.active:
        raise ValidationFailed(["Khóa này đã được mở"])
    with transaction.atomic():
        lock.unlocked_by, lock.unlocked_at = user, timezone.now()
        lock.unlock_reason = reason.strip()
        lock.save(update_fields=["unlocked_by", "unlocked_at", "unlock_reason"])
        scope = {"scope": lock.describe()}
        reason = lock.unlock_reason
        record_event(user, "gradebook.unlock", lock, old=scope, reason=reason, request=request)
    return lock


def ensure_class_subjects(class_group: ClassGroup, codes: list[str]) -> list[ClassSubject]:
    """The class's timetable from catalogue codes (used when setting up a year)."""
    created = []
    for position, code in enumerate(codes):
        cs = ClassSubject.objects.filter(class_group=class_group, subject_code=code).first()
        if cs is None:
            cs = ClassSubject.from_catalogue(class_group, code, position)
            cs.save()
        created.append(cs)
    return created
