"""Importing a school's students for a year: identities, families and the class of the year.

A row is matched to a student by the student code (mã học sinh, unique in the platform), or
else by the personal ID number when exactly one student holds it; never by its place in the
file. A matched student's fields are compared one by one (a field the file lacks, or an empty
cell, leaves what is stored); a student enrolled in another class of the year is moved to the
file's class, unless the grade book of the old class holds assessments of theirs. A student of
another school (an open enrolment there in any year, or enrolments there and never here) is a
cell problem. Students enrolled this year but absent from the file are listed, never removed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from hocba.audit.services import Entry
from hocba.gradebook.models import Assessment
from hocba.identity.codes import ETHNICITIES, SEXES
from hocba.imports.classes import Classes
from hocba.imports.fields import STUDENT_FIELDS
from hocba.imports.kinds import ImportKind, register
from hocba.imports.layouts import Layout
from hocba.imports.plan import Action, FieldChange, Item, Plan, shown_value
from hocba.imports.reading import Row
from hocba.organizations.models import School, SchoolYear
from hocba.organizations.permissions import Permission
from hocba.spreadsheets import clean
from hocba.students.models import Enrolment, JoinReason, LeaveReason, Student

MODEL_FIELDS = tuple(
    field.name for field in STUDENT_FIELDS if field.name not in ("class_name", "grade")
)
LABELS = {field.name: str(field.label) for field in STUDENT_FIELDS}


def _shown(field: str, value: Any) -> str:
    if field == "sex":
        return SEXES.get(value, "")
    if field == "ethnicity" and value:
        return f"{ETHNICITIES.get(value, value)}"
    return shown_value(value)


def _enrolments(school: School, year: SchoolYear) -> dict[int, Enrolment]:
    """The current enrolment in a class of the school this year, by student."""
    found = Enrolment.objects.filter(
        class_group__school=school, class_group__school_year=year, date_left__isnull=True
    ).select_related("class_group", "student")
    return {enrolment.student_id: enrolment for enrolment in found}


def _matches(rows: list[Row]) -> tuple[dict[str, Student], dict[str, list[Student]]]:
    codes = {row.values["student_code"] for row in rows if row.values.get("student_code")}
    by_code = Student.objects.in_bulk(codes, field_name="student_code") if codes else {}
    ids = {
        row.values["personal_id"]
        for row in rows
        if row.values.get("personal_id") and row.values.get("student_code") not in by_code
    }
    by_id: dict[str, list[Student]] = defaultdict(list)
    for student in Student.objects.filter(personal_id__in=ids) if ids else []:
        by_id[student.personal_id].append(student)
    return by_code, by_id


def _enrolled_elsewhere(
    school: School, by_code: dict[str, Student], by_id: dict[str, list[Student]]
) -> dict[int, str]:
    """The other school (by name) each matched student belongs to: a file does not take, nor
    rewrite, a student of another school. That is a student with an open enrolment at another
    school (in any year), or one never enrolled at this school but enrolled elsewhere."""
    ids = {s.pk for s in by_code.values()} | {s.pk for found in by_id.values() for s in found}
    if not ids:
        return {}
    enrolments = Enrolment.objects.filter(student_id__in=ids)
    here = set(enrolments.filter(class_group__school=school).values_list("student_id", flat=True))
    found: dict[int, str] = {}
    for student_id, name, left in (
        enrolments.exclude(class_group__school=school)
        .order_by("date_joined", "pk")
        .values_list("student_id", "class_group__school__name", "date_left")
    ):
        if left is None or student_id not in here:
            found[student_id] = name
    return found


def _own_grade(classes: Classes, class_name: str, grade: int | None) -> int | None:
    """The pupil's own grade in a combined class (None in an ordinary one); ValueError when a
    combined class lacks it or does not hold it."""
    group = classes.existing.get(class_name.upper())
    if group is None or not group.is_combined:
        return None
    grades = ", ".join(str(g) for g in group.grades)
    if grade is None:
        raise ValueError(
            _("class %(class)s is a combined class: write the pupil's grade (%(grades)s) in a "
              "“Khối” column") % {"class": group.name, "grades": grades}
        )  # fmt: skip
    if grade not in group.grades:
        raise ValueError(
            _("class %(class)s has no pupils of grade %(grade)s (%(grades)s)")
            % {"class": group.name, "grade": grade, "grades": grades}
        )
    return grade


class StudentsKind(ImportKind):
    name = "students"
    label = _("Students")
    permission = Permission.STUDENT_WRITE

    def plan(
        self, user: Any, school: School, year: SchoolYear, rows: list[Row], sheet: str,
        layout: Layout | None,
    ) -> Plan:  # fmt: skip
        plan = Plan(self.name)
        classes = Classes.of(school, year)
        enrolled = _enrolments(school, year)
        by_code, by_id = _matches(rows)
        seen_codes: Counter[str] = Counter(r.values.get("student_code", "") for r in rows)
        seen_ids: Counter[str] = Counter(r.values.get("personal_id", "") for r in rows)
        elsewhere = _enrolled_elsewhere(school, by_code, by_id)
        matched: set[int] = set()
        creates: list[tuple[Row, str]] = []
        changes: list[tuple[Student, dict[str, Any], str | None, Row]] = []
        for row in rows:
            values = row.values
            code = values.get("student_code", "")
            if not code or not values.get("full_name") or not values.get("class_name"):
                continue  # a required cell is bad: already named
            if seen_codes[code] > 1:
                plan.problems.append(
                    row.problem(sheet, "student_code", "mã học sinh lặp lại trong tệp")
                )
                continue
            pid = values.get("personal_id", "")
            if pid and seen_ids[pid] > 1:
                plan.problems.append(
                    row.problem(sheet, "personal_id", "số định danh lặp lại trong tệp")
                )
                continue
            if len(values["class_name"]) != 1:
                plan.problems.append(
                    row.problem(sheet, "class_name", "một học sinh chỉ học một lớp")
                )
                continue
            try:
                class_name = classes.name(values["class_name"][0])
            except ValueError as refused:
                plan.problems.append(row.problem(sheet, "class_name", str(refused)))
                continue
            try:
                grade = _own_grade(classes, class_name, values.get("grade"))
            except ValueError as refused:
                plan.problems.append(row.problem(sheet, "grade", str(refused)))
                continue
            student = by_code.get(code)
            if student is None and pid:
                holders = by_id.get(pid, [])
                if len(holders) > 1:
                    plan.problems.append(
                        row.problem(sheet, "personal_id", "nhiều học sinh có số định danh này")
                    )
                    continue
                student = holders[0] if holders else None
            if student is None:
                creates.append((row, class_name, grade))
                plan.items.append(
                    Item(Action.CREATE, code, values["full_name"], row.number, (
                        FieldChange("class_name", LABELS["class_name"], "", class_name),
                    ))
                )  # fmt: skip
                continue
            if student.pk in elsewhere:
                plan.problems.append(row.problem(
                    sheet, "student_code",
                    str(_("the student belongs to %(school)s; transfer them before importing")
                        % {"school": elsewhere[student.pk]}),
                ))  # fmt: skip
                continue
            matched.add(student.pk)
            differences = {
                field: values[field]
                for field in MODEL_FIELDS
                if field in values and getattr(student, field) != values[field]
            }
            shown = [
                FieldChange(f, LABELS[f], _shown(f, getattr(student, f)), _shown(f, new))
                for f, new in differences.items()
            ]
            enrolment = enrolled.get(student.pk)
            old_class = enrolment.class_group.name if enrolment else ""
            moved = (
                class_name
                if old_class.upper() != class_name.upper()
                or (enrolment is not None and enrolment.grade != grade)
                else None
            )
            if moved is not None:
                if (
                    enrolment is not None
                    and Assessment.objects.filter(
                        student=student, class_subject__class_group=enrolment.class_group
                    ).exists()
                ):
                    plan.problems.append(
                        row.problem(
                            sheet,
                            "class_name",
                            f"học sinh đã có điểm ở lớp {old_class}; không chuyển lớp bằng tệp",
                        )
                    )
                    continue
                shown.append(FieldChange("class_name", LABELS["class_name"], old_class, moved))
                if grade is not None:
                    old_grade = str(enrolment.grade or "") if enrolment else ""
                    shown.append(FieldChange("grade", LABELS["grade"], old_grade, str(grade)))
            if shown:
                changes.append((student, differences, moved, row, grade))
                plan.items.append(
                    Item(Action.CHANGE, student.student_code, student.full_name, row.number,
                         tuple(shown))
                )  # fmt: skip
            else:
                plan.items.append(
                    Item(Action.UNCHANGED, student.student_code, student.full_name, row.number)
                )
        for student_id, enrolment in sorted(
            enrolled.items(), key=lambda pair: pair[1].student.full_name
        ):
            if student_id not in matched:
                student = enrolment.student
                plan.items.append(
                    Item(Action.MISSING, student.student_code, student.full_name, 0, (
                        FieldChange("class_name", LABELS["class_name"],
                                    enrolment.class_group.name, ""),
                    ))
                )  # fmt: skip
        plan.notes = classes.notes()
        plan.work = (classes, creates, changes, enrolled)
        return plan

    def apply(self, user: Any, school: School, year: SchoolYear, plan: Plan) -> list[Any]:
        classes, creates, changes, enrolled = plan.work
        classes.create()
        made = Student.objects.bulk_create(
            Student(**{f: row.values[f] for f in MODEL_FIELDS if f in row.values})
            for row, _class, _grade in creates
        )
        if made and made[0].pk is None:
            made = list(
                Student.objects.filter(
                    student_code__in=[row.values["student_code"] for row, _c, _g in creates]
                ).order_by()
            )
            order = {row.values["student_code"]: n for n, (row, _c, _g) in enumerate(creates)}
            made.sort(key=lambda s: order[s.student_code])
        new_enrolments = [
            Enrolment(student=student, class_group=classes.get(class_name), grade=grade,
                      date_joined=year.start_date, join_reason=JoinReason.NEW)
            for student, (_row, class_name, grade) in zip(made, creates, strict=True)
        ]  # fmt: skip
        entries = [
            Entry("imports.student.create", student, summary=student.full_name,
                  new={f: getattr(student, f) for f in MODEL_FIELDS})
            for student in made
        ]  # fmt: skip
        updated: dict[str, list[Student]] = defaultdict(list)
        closed: list[Enrolment] = []
        for student, differences, new_class, _row, grade in changes:
            old = {f: getattr(student, f) for f in differences}
            for field, value in differences.items():
                setattr(student, field, value)
            if differences:
                updated[",".join(sorted(differences))].append(student)
            if new_class is not None:
                enrolment = enrolled.get(student.pk)
                if enrolment is None:
                    new_enrolments.append(
                        Enrolment(student=student, class_group=classes.get(new_class),
                                  grade=grade, date_joined=year.start_date,
                                  join_reason=JoinReason.NEW)
                    )  # fmt: skip
                else:
                    # a move keeps the old class in the history, as people.services.move does
                    old["class_name"] = enrolment.class_group.name
                    when = max(
                        min(timezone.localdate(), year.end_date),
                        enrolment.date_joined + dt.timedelta(days=1),
                    )
                    enrolment.date_left = when - dt.timedelta(days=1)
                    enrolment.leave_reason = LeaveReason.CLASS_CHANGE
                    closed.append(enrolment)
                    new_enrolments.append(
                        Enrolment(student=student, class_group=classes.get(new_class),
                                  grade=grade, date_joined=when,
                                  join_reason=JoinReason.CLASS_CHANGE)
                    )  # fmt: skip
            new = {f: getattr(student, f) for f in differences}
            if new_class is not None:
                new["class_name"] = new_class
            entries.append(
                Entry(
                    "imports.student.change", student, summary=student.full_name, old=old, new=new
                )
            )
        for fields, students in updated.items():
            Student.objects.bulk_update(students, fields.split(","), batch_size=500)
        Enrolment.objects.bulk_update(closed, ["date_left", "leave_reason"], batch_size=500)
        Enrolment.objects.bulk_create(new_enrolments, batch_size=500)
        return entries

    def export(self, school: School, year: SchoolYear, layout: Layout) -> Workbook:
        book = Workbook()
        sheet = book.active
        sheet.title = "Danh sach hoc sinh"
        columns = layout.headings()
        sheet.append([heading for heading, _field in columns])
        enrolments = (
            Enrolment.objects.filter(
                class_group__school=school, class_group__school_year=year, date_left__isnull=True
            )
            .select_related("student", "class_group")
            .order_by("class_group__grade", "class_group__name", "student__full_name")
        )
        for enrolment in enrolments:
            student = enrolment.student
            line: list[Any] = []
            for _heading, field in columns:
                if field == "class_name":
                    line.append(enrolment.class_group.name)
                elif field == "grade":
                    line.append(enrolment.grade or "")
                elif field == "sex":
                    line.append(SEXES.get(student.sex, "") if student.sex != "0" else "")
                elif field == "ethnicity":
                    line.append(ETHNICITIES.get(student.ethnicity, student.ethnicity))
                elif field == "date_of_birth":
                    born = student.date_of_birth
                    line.append(born.strftime("%d/%m/%Y") if born else "")
                elif field == "has_disability":
                    line.append("x" if student.has_disability else "")
                else:
                    line.append(clean(getattr(student, field)))
            sheet.append(line)
        return book


register(StudentsKind())
