"""Who runs education: the Sở, the communes and (until 30 June 2025) the Phòng, schools, school
years, classes, staff and their roles.

The Ministry has no row: a Ministry officer's role simply has the whole country as its scope.
Since 1 July 2025 there is no district level: a school is managed by the Sở or by a commune
(xã, phường, đặc khu); a Phòng stays as history for what it managed before. How an organisation
was named and placed on a given date is answered by `hocba.organizations.geography`.
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from hocba.identity.codes import PROVINCES_2025
from hocba.rules.catalogue import CATALOGUE, LEVEL_GRADES, Level

personal_id_validator = RegexValidator(r"^\d{12}$", _("A personal ID number has 12 digits."))
school_year_validator = RegexValidator(r"^\d{4}-\d{4}$", _("A school year is written YYYY-YYYY."))
tax_code_validator = RegexValidator(
    r"^\d{10}(-\d{3})?$", _("A tax code has 10 digits, optionally followed by -NNN.")
)
province_code_validator = RegexValidator(r"^\d{2}$", _("A province code has 2 digits."))
commune_code_validator = RegexValidator(r"^\d{5}$", _("A commune code has 5 digits."))


def validate_province_code(value: str) -> None:
    if value not in PROVINCES_2025:
        raise ValidationError(
            _("%(code)s is not a province code of Decision 19/2025/QĐ-TTg."),
            params={"code": value},
        )


class LevelChoices(models.TextChoices):
    TH = Level.TH.value, _("Primary")
    THCS = Level.THCS.value, _("Lower secondary")
    THPT = Level.THPT.value, _("Upper secondary")
    GDTX = Level.GDTX.value, _("Continuing education")


class ProvinceOffice(models.Model):
    """Sở Giáo dục và Đào tạo: one per province."""

    code = models.CharField(
        _("Ministry code of the department"),
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^[0-9A-Z]{2}$")],
        help_text=_("masogd in the national dictionary"),
    )
    name = models.CharField(_("name"), max_length=150)
    province_code = models.CharField(
        _("province code"),
        max_length=2,
        validators=[province_code_validator, validate_province_code],
    )
    province_name = models.CharField(_("province name"), max_length=150)

    class Meta:
        verbose_name = _("provincial department of education")
        verbose_name_plural = _("provincial departments of education")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


#: The last day of the district level (Phòng GD&ĐT); communes took over on 1 July 2025.
DISTRICT_LEVEL_ENDED = dt.date(2025, 6, 30)


class CommuneKind(models.TextChoices):
    XA = "XA", _("Commune")
    PHUONG = "PHUONG", _("Ward")
    DAC_KHU = "DAC_KHU", _("Special zone")
    THI_TRAN = "THI_TRAN", _("Township (before 1 July 2025)")


class Commune(models.Model):
    """A commune-level unit (xã, phường, đặc khu; thị trấn before 1 July 2025) over the period
    it existed under this name. A renamed or merged unit is a new row; the old one keeps its
    name and gets `valid_to`. Codes are those of Decision 19/2025/QĐ-TTg for units from 1 July
    2025; a unit whose code could not be confirmed has none."""

    code = models.CharField(
        _("commune code"), max_length=5, blank=True, validators=[commune_code_validator]
    )
    name = models.CharField(_("name"), max_length=150, help_text=_("with its kind: Phường …"))
    kind = models.CharField(_("kind"), max_length=8, choices=CommuneKind.choices)
    province_code = models.CharField(
        _("province code"), max_length=2, validators=[province_code_validator]
    )
    district_name = models.CharField(_("district (before 1 July 2025)"), max_length=150, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("commune")
        verbose_name_plural = _("communes")
        ordering = ["province_code", "name", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "valid_from"],
                condition=~models.Q(code=""),
                name="commune_code_unique_per_period",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )

    @property
    def committee_name(self) -> str:
        """Ủy ban nhân dân phường …: the commune's authority, which manages its schools."""
        return f"Ủy ban nhân dân {self.name[:1].lower()}{self.name[1:]}"

    def clean(self) -> None:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The period must end after it starts.")})
        if self.kind == CommuneKind.THI_TRAN and not (
            self.valid_to and self.valid_to <= DISTRICT_LEVEL_ENDED
        ):
            raise ValidationError({"kind": _("Townships ended on 30 June 2025.")})
        if (self.valid_to is None or self.valid_to > DISTRICT_LEVEL_ENDED) and (
            self.province_code not in PROVINCES_2025
        ):
            raise ValidationError(
                {"province_code": _("Not a province code of Decision 19/2025/QĐ-TTg.")}
            )


class DistrictOffice(models.Model):
    """Phòng Giáo dục và Đào tạo: history since 1 July 2025. It keeps the schools it managed
    for the records issued before; nothing new is placed under it."""

    province_office = models.ForeignKey(
        ProvinceOffice, on_delete=models.PROTECT, related_name="district_offices"
    )
    code = models.CharField(_("code"), max_length=10)
    name = models.CharField(_("name"), max_length=150)
    district_name = models.CharField(
        _("district"), max_length=150, blank=True, help_text=_("Thành phố Việt Trì, Huyện …")
    )
    valid_to = models.DateField(_("valid to"), default=DISTRICT_LEVEL_ENDED)

    class Meta:
        verbose_name = _("district office of education")
        verbose_name_plural = _("district offices of education")
        ordering = ["province_office__code", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["province_office", "code"], name="district_office_code_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


def validate_levels(value: object) -> None:
    if (
        not isinstance(value, list)
        or not value
        or any(level not in LevelChoices.values for level in value)
        or len(set(value)) != len(value)
    ):
        raise ValidationError(
            _("Levels taught must be a non-empty list of TH, THCS, THPT, GDTX."),
        )


class School(models.Model):
    """A school or continuing-education centre, as in the Ministry's school catalogue."""

    code = models.CharField(
        _("Ministry school code"), max_length=20, unique=True, help_text=_("matruong")
    )
    name = models.CharField(_("name"), max_length=150)
    province_office = models.ForeignKey(
        ProvinceOffice, on_delete=models.PROTECT, related_name="schools"
    )
    district_office = models.ForeignKey(
        DistrictOffice,
        on_delete=models.PROTECT,
        related_name="schools",
        null=True,
        blank=True,
        help_text=_("History: the Phòng that managed the school until 30 June 2025."),
    )
    managing_commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        related_name="managed_schools",
        null=True,
        blank=True,
        verbose_name=_("managing commune"),
        help_text=_("Empty: the school is managed by the Sở directly."),
    )
    commune = models.ForeignKey(
        Commune,
        on_delete=models.PROTECT,
        related_name="schools",
        null=True,
        blank=True,
        verbose_name=_("commune where it stands"),
    )
    levels = models.JSONField(
        _("levels taught"), default=list, validators=[validate_levels], help_text="TH, THCS, …"
    )
    street_address = models.CharField(_("street address"), max_length=250, blank=True)
    commune_code = models.CharField(
        _("commune code"), max_length=5, blank=True, validators=[commune_code_validator]
    )
    commune_name = models.CharField(_("commune / ward"), max_length=150)
    province_code = models.CharField(
        _("province code"),
        max_length=2,
        validators=[province_code_validator, validate_province_code],
    )
    province_name = models.CharField(_("province name"), max_length=150)
    tax_code = models.CharField(
        _("tax code"),
        max_length=14,
        blank=True,
        validators=[tax_code_validator],
        help_text=_("MST, carried by the school's organisation certificate"),
    )

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, object] = {}
        if self.district_office_id and self.district_office.province_office_id != (
            self.province_office_id
        ):
            errors["district_office"] = _("The district office belongs to another province.")
        for field in ("managing_commune", "commune"):
            unit = getattr(self, field)
            if unit is None:
                continue
            if unit.valid_to is not None:
                errors[field] = _("This commune no longer exists; choose one in force today.")
            elif self.province_code and unit.province_code != self.province_code:
                errors[field] = _("This commune belongs to another province.")
        if errors:
            raise ValidationError(errors)
        if self.commune is not None:
            # the free-text fields follow the commune chosen from the official list
            self.commune_name, self.commune_code = self.commune.name, self.commune.code


class SchoolPlacement(models.Model):
    """How a school was named and placed until a date: its identity before a change (the merger
    of 1 July 2025, a renaming). The school's own fields say how it is now; a record asks
    `hocba.organizations.geography.issuer_as_of` for the identity on its date."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="placements")
    valid_until = models.DateField(_("valid until"))
    name = models.CharField(_("name"), max_length=150)
    code = models.CharField(
        _("Ministry school code"), max_length=20, blank=True, help_text=_("empty: unchanged")
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        verbose_name=_("commune where it stood"),
    )  # fmt: skip
    district_office = models.ForeignKey(
        DistrictOffice, on_delete=models.PROTECT, related_name="placements", null=True,
        blank=True, verbose_name=_("managing district office"),
    )  # fmt: skip
    managing_commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        verbose_name=_("managing commune"),
        help_text=_("Neither a district office nor a commune: the Sở managed it."),
    )  # fmt: skip
    province_office = models.ForeignKey(
        ProvinceOffice, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        help_text=_("empty: unchanged"),
    )  # fmt: skip
    province_name = models.CharField(
        _("province name"), max_length=150, blank=True, help_text=_("empty: unchanged")
    )

    class Meta:
        verbose_name = _("former placement of a school")
        verbose_name_plural = _("former placements of schools")
        ordering = ["school__code", "valid_until"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "valid_until"], name="school_placement_once_per_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (→ {self.valid_until:%d/%m/%Y})"

    def clean(self) -> None:
        office = self.district_office
        if office is not None and self.valid_until > office.valid_to:
            raise ValidationError(
                {"district_office": _("The district office had closed by that date.")}
            )


class SchoolYear(models.Model):
    name = models.CharField(
        _("school year"), max_length=9, unique=True, validators=[school_year_validator]
    )
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))

    class Meta:
        verbose_name = _("school year")
        verbose_name_plural = _("school years")
        ordering = ["-name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        match = re.fullmatch(r"(\d{4})-(\d{4})", self.name or "")
        if match and int(match[2]) != int(match[1]) + 1:
            raise ValidationError({"name": _("The second year must follow the first.")})
        if self.start_date and self.end_date and self.end_date <= self.start_date:
            raise ValidationError({"end_date": _("The year must end after it starts.")})


class SchoolSite(models.Model):
    """A satellite site of a school (điểm trường lẻ): a place of its own, often far from the main
    site, where some of the school's classes are taught. The main site has no row."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(_("site name"), max_length=150)
    street_address = models.CharField(_("address"), max_length=250, blank=True)

    class Meta:
        verbose_name = _("satellite site")
        verbose_name_plural = _("satellite sites")
        ordering = ["school__code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="school_site_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


def validate_combined_grades(value: object) -> None:
    if not isinstance(value, list) or any(
        not isinstance(g, int) or isinstance(g, bool) or not 1 <= g <= 12 for g in value
    ):
        raise ValidationError(_("Combined grades must be a list of grades from 1 to 12."))
    if value and (len(value) < 2 or len(set(value)) != len(value)):
        raise ValidationError(_("A combined class holds two or more different grades."))


class ClassGroup(models.Model):
    """A class (lớp) of one school in one school year.

    A combined class (lớp ghép) holds pupils of two or more grades taught together by one
    teacher: `combined_grades` lists them (`grade` is the lowest) and each enrolment carries
    the pupil's own grade (`students.Enrolment.grade`), which the grade book, the results and
    the record follow."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="classes")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.PROTECT, related_name="classes")
    level = models.CharField(_("level"), max_length=4, choices=LevelChoices.choices)
    grade = models.PositiveSmallIntegerField(
        _("grade"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    combined_grades = models.JSONField(
        _("grades of a combined class"),
        default=list,
        blank=True,
        validators=[validate_combined_grades],
        help_text=_("empty for an ordinary class; [1, 2] for a combined class of grades 1 and 2"),
    )
    site = models.ForeignKey(
        SchoolSite,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="classes",
        verbose_name=_("satellite site"),
        help_text=_("empty: the main site"),
    )
    name = models.CharField(_("class name"), max_length=10)

    class Meta:
        verbose_name = _("class")
        verbose_name_plural = _("classes")
        ordering = ["school__code", "-school_year__name", "grade", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "school_year", "name"], name="class_name_unique_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.school_year})"

    @property
    def grades(self) -> tuple[int, ...]:
        """The grades the class's pupils are in: one, or several for a combined class."""
        return tuple(sorted(self.combined_grades)) if self.combined_grades else (self.grade,)

    @property
    def is_combined(self) -> bool:
        return len(self.grades) > 1

    def clean(self) -> None:
        if self.level and self.grade and self.grade not in LEVEL_GRADES[Level(self.level)]:
            raise ValidationError({"grade": _("This grade does not belong to that level.")})
        if self.school_id and self.level and self.level not in self.school.levels:
            raise ValidationError({"level": _("The school does not teach this level.")})
        if self.combined_grades and self.level and self.grade:
            if any(g not in LEVEL_GRADES[Level(self.level)] for g in self.combined_grades):
                raise ValidationError(
                    {"combined_grades": _("Every grade must belong to the class's level.")}
                )
            if min(self.combined_grades) != self.grade:
                raise ValidationError(
                    {"grade": _("A combined class's grade is the lowest of its grades.")}
                )
        if self.site_id and self.school_id and self.site.school_id != self.school_id:
            raise ValidationError({"site": _("The site belongs to another school.")})


class Staff(models.Model):
    """A person who works in education: teacher, principal, seal keeper, officer."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="staff",
    )
    personal_id = models.CharField(
        _("personal ID number"), max_length=12, unique=True, validators=[personal_id_validator]
    )
    full_name = models.CharField(_("full name"), max_length=150)
    position = models.CharField(_("position"), max_length=150, blank=True)
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="staff"
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name


class Role(models.TextChoices):
    SUBJECT_TEACHER = "SUBJECT_TEACHER", _("Subject teacher")
    HOMEROOM_TEACHER = "HOMEROOM_TEACHER", _("Homeroom teacher")
    PRINCIPAL = "PRINCIPAL", _("Principal")
    VICE_PRINCIPAL = "VICE_PRINCIPAL", _("Vice principal")
    SEAL_KEEPER = "SEAL_KEEPER", _("Seal keeper")
    DISTRICT_OFFICER = "DISTRICT_OFFICER", _("District office officer")
    COMMUNE_OFFICER = "COMMUNE_OFFICER", _("Commune people's committee officer")
    PROVINCE_OFFICER = "PROVINCE_OFFICER", _("Provincial department officer")
    MINISTRY_OFFICER = "MINISTRY_OFFICER", _("Ministry officer")
    SYSTEM_ADMIN = "SYSTEM_ADMIN", _("System administrator")
    SCHOOL_ADMIN = "SCHOOL_ADMIN", _("School administrator")


#: The scope fields each role must have set (and no others).
ROLE_SCOPE_FIELDS: dict[str, frozenset[str]] = {
    Role.SUBJECT_TEACHER: frozenset({"class_group", "subject_code"}),
    Role.HOMEROOM_TEACHER: frozenset({"class_group"}),
    Role.PRINCIPAL: frozenset({"school"}),
    Role.VICE_PRINCIPAL: frozenset({"school"}),
    Role.SEAL_KEEPER: frozenset({"school"}),
    Role.DISTRICT_OFFICER: frozenset({"district_office"}),
    Role.COMMUNE_OFFICER: frozenset({"commune"}),
    Role.PROVINCE_OFFICER: frozenset({"province_office"}),
    Role.MINISTRY_OFFICER: frozenset(),
    Role.SYSTEM_ADMIN: frozenset(),
    Role.SCHOOL_ADMIN: frozenset({"school"}),
}
SCOPE_FIELDS = (
    "class_group", "subject_code", "school", "district_office", "commune", "province_office",
)  # fmt: skip


class RoleAssignment(models.Model):
    """A role held by a staff member, limited to a scope: a class and subject, a class, a school,
    a district, a province, or the whole country. A class belongs to one school year, so class
    scopes are per year."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    class_group = models.ForeignKey(
        ClassGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    subject_code = models.CharField(_("subject"), max_length=30, blank=True)
    school = models.ForeignKey(
        School, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    district_office = models.ForeignKey(
        DistrictOffice, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    province_office = models.ForeignKey(
        ProvinceOffice, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["staff__full_name", "role"]

    def __str__(self) -> str:
        where = (
            (self.subject_code and f"{self.subject_code} {self.class_group}")
            or self.class_group
            or self.school
            or self.district_office
            or self.commune
            or self.province_office
            or "—"
        )
        return f"{self.staff}: {self.get_role_display()} ({where})"

    def clean(self) -> None:
        required = ROLE_SCOPE_FIELDS.get(self.role, frozenset())
        errors: dict[str, str] = {}
        for field in SCOPE_FIELDS:
            is_set = bool(getattr(self, field if field == "subject_code" else f"{field}_id"))
            if field in required and not is_set:
                errors[field] = str(_("Required for this role."))
            elif field not in required and is_set:
                errors[field] = str(_("Not used by this role."))
        if not errors and self.role == Role.SUBJECT_TEACHER:
            level = self.class_group.level
            subject = CATALOGUE.get((Level(level), self.subject_code))
            if subject is None or not set(self.class_group.grades) & set(subject.periods):
                errors["subject_code"] = str(_("This class does not study this subject."))
        closed = self.role == Role.DISTRICT_OFFICER and self.district_office_id is not None
        if not errors and self.pk is None and closed:
            assert self.district_office is not None
            if self.district_office.valid_to < dt.date.today():
                errors["district_office"] = str(
                    _("This district office has closed; assign a commune officer instead.")
                )
        if not errors and self.role == Role.COMMUNE_OFFICER and self.commune.valid_to:
            errors["commune"] = str(_("This commune no longer exists."))
        if errors:
            raise ValidationError(errors)
