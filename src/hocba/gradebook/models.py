"""The grade book (sổ theo dõi và đánh giá học sinh) of a class.

Assessments are written by the assigned subject teacher, homeroom data by the homeroom teacher,
both through `services`; computed results are stored beside them and recomputed on every
change. A lock refuses writes at the model layer too, so no path (page, API, Excel, admin,
shell) can change locked data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from hocba.organizations.models import ClassGroup, School
from hocba.organizations.permissions import ScopePaths, register_scope
from hocba.rules.catalogue import CATALOGUE, Level, Mode, regular_assessment_count
from hocba.rules.labels import Outcome
from hocba.rules.outcome import YearOutcome, from_json
from hocba.students.models import Student


class Term(models.TextChoices):
    HK1 = "HK1", _("Semester I")
    HK2 = "HK2", _("Semester II")
    SUMMER = "HE", _("Summer")


class Kind(models.TextChoices):
    TX = "TX", _("Regular assessment")
    GK = "GK", _("Mid-term assessment")
    CK = "CK", _("End-of-term assessment")
    CD = "CD", _("Learning topic (chuyên đề)")
    RETAKE = "RETAKE", _("Re-assessment")
    LEVEL = "LEVEL", _("Level (primary)")
    TEST = "TEST", _("Periodic test (primary)")


class LockedError(PermissionError):
    """The grade book is locked for this write."""

    def __init__(self, lock: GradebookLock) -> None:
        super().__init__(f"Sổ điểm đã khóa: {lock.describe()}")
        self.lock = lock


class ClassSubject(models.Model):
    """A subject a class studies this year (its timetable row)."""

    class_group = models.ForeignKey(ClassGroup, on_delete=models.PROTECT, related_name="subjects")
    subject_code = models.CharField(_("subject"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    mode = models.CharField(
        _("assessment mode"),
        max_length=10,
        choices=[(m.value, m.value) for m in Mode],
    )
    periods_per_year = models.PositiveSmallIntegerField(_("periods per year"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("class subject")
        verbose_name_plural = _("class subjects")
        ordering = ["class_group", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["class_group", "subject_code"], name="class_subject_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} — {self.class_group}"

    @classmethod
    def from_catalogue(cls, class_group: ClassGroup, code: str, position: int = 0) -> ClassSubject:
        subject = CATALOGUE[(Level(class_group.level), code)]
        return cls(
            class_group=class_group,
            subject_code=code,
            name=subject.name,
            mode=subject.mode.value,
            # In a combined class: the periods of the lowest of its grades that study it.
            periods_per_year=subject.periods_for(
                next((g for g in class_group.grades if g in subject.periods), class_group.grade)
            ),
            position=position,
        )

    @property
    def scored(self) -> bool:
        return self.mode == Mode.SCORE

    @property
    def regular_count(self) -> int:
        """ĐĐGtx per semester (scored subjects: by periods; comment subjects: 2)."""
        if self.mode == Mode.SCORE:
            return regular_assessment_count(self.periods_per_year)
        return 2


class GradebookLock(models.Model):
    """A principal's lock: the whole school, a class, a subject, a semester, or a mix."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="gradebook_locks")
    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="locks"
    )
    subject_code = models.CharField(_("subject"), max_length=30, blank=True)
    term = models.CharField(_("semester"), max_length=3, choices=Term.choices, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField(_("locked at"), auto_now_add=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    unlocked_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    unlock_reason = models.TextField(_("reason for unlocking"), blank=True)

    class Meta:
        verbose_name = _("grade book lock")
        verbose_name_plural = _("grade book locks")
        ordering = ["-locked_at"]

    def __str__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        parts = [self.class_group.name if self.class_group_id else "toàn trường"]
        if self.subject_code:
            parts.append(f"môn {self.subject_code}")
        if self.term:
            parts.append(self.get_term_display())
        return ", ".join(str(p) for p in parts)

    @property
    def active(self) -> bool:
        return self.unlocked_at is None


def active_lock(class_group: ClassGroup, subject_code: str | None, term: str | None) -> (
    GradebookLock | None
):  # fmt: skip
    """The lock that refuses a write to (class, subject, term), if any. Homeroom data has no
    subject: only locks without a subject cover it."""
    query = GradebookLock.objects.filter(school_id=class_group.school_id, unlocked_at__isnull=True)
    query = query.filter(Q(class_group__isnull=True) | Q(class_group=class_group))
    query = query.filter(Q(subject_code="") | Q(subject_code=subject_code or ""))
    query = query.filter(Q(term="") | Q(term=term)) if term else query.filter(term="")
    return query.first()


class GuardedModel(models.Model):
    """Refuses save and delete while a lock covers the row."""

    class Meta:
        abstract = True

    def lock_place(self) -> tuple[ClassGroup, str | None, str | None]:
        raise NotImplementedError

    def _check_lock(self) -> None:
        class_group, subject, term = self.lock_place()
        lock = active_lock(class_group, subject, term)
        if lock is not None:
            raise LockedError(lock)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._check_lock()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self._check_lock()
        return super().delete(*args, **kwargs)


class Assessment(GuardedModel):
    """One recorded assessment of one student: a score, a level code, or Đ/CĐ."""

    class_subject = models.ForeignKey(
        ClassSubject, on_delete=models.PROTECT, related_name="assessments"
    )
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="assessments")
    term = models.CharField(_("semester"), max_length=3, choices=Term.choices)
    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    seq = models.PositiveSmallIntegerField(_("number"), default=1)
    score = models.DecimalField(_("score"), max_digits=3, decimal_places=1, null=True, blank=True)
    code = models.CharField(_("level"), max_length=2, blank=True, help_text="Đ, CĐ, T, H, C, M")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), auto_now=True)

    class Meta:
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        constraints = [
            models.UniqueConstraint(
                fields=["class_subject", "student", "term", "kind", "seq"],
                name="assessment_once",
            )
        ]

    def __str__(self) -> str:
        value = self.score if self.score is not None else self.code
        subject = self.class_subject.subject_code
        return f"{self.student} {subject} {self.term} {self.kind}{self.seq}={value}"

    def lock_place(self) -> tuple[ClassGroup, str | None, str | None]:
        return self.class_subject.class_group, self.class_subject.subject_code, self.term


class SubjectRemark(GuardedModel):
    """The subject teacher's comment on a student for the year (nhận xét môn học)."""

    class_subject = models.ForeignKey(
        ClassSubject, on_delete=models.PROTECT, related_name="remarks"
    )
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="remarks")
    text = models.TextField(_("comment"), max_length=2000)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["class_subject", "student"], name="remark_once")
        ]

    def __str__(self) -> str:
        return f"{self.student} — {self.class_subject}"

    def lock_place(self) -> tuple[ClassGroup, str | None, str | None]:
        return self.class_subject.class_group, self.class_subject.subject_code, Term.HK2


class HomeroomRecord(GuardedModel):
    """What the homeroom teacher records for one student in the year."""

    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.PROTECT, related_name="homeroom_records"
    )
    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="homeroom_records")
    conduct_hk1 = models.CharField(_("conduct, semester I"), max_length=2, blank=True)
    conduct_hk2 = models.CharField(_("conduct, semester II"), max_length=2, blank=True)
    summer_conduct = models.CharField(_("conduct after summer training"), max_length=2, blank=True)
    absences = models.DecimalField(_("sessions absent"), max_digits=5, decimal_places=1, default=0)
    absences_excused = models.DecimalField(
        _("of which excused"), max_digits=5, decimal_places=1, default=0
    )
    comment = models.TextField(_("homeroom teacher's comment"), blank=True, max_length=2000)
    awards = models.TextField(_("awards"), blank=True, max_length=2000)
    contests = models.TextField(_("contest results"), blank=True, max_length=2000)
    certificates = models.TextField(_("certificates"), blank=True, max_length=500)
    qualities = models.JSONField(_("qualities (primary)"), default=dict, blank=True)
    competencies = models.JSONField(_("competencies (primary)"), default=dict, blank=True)
    qualities_comment = models.TextField(_("comment on qualities"), blank=True, max_length=500)
    competencies_comment = models.TextField(
        _("comment on competencies"), blank=True, max_length=500
    )
    outstanding = models.BooleanField(_("recognised by the class (primary)"), default=False)
    disability_plan = models.BooleanField(_("assessed by an individual plan"), default=False)
    promotion_decision = models.CharField(
        _("principal's decision"),
        max_length=10,
        blank=True,
        choices=[
            (Outcome.PROMOTED.value, _("Promoted")),
            (Outcome.RETAINED.value, _("Not promoted")),
        ],
        help_text=_(
            "For a result the rules leave to the principal (primary CHT, individual plans)"
        ),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("homeroom record")
        verbose_name_plural = _("homeroom records")
        constraints = [
            models.UniqueConstraint(fields=["class_group", "student"], name="homeroom_once")
        ]

    def __str__(self) -> str:
        return f"{self.student} — {self.class_group}"

    def lock_place(self) -> tuple[ClassGroup, str | None, str | None]:
        return self.class_group, None, None


class YearResult(models.Model):
    """The computed results of one student in one class-year (recomputed on every change)."""

    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.CASCADE, related_name="year_results"
    )
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="year_results")
    complete = models.BooleanField(default=False)
    missing = models.JSONField(default=list, blank=True)
    """What is still missing for the year's evaluation, in Vietnamese."""
    data = models.JSONField(default=dict, blank=True)
    """The `YearOutcome` (`hocba.rules.outcome.to_json`): the rules' answer, or the subject
    results known so far. Read it as `year_outcome`."""
    outcome = models.CharField(max_length=30, blank=True, db_index=True)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["class_group", "student"], name="year_result_once")
        ]

    def __str__(self) -> str:
        return f"{self.student} — {self.class_group}: {self.outcome or 'chưa đủ dữ liệu'}"

    @property
    def year_outcome(self) -> YearOutcome:
        return from_json(self.data)


_BY_CLASS = ScopePaths(
    class_group="class_group",
    school="class_group__school",
    district_office="class_group__school__district_office",
    commune="class_group__school__managing_commune",
    province_office="class_group__school__province_office",
)
_BY_CLASS_SUBJECT = ScopePaths(
    class_group="class_subject__class_group",
    subject_code="class_subject__subject_code",
    school="class_subject__class_group__school",
    district_office="class_subject__class_group__school__district_office",
    commune="class_subject__class_group__school__managing_commune",
    province_office="class_subject__class_group__school__province_office",
)
register_scope(
    ClassSubject,
    ScopePaths(
        class_group="class_group",
        subject_code="subject_code",
        school="class_group__school",
        district_office="class_group__school__district_office",
        commune="class_group__school__managing_commune",
        province_office="class_group__school__province_office",
    ),
)
register_scope(Assessment, _BY_CLASS_SUBJECT)
register_scope(SubjectRemark, _BY_CLASS_SUBJECT)
register_scope(HomeroomRecord, _BY_CLASS)
register_scope(YearResult, _BY_CLASS)
register_scope(
    GradebookLock,
    ScopePaths(
        school="school",
        district_office="school__district_office",
        commune="school__managing_commune",
        province_office="school__province_office",
    ),
)
