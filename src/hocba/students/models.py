"""Students as the sector database (CSDL ngành) and the học bạ know them, and their enrolments.

The personal ID number is deliberately not unique here: the same number at two schools is a
data-quality finding to resolve (`services.review_students`), not an import error.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from hocba.identity import StudentIdentity
from hocba.organizations.models import ClassGroup, commune_code_validator
from hocba.organizations.permissions import ScopePaths, register_scope

province_code_validator = RegexValidator(r"^\d{2}$", _("A province code has 2 digits."))


class Sex(models.TextChoices):
    UNKNOWN = "0", _("Unknown")
    MALE = "1", _("Male")
    FEMALE = "2", _("Female")


class Student(models.Model):
    personal_id = models.CharField(
        _("personal ID number"), max_length=12, blank=True, db_index=True
    )
    student_code = models.CharField(
        _("student code"), max_length=20, unique=True, help_text=_("mahocsinh")
    )
    register_no = models.CharField(_("registration number"), max_length=50, blank=True)
    full_name = models.CharField(_("full name"), max_length=150)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    ethnicity = models.CharField(_("ethnicity"), max_length=3, blank=True)
    nationality = models.CharField(_("nationality"), max_length=2, default="VN", blank=True)
    birthplace = models.CharField(_("place of birth"), max_length=250, blank=True)
    birthplace_commune_code = models.CharField(
        max_length=5, blank=True, validators=[commune_code_validator]
    )
    birthplace_province_code = models.CharField(
        max_length=2, blank=True, validators=[province_code_validator]
    )
    hometown = models.CharField(_("hometown"), max_length=250, blank=True)
    hometown_commune_code = models.CharField(
        max_length=5, blank=True, validators=[commune_code_validator]
    )
    hometown_province_code = models.CharField(
        max_length=2, blank=True, validators=[province_code_validator]
    )
    current_address = models.CharField(_("current address"), max_length=250, blank=True)
    current_commune_code = models.CharField(
        max_length=5, blank=True, validators=[commune_code_validator]
    )
    current_province_code = models.CharField(
        max_length=2, blank=True, validators=[province_code_validator]
    )
    father_name = models.CharField(_("father's name"), max_length=150, blank=True)
    father_occupation = models.CharField(_("father's occupation"), max_length=150, blank=True)
    mother_name = models.CharField(_("mother's name"), max_length=150, blank=True)
    mother_occupation = models.CharField(_("mother's occupation"), max_length=150, blank=True)
    guardian_name = models.CharField(_("guardian's name"), max_length=150, blank=True)
    guardian_occupation = models.CharField(_("guardian's occupation"), max_length=150, blank=True)
    policy_category = models.CharField(_("policy category"), max_length=250, blank=True)
    has_disability = models.BooleanField(_("student with a disability"), default=False)
    disability_not_assessed = models.BooleanField(
        _("disability: not assessed"),
        default=False,
        help_text=_("cokhuyettatkhongdanhgia: assessed only by an individual education plan"),
    )

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["full_name", "student_code"]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.student_code})"

    def identity(self) -> StudentIdentity:
        return StudentIdentity(
            personal_id=self.personal_id,
            student_code=self.student_code,
            full_name=self.full_name,
            date_of_birth=self.date_of_birth,
            sex=self.sex,
            ethnicity=self.ethnicity,
            nationality=self.nationality,
            birthplace=self.birthplace,
            hometown=self.hometown,
            current_address=self.current_address,
        )

    def current_enrolment(self) -> Enrolment | None:
        return (
            self.enrolments.filter(date_left__isnull=True)
            .select_related("class_group__school", "class_group__school_year")
            .order_by("-class_group__school_year__name")
            .first()
        )


class JoinReason(models.TextChoices):
    NEW = "NEW", _("New enrolment")
    PROMOTED = "PROMOTED", _("Continued from the previous year")
    TRANSFER_IN = "TRANSFER_IN", _("Transferred in")
    CLASS_CHANGE = "CLASS_CHANGE", _("Moved from another class")


class LeaveReason(models.TextChoices):
    YEAR_END = "YEAR_END", _("End of the school year")
    TRANSFER_OUT = "TRANSFER_OUT", _("Transferred out")
    DROPPED_OUT = "DROPPED_OUT", _("Dropped out")
    CLASS_CHANGE = "CLASS_CHANGE", _("Moved to another class")


class Enrolment(models.Model):
    """A student in a class for (part of) a school year; the rows together are the school
    history (quá trình học tập)."""

    student = models.ForeignKey(Student, on_delete=models.PROTECT, related_name="enrolments")
    class_group = models.ForeignKey(ClassGroup, on_delete=models.PROTECT, related_name="enrolments")
    grade = models.PositiveSmallIntegerField(
        _("grade"),
        null=True,
        blank=True,
        help_text=_("the pupil's own grade in a combined class; empty: the class's grade"),
    )
    date_joined = models.DateField(_("date joined"))
    join_reason = models.CharField(
        _("joined by"), max_length=12, choices=JoinReason.choices, default=JoinReason.NEW
    )
    date_left = models.DateField(_("date left"), null=True, blank=True)
    leave_reason = models.CharField(
        _("left by"), max_length=12, choices=LeaveReason.choices, blank=True
    )

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["class_group__school_year__name", "date_joined"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "class_group"], name="enrolment_once_per_class"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} — {self.class_group}"

    @property
    def own_grade(self) -> int:
        """The grade the student is in: their own in a combined class, else the class's."""
        return self.grade or self.class_group.grade

    def clean(self) -> None:
        if not self.class_group_id:
            return
        class_group = self.class_group
        if self.grade is not None and self.grade not in class_group.grades:
            raise ValidationError({"grade": _("The class has no pupils of this grade.")})
        if self.grade is None and class_group.is_combined:
            raise ValidationError({"grade": _("A combined class needs each pupil's own grade.")})

    @property
    def is_current(self) -> bool:
        return self.date_left is None or self.date_left >= dt.date.today()


register_scope(
    Student,
    ScopePaths(
        class_group="enrolments__class_group",
        school="enrolments__class_group__school",
        district_office="enrolments__class_group__school__district_office",
        commune="enrolments__class_group__school__managing_commune",
        province_office="enrolments__class_group__school__province_office",
    ),
)
register_scope(
    Enrolment,
    ScopePaths(
        class_group="class_group",
        school="class_group__school",
        district_office="class_group__school__district_office",
        commune="class_group__school__managing_commune",
        province_office="class_group__school__province_office",
    ),
)
