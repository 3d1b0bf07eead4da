"""The forms of the people pages: what a school types about a student or a staff member.

Choices are shown by their Vietnamese names (ethnicities, subjects, roles), never by code."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hocba.identity.codes import ETHNICITIES
from hocba.organizations.models import ClassGroup, Role
from hocba.people.services import LEAVING_REASONS, SCHOOL_ROLES
from hocba.rules.catalogue import CATALOGUE, Level
from hocba.students.models import JoinReason, LeaveReason, Sex

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StudentForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    student_code = forms.CharField(label=_("Student code"), max_length=20)
    personal_id = forms.CharField(
        label=_("Personal ID number"), max_length=12, required=False,
        help_text=_("12 digits; may be added later"),
    )  # fmt: skip
    date_of_birth = forms.DateField(label=_("Date of birth"), widget=DATE)
    sex = forms.ChoiceField(
        label=_("Sex"), choices=[(Sex.MALE, Sex.MALE.label), (Sex.FEMALE, Sex.FEMALE.label)]
    )
    ethnicity = forms.ChoiceField(
        label=_("Ethnicity"),
        choices=[("", "—"), *sorted(ETHNICITIES.items())],
        required=False,
    )
    nationality = forms.CharField(
        label=_("Nationality (country code)"), max_length=2, initial="VN", required=False
    )
    birthplace = forms.CharField(label=_("Place of birth"), max_length=250, required=False)
    hometown = forms.CharField(label=_("Hometown"), max_length=250, required=False)
    current_address = forms.CharField(label=_("Current address"), max_length=250, required=False)
    father_name = forms.CharField(label=_("Father's name"), max_length=150, required=False)
    father_occupation = forms.CharField(
        label=_("Father's occupation"), max_length=150, required=False
    )
    mother_name = forms.CharField(label=_("Mother's name"), max_length=150, required=False)
    mother_occupation = forms.CharField(
        label=_("Mother's occupation"), max_length=150, required=False
    )
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=150, required=False)
    guardian_occupation = forms.CharField(
        label=_("Guardian's occupation"), max_length=150, required=False
    )

    def clean_nationality(self) -> str:
        return str(self.cleaned_data["nationality"]).strip().upper()


def _grade() -> forms.TypedChoiceField:
    """The pupil's own grade, asked only of a combined class (lớp ghép)."""
    return forms.TypedChoiceField(
        label=_("Grade (combined class)"),
        choices=[("", "—")] + [(g, str(g)) for g in range(1, 13)],
        coerce=int,
        empty_value=None,
        required=False,
        help_text=_("Only for a combined class: the pupil's own grade."),
    )


def _classes(classes: Any) -> forms.ModelChoiceField:
    field = forms.ModelChoiceField(queryset=classes, label=_("Class"))
    field.label_from_instance = lambda c: f"{c.name} ({c.school_year.name})"  # type: ignore[method-assign]
    return field


class NewStudentForm(StudentForm):
    class_group = forms.ModelChoiceField(queryset=ClassGroup.objects.none(), label=_("Class"))
    date_joined = forms.DateField(label=_("Date joined"), widget=DATE, initial=timezone.localdate)
    join_reason = forms.ChoiceField(
        label=_("Joined by"),
        choices=[(JoinReason.NEW, JoinReason.NEW.label),
                 (JoinReason.TRANSFER_IN, JoinReason.TRANSFER_IN.label)],
    )  # fmt: skip

    def __init__(self, *args: Any, classes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["class_group"] = _classes(classes)
        self.fields["grade"] = _grade()


class EnrolForm(forms.Form):
    """Enrol, or move to another class of the same year (the action says which)."""

    class_group = forms.ModelChoiceField(queryset=ClassGroup.objects.none(), label=_("Class"))
    date = forms.DateField(label=_("From"), widget=DATE, initial=timezone.localdate)

    def __init__(self, *args: Any, classes: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["class_group"] = _classes(classes)
        self.fields["grade"] = _grade()


class LeaveForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[(r.value, LeaveReason(r).label) for r in LEAVING_REASONS]
    )
    date = forms.DateField(label=_("Date left"), widget=DATE, initial=timezone.localdate)


class StaffForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=150)
    personal_id = forms.CharField(label=_("Personal ID number"), max_length=12, min_length=12)
    position = forms.CharField(label=_("Position"), max_length=150, required=False)


def subject_choices(levels: list[str]) -> list[tuple[str, str]]:
    """The subjects taught at these levels, by Vietnamese name (one entry per code)."""
    names: dict[str, str] = {}
    for (level, code), subject in CATALOGUE.items():
        if level.value in levels:
            names.setdefault(code, subject.name)
    return sorted(((code, name) for code, name in names.items()), key=lambda item: item[1])


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=[(r.value, Role(r).label) for r in SCHOOL_ROLES]
    )
    class_group = forms.ModelChoiceField(
        queryset=ClassGroup.objects.none(), label=_("Class"), required=False,
        help_text=_("for a homeroom or subject teacher"),
    )  # fmt: skip
    subject_code = forms.ChoiceField(
        label=_("Subject"), required=False, help_text=_("for a subject teacher")
    )

    def __init__(self, *args: Any, classes: Any, levels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = _classes(classes)
        field.required = False
        self.fields["class_group"] = field
        self.fields["subject_code"].choices = [("", "—"), *subject_choices(levels)]  # type: ignore[attr-defined]


LEVELS = [level.value for level in Level]
