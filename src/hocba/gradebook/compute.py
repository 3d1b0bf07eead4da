"""From the stored grade book to the rules engine and back: builds each student's typed input
(`StudentYear`, `PrimaryYear` of `hocba.rules`), evaluates it, and stores the answer as a
`YearOutcome` in `YearResult`. While data is missing it stores the subject results known so far
and what is missing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

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
from hocba.rules.labels import Circular, QualityLevel, Rating, SubjectLevel
from hocba.rules.options import DEFAULT_OPTIONS
from hocba.rules.outcome import (
    SubjectOutcome,
    YearOutcome,
    primary_outcome,
    secondary_outcome,
    to_json,
)
from hocba.rules.primary import (
    QUALITIES,
    PrimarySubject,
    PrimaryYear,
    competencies_for,
    evaluate_primary,
)
from hocba.rules.secondary import (
    CommentAssessments,
    ScoreAssessments,
    SemesterValue,
    StudentYear,
    SubjectYear,
    comment_semester,
    conduct_year,
    evaluate_year,
    semester_average,
    subject_year,
)
from hocba.students.models import Student
from hocba.students.services import grades_in

TERM_NAMES = {Term.HK1: "HK I", Term.HK2: "HK II"}
Cells = dict[tuple[str, str, int], Assessment]
"""(term, kind, seq) → assessment, for one student and one subject."""


@dataclass
class Evaluation:
    """One student's year: the outcome to store and what is still missing."""

    outcome: YearOutcome
    missing: list[str] = field(default_factory=list)


def _score(a: Assessment, where: str, problems: list[str]) -> Decimal:
    if a.score is None:
        problems.append(f"{where}: cần điểm số, nhận “{a.code}”")
        return Decimal(0)
    return a.score


def _pass(a: Assessment, where: str, problems: list[str]) -> bool:
    if a.code not in (Rating.D, Rating.CD):
        problems.append(f"{where}: cần {Rating.D} hoặc {Rating.CD}, nhận “{a.code}”")
    return a.code == Rating.D


def _semester(cs: ClassSubject, cells: Cells, term: str, missing: list[str]) -> SemesterValue:
    """The semester's result from its recorded assessments; None (with what is lacking in
    `missing`) when some are not recorded yet."""
    tx = [cells[(term, Kind.TX, i)] for i in range(1, 10) if (term, Kind.TX, i) in cells]
    gk = cells.get((term, Kind.GK, 1))
    ck = cells.get((term, Kind.CK, 1))
    where = f"{cs.name} {TERM_NAMES[Term(term)]}"
    lacking = []
    if cs.scored and len(tx) < cs.regular_count:
        lacking.append(f"{cs.regular_count - len(tx)} điểm đánh giá thường xuyên")
    if gk is None:
        lacking.append("đánh giá giữa kì")
    if ck is None:
        lacking.append("đánh giá cuối kì")
    if lacking:
        missing.append(f"{where}: thiếu {', '.join(lacking)}")
        return None
    assert gk is not None and ck is not None
    if not cs.scored:
        flags = tuple(_pass(a, where, missing) for a in tx)
        assessments = CommentAssessments(
            flags, _pass(gk, where, missing), _pass(ck, where, missing)
        )
        return comment_semester(assessments, DEFAULT_OPTIONS.comment_subject_tx_count)
    if len(tx) != cs.regular_count:
        missing.append(
            f"{where} ({cs.periods_per_year} tiết/năm) cần đúng {cs.regular_count} điểm đánh giá "
            f"thường xuyên mỗi học kì, đã nhập {len(tx)}"
        )
        return None
    scores = [_score(a, where, missing) for a in tx]
    if DEFAULT_OPTIONS.chuyen_de_counts_as_tx:
        cd = (cells[(term, Kind.CD, i)] for i in range(1, 4) if (term, Kind.CD, i) in cells)
        scores += [_score(a, where, missing) for a in cd]
    return semester_average(
        ScoreAssessments(tuple(scores), _score(gk, where, missing), _score(ck, where, missing))
    )


def _rating(code: str, where: str, problems: list[str]) -> Rating | None:
    try:
        return Rating(code)
    except ValueError:
        problems.append(f"{where}: mức “{code}” không hợp lệ")
        return None


def secondary_year(
    class_group: ClassGroup,
    subjects: list[ClassSubject],
    cells_by_subject: dict[int, Cells],
    record: HomeroomRecord | None,
    grade: int | None = None,
) -> Evaluation:
    """Evaluate one student's year under TT22 / TT43 from the grade book (`grade`: the
    student's own, in a combined class; `subjects`: those of that grade)."""
    missing: list[str] = []
    known: list[SubjectOutcome] = []
    years: list[SubjectYear] = []
    retake: dict[str, Decimal | bool] = {}
    for cs in subjects:
        cells = cells_by_subject.get(cs.pk, {})
        if any(a.code == SubjectLevel.M for a in cells.values()):  # miễn: not assessed (Điều 11)
            known.append(SubjectOutcome(cs.subject_code, exempt=True))
            years.append(SubjectYear(cs.subject_code, cs.scored, None, None, Decimal(0), True))
            continue
        hk1 = _semester(cs, cells, Term.HK1, missing)
        hk2 = _semester(cs, cells, Term.HK2, missing)
        again = cells.get((Term.SUMMER, Kind.RETAKE, 1))
        retaken: SemesterValue = None
        if again is not None:
            where = f"{cs.name} kiểm tra lại"
            retaken = _score(again, where, missing) if cs.scored else _pass(again, where, missing)
            retake[cs.subject_code] = retaken
        year: SemesterValue = None
        if hk1 is not None and hk2 is not None:
            years.append(subject_year(cs.subject_code, cs.scored, hk1, hk2, None))
            year = years[-1].year
        known.append(SubjectOutcome(cs.subject_code, hk1, hk2, year, retaken))
    circular = Circular.of_level(class_group.level)
    conduct_hk1 = conduct_hk2 = None
    if record is not None and record.conduct_hk1 and record.conduct_hk2:
        conduct_hk1 = _rating(record.conduct_hk1, "Rèn luyện HK I", missing)
        conduct_hk2 = _rating(record.conduct_hk2, "Rèn luyện HK II", missing)
    else:
        missing.append("Kết quả rèn luyện học kì I và II")
    summer = None
    if record is not None and record.summer_conduct:
        summer = _rating(record.summer_conduct, "Rèn luyện trong hè", missing)
    partial = YearOutcome(circular, tuple(known))
    if missing or conduct_hk1 is None or conduct_hk2 is None:
        return Evaluation(partial, missing)
    student = StudentYear(
        regulation=circular,
        grade=grade or class_group.grade,
        subjects=tuple(years),
        conduct_hk1=conduct_hk1,
        conduct_hk2=conduct_hk2,
        conduct=conduct_year(conduct_hk1, conduct_hk2),
        absences=record.absences if record is not None else Decimal(0),
        summer_conduct=summer,
        retake=retake,
        disability_plan=bool(record and record.disability_plan),
    )
    return Evaluation(secondary_outcome(student, evaluate_year(student), known))


def _marks(
    given: dict[str, str], wanted: tuple[str, ...], where: str, problems: list[str]
) -> dict[str, QualityLevel]:
    marks = {}
    for code in wanted:
        try:
            marks[code] = QualityLevel(given[code])
        except ValueError:
            problems.append(f"{where} {code}: mức “{given[code]}” không hợp lệ")
    return marks


def primary_year(
    class_group: ClassGroup,
    subjects: list[ClassSubject],
    cells_by_subject: dict[int, Cells],
    record: HomeroomRecord | None,
    grade: int | None = None,
) -> Evaluation:
    """Evaluate one pupil's year under TT27 from the grade book (`grade`: the pupil's own, in
    a combined class; `subjects`: those of that grade)."""
    grade = grade or class_group.grade
    missing: list[str] = []
    known: list[SubjectOutcome] = []
    entries: list[PrimarySubject] = []
    for cs in subjects:
        cells = cells_by_subject.get(cs.pk, {})
        level_cell = cells.get((Term.HK2, Kind.LEVEL, 1))
        test_cell = cells.get((Term.HK2, Kind.TEST, 1))
        test = None if test_cell is None or test_cell.score is None else int(test_cell.score)
        level = None
        if level_cell is not None:
            try:
                level = SubjectLevel(level_cell.code)
            except ValueError:
                missing.append(f"{cs.name}: mức “{level_cell.code}” không hợp lệ")
        known.append(SubjectOutcome(cs.subject_code, level=level, test=test))
        if level_cell is None:
            missing.append(f"{cs.name}: thiếu mức đạt được cuối năm")
            continue
        subject = CATALOGUE.get((Level.TH, cs.subject_code))
        needs_test = subject is not None and grade in subject.periodic_test_grades
        if test is None and needs_test and level is not SubjectLevel.M:
            missing.append(f"{cs.name}: thiếu điểm kiểm tra định kì cuối năm")
            continue
        if level is not None:
            entries.append(PrimarySubject(cs.subject_code, level, test))
    qualities = dict(record.qualities) if record is not None else {}
    competencies = dict(record.competencies) if record is not None else {}
    wanted = competencies_for(grade)
    if any(q not in qualities for q in QUALITIES):
        missing.append("Đánh giá phẩm chất chủ yếu")
    if any(c not in competencies for c in wanted):
        missing.append("Đánh giá năng lực cốt lõi")
    partial = YearOutcome(Circular.TT27, tuple(known))
    if missing:
        return Evaluation(partial, missing)
    year = PrimaryYear(
        grade=grade,
        subjects=tuple(entries),
        qualities=_marks(qualities, QUALITIES, "Phẩm chất", missing),
        competencies=_marks(competencies, wanted, "Năng lực", missing),
        outstanding=bool(record and record.outstanding),
        disability_plan=bool(record and record.disability_plan),
    )
    if missing:
        return Evaluation(partial, missing)
    return Evaluation(primary_outcome(year, evaluate_primary(year), known))


def class_subjects(class_group: ClassGroup) -> list[ClassSubject]:
    return list(class_group.subjects.order_by("position", "subject_code"))


def studies(class_subject: ClassSubject, grade: int) -> bool:
    """Whether pupils of `grade` study the class's subject (always, but in a combined class
    whose grades have different subjects)."""
    class_group = class_subject.class_group
    if not class_group.is_combined:
        return True
    subject = CATALOGUE.get((Level(class_group.level), class_subject.subject_code))
    return subject is None or grade in subject.periods


def subjects_of_grade(subjects: list[ClassSubject], grade: int) -> list[ClassSubject]:
    """The class subjects that pupils of `grade` study."""
    return [cs for cs in subjects if studies(cs, grade)]


def enrolled_students(class_group: ClassGroup) -> list[Student]:
    return list(
        Student.objects.filter(enrolments__class_group=class_group)
        .order_by("full_name", "student_code")
        .distinct()
    )


def students_of_subject(class_subject: ClassSubject) -> list[Student]:
    """The class's students who study the subject: all of them, but in a combined class whose
    grades have different subjects."""
    class_group = class_subject.class_group
    students = enrolled_students(class_group)
    if not class_group.is_combined:
        return students
    grades = grades_in(class_group)
    return [s for s in students if studies(class_subject, grades.get(s.pk, class_group.grade))]


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
    evaluate = primary_year if class_group.level == Level.TH else secondary_year
    grades = grades_in(class_group, ids)
    by_grade = {g: subjects_of_grade(subjects, g) for g in class_group.grades}
    with transaction.atomic():
        for student in students:
            grade = grades.get(student.pk, class_group.grade)
            done = evaluate(
                class_group,
                by_grade.get(grade, subjects),
                cells[student.pk],
                records.get(student.pk),
                grade,
            )
            YearResult.objects.update_or_create(
                class_group=class_group,
                student=student,
                defaults={
                    "complete": not done.missing,
                    "missing": done.missing,
                    "data": to_json(done.outcome),
                    "outcome": done.outcome.outcome or "",
                },
            )
    return len(students)
