"""Classes named in a file: found among the school's classes of the year, or planned (the grade
from the name, "6A1" is grade 6; the level the school teaches that grade at) and created with
the compulsory subjects of their grade when the import is applied."""

from __future__ import annotations

from dataclasses import dataclass, field

from hocba.gradebook.models import ClassSubject
from hocba.imports.fields import class_grade
from hocba.organizations.models import ClassGroup, School, SchoolYear
from hocba.rules.catalogue import Kind, Level, level_of_grade, subjects_for
from hocba.spreadsheets.cells import CellRefused


def level_for(school: School, grade: int) -> str:
    """The level `school` teaches `grade` at; CellRefused when it does not teach it."""
    level = level_of_grade(grade).value
    if level in school.levels:
        return level
    if Level.GDTX.value in school.levels and 6 <= grade <= 12:
        return Level.GDTX.value
    raise CellRefused(f"trường không dạy khối {grade}")


@dataclass
class Classes:
    """The school's classes of one year, and the ones the import will create."""

    school: School
    year: SchoolYear
    existing: dict[str, ClassGroup] = field(default_factory=dict)
    planned: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Name → (level, grade) of each class to create."""

    @classmethod
    def of(cls, school: School, year: SchoolYear) -> Classes:
        found = ClassGroup.objects.filter(school=school, school_year=year)
        return cls(school, year, {group.name.upper(): group for group in found})

    def name(self, name: str) -> str:
        """`name` as it is known (an existing class keeps its spelling); CellRefused when no
        class of that name can be made at this school."""
        key = name.upper()
        if key in self.existing:
            return self.existing[key].name
        if key not in self.planned:
            grade = class_grade(key)
            self.planned[key] = (level_for(self.school, grade), grade)
        return key

    def level_grade(self, name: str) -> tuple[str, int]:
        key = name.upper()
        if key in self.existing:
            return self.existing[key].level, self.existing[key].grade
        return self.planned[key]

    def level_grades(self, name: str) -> tuple[str, tuple[int, ...]]:
        """The level and every grade of the class (several for a combined class)."""
        key = name.upper()
        if key in self.existing:
            return self.existing[key].level, self.existing[key].grades
        level, grade = self.planned[key]
        return level, (grade,)

    def notes(self) -> list[str]:
        return [
            f"Tạo lớp {name} (khối {grade})" for name, (_l, grade) in sorted(self.planned.items())
        ]

    def create(self) -> dict[str, ClassGroup]:
        """Create the planned classes with their compulsory subjects; every class by name."""
        made = ClassGroup.objects.bulk_create(
            ClassGroup(
                school=self.school, school_year=self.year, level=level, grade=grade, name=name
            )
            for name, (level, grade) in sorted(self.planned.items())
        )
        if made and made[0].pk is None:  # backends that do not hand back keys
            made = list(
                ClassGroup.objects.filter(
                    school=self.school, school_year=self.year, name__in=self.planned
                )
            )
        subjects = [
            ClassSubject.from_catalogue(group, subject.code, position)
            for group in made
            for position, subject in enumerate(subjects_for(group.level, group.grade))
            if subject.kind == Kind.COMPULSORY
        ]
        ClassSubject.objects.bulk_create(subjects)
        for group in made:
            self.existing[group.name.upper()] = group
        self.planned.clear()
        return self.existing

    def get(self, name: str) -> ClassGroup:
        return self.existing[name.upper()]
