"""Importing who teaches what: teaching assignments (teacher × class × subject) and homeroom
assignments (teacher × class), for one school year.

Teachers are matched by personal ID number among the school's staff (import the staff first);
classes by name (a new name makes a class); subjects from the Vietnamese names schools write
("Toán", "Tiếng Anh", "HĐTN, HN"; `subjects.toml`) to the catalogue's codes for the class's
level and grade. One teacher per class and subject, one homeroom teacher per class: a file that
names another teacher changes the assignment (the old one is ended, kept in the history). An
assignment absent from the file is listed, and stays.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from hocba.audit.services import Entry
from hocba.gradebook.models import ClassSubject
from hocba.imports.classes import Classes
from hocba.imports.kinds import ImportKind, register
from hocba.imports.layouts import Layout
from hocba.imports.plan import Action, FieldChange, Item, Plan
from hocba.imports.reading import Row
from hocba.organizations.models import Role, RoleAssignment, School, SchoolYear, Staff
from hocba.organizations.permissions import Permission
from hocba.rules.catalogue import CATALOGUE, Level, subjects_for
from hocba.spreadsheets import shown
from hocba.spreadsheets.cells import CellRefused, fold

HOMEROOM = ""
"""The subject code of a homeroom assignment in the plan's keys."""


@cache
def _subject_names() -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
    data = tomllib.loads(Path(__file__).with_name("subjects.toml").read_text("utf-8"))
    aliases = tuple((fold(alias), code) for alias, code in data["aliases"])
    return aliases, frozenset(fold(word) for word in data["homeroom"])


def is_homeroom(subject: str) -> bool:
    return fold(subject) in _subject_names()[1]


def subject_of_grades(level: str, grades: tuple[int, ...], name: str) -> str:
    """The catalogue code of the subject `name` as taught in any of `grades` (a combined class
    studies the subjects of each of its grades)."""
    refused: CellRefused | None = None
    for grade in grades:
        try:
            return subject_code(level, grade, name)
        except CellRefused as error:
            refused = refused or error
    raise refused or CellRefused(f"môn “{shown(name)}” không có trong chương trình")


def subject_code(level: str, grade: int, name: str) -> str:
    """The catalogue code of the subject `name` as taught at `grade` of `level`."""
    taught = subjects_for(level, grade)
    wanted = fold(name)
    for subject in taught:
        if fold(subject.name) == wanted or subject.code == name.strip().upper():
            return subject.code
    codes = {subject.code for subject in taught}
    for alias, code in _subject_names()[0]:
        if alias == wanted and code in codes:
            return code
    raise CellRefused(f"môn “{shown(name)}” không có trong chương trình khối {grade}")


@dataclass(frozen=True, slots=True)
class Wanted:
    class_name: str
    subject_code: str
    """HOMEROOM for the homeroom teacher."""
    teacher: Staff
    replaces: RoleAssignment | None


def _label(class_name: str, level: str, code: str) -> str:
    if code == HOMEROOM:
        return f"{class_name} · Chủ nhiệm"
    return f"{class_name} · {CATALOGUE[(Level(level), code)].name}"


class AssignmentsKind(ImportKind):
    name = "assignments"
    label = _("Teaching and homeroom assignments")
    permission = Permission.STAFF_WRITE

    def plan(
        self, user: Any, school: School, year: SchoolYear, rows: list[Row], sheet: str,
        layout: Layout | None,
    ) -> Plan:  # fmt: skip
        plan = Plan(self.name)
        classes = Classes.of(school, year)
        ids = {row.values["teacher_id"] for row in rows if row.values.get("teacher_id")}
        teachers = Staff.objects.in_bulk(ids, field_name="personal_id")
        current: dict[tuple[str, str], RoleAssignment] = {}
        for held in RoleAssignment.objects.filter(
            class_group__school=school, class_group__school_year=year, active=True,
            role__in=(Role.SUBJECT_TEACHER, Role.HOMEROOM_TEACHER),
        ).select_related("staff", "class_group"):  # fmt: skip
            code = held.subject_code if held.role == Role.SUBJECT_TEACHER else HOMEROOM
            current[(held.class_group.name.upper(), code)] = held
        wanted: dict[tuple[str, str], tuple[Wanted, Row]] = {}
        for row in rows:
            values = row.values
            if not values.get("teacher_id") or not values.get("class_name"):
                continue
            teacher = teachers.get(values["teacher_id"])
            if teacher is None or teacher.school_id != school.pk:
                plan.problems.append(row.problem(
                    sheet, "teacher_id",
                    "không có cán bộ nào của trường mang số định danh này (nhập danh sách cán bộ "
                    "trước)",
                ))  # fmt: skip
                continue
            subject = values.get("subject", "")
            homeroom = bool(layout and layout.homeroom) or is_homeroom(subject)
            if not homeroom and not subject:
                plan.problems.append(row.problem(sheet, "subject", "thiếu môn học"))
                continue
            for written in values["class_name"]:
                try:
                    class_name = classes.name(written)
                except ValueError as refused:
                    plan.problems.append(row.problem(sheet, "class_name", str(refused)))
                    continue
                level, grades = classes.level_grades(class_name)
                try:
                    code = HOMEROOM if homeroom else subject_of_grades(level, grades, subject)
                except ValueError as refused:
                    plan.problems.append(row.problem(sheet, "subject", str(refused)))
                    continue
                key = (class_name.upper(), code)
                if key in wanted and wanted[key][0].teacher.pk != teacher.pk:
                    plan.problems.append(row.problem(
                        sheet, "teacher_id",
                        f"{_label(class_name, level, code)} đã được phân cho "
                        f"{wanted[key][0].teacher.full_name} ở dòng {wanted[key][1].number}",
                    ))  # fmt: skip
                    continue
                held = current.get(key)
                label = _label(class_name, level, code)
                if held is not None and held.staff_id == teacher.pk:
                    plan.items.append(Item(Action.UNCHANGED, label, teacher.full_name, row.number))
                    wanted[key] = (Wanted(class_name, code, teacher, None), row)
                    continue
                wanted[key] = (Wanted(class_name, code, teacher, held), row)
                teacher_label = str(_("Teacher"))
                if held is None:
                    plan.items.append(
                        Item(
                            Action.CREATE,
                            label,
                            teacher.full_name,
                            row.number,
                            (FieldChange("teacher", teacher_label, "", teacher.full_name),),
                        )
                    )
                else:
                    plan.items.append(
                        Item(
                            Action.CHANGE,
                            label,
                            teacher.full_name,
                            row.number,
                            (
                                FieldChange(
                                    "teacher",
                                    teacher_label,
                                    held.staff.full_name,
                                    teacher.full_name,
                                ),
                            ),
                        )
                    )
        for key, held in sorted(current.items()):
            if key not in wanted:
                label = _label(held.class_group.name, held.class_group.level, key[1])
                plan.items.append(Item(Action.MISSING, label, held.staff.full_name))
        plan.notes = classes.notes()
        plan.work = (
            classes,
            [w for w, _row in wanted.values() if w.replaces or not _held(current, w)],
        )
        return plan

    def apply(self, user: Any, school: School, year: SchoolYear, plan: Plan) -> list[Any]:
        classes, wanted = plan.work
        classes.create()
        needed: dict[int, set[str]] = defaultdict(set)
        for item in wanted:
            if item.subject_code != HOMEROOM:
                needed[classes.get(item.class_name).pk].add(item.subject_code)
        have = set(
            ClassSubject.objects.filter(class_group_id__in=needed).values_list(
                "class_group_id", "subject_code"
            )
        )
        missing = []
        for class_id, codes in needed.items():
            group = next(g for g in classes.existing.values() if g.pk == class_id)
            order = list(
                dict.fromkeys(
                    s.code for grade in group.grades for s in subjects_for(group.level, grade)
                )
            )
            missing.extend(
                ClassSubject.from_catalogue(group, code, order.index(code))
                for code in sorted(codes)
                if (class_id, code) not in have
            )
        ClassSubject.objects.bulk_create(missing)
        ended = [item.replaces.pk for item in wanted if item.replaces is not None]
        RoleAssignment.objects.filter(pk__in=ended).update(active=False)
        made = []
        entries = []
        for item in wanted:
            group = classes.get(item.class_name)
            if item.subject_code == HOMEROOM:
                made.append(RoleAssignment(staff=item.teacher, role=Role.HOMEROOM_TEACHER,
                                           class_group=group))  # fmt: skip
            else:
                made.append(
                    RoleAssignment(
                        staff=item.teacher,
                        role=Role.SUBJECT_TEACHER,
                        class_group=group,
                        subject_code=item.subject_code,
                    )
                )
            old = {"teacher": item.replaces.staff.personal_id} if item.replaces else None
            entries.append(Entry(
                "imports.assignment.change" if item.replaces else "imports.assignment.create",
                object_type="organizations.RoleAssignment",
                object_id=f"{group.pk}:{item.subject_code or 'GVCN'}",
                summary=_label(group.name, group.level, item.subject_code),
                old=old, new={"teacher": item.teacher.personal_id},
            ))  # fmt: skip
        RoleAssignment.objects.bulk_create(made)
        return entries


def _held(current: dict[tuple[str, str], RoleAssignment], wanted: Wanted) -> bool:
    held = current.get((wanted.class_name.upper(), wanted.subject_code))
    return held is not None and held.staff_id == wanted.teacher.pk


register(AssignmentsKind())
