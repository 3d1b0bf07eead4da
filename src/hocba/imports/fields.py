"""The fields a file's columns can fill, per kind of import, and how each cell becomes a value.

A field is a name (`full_name`), a label for people, and a reader from `hocba.spreadsheets.cells`
(plus the code lists of `hocba.identity`); a reader raises `CellRefused` with the reason, and the
import names the cell. The layouts (`layouts/*.toml`) and the mapping step both speak in these
names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from hocba.identity.codes import ETHNICITIES
from hocba.identity.names import is_valid_name
from hocba.organizations.models import Role
from hocba.spreadsheets import cells
from hocba.spreadsheets.cells import CellRefused

_ETHNICITY_CODES = {cells.fold(name): code for code, name in ETHNICITIES.items()}
_NATIONALITIES = {"viet nam": "VN", "vn": "VN", "vietnam": "VN"}
_CLASS_NAME = re.compile(r"([0-9]{1,2})[^0-9\s].{0,8}|([0-9]{1,2})")
ROLE_WORDS = {
    Role.PRINCIPAL: "Hiệu trưởng",
    Role.VICE_PRINCIPAL: "Phó hiệu trưởng",
    Role.SEAL_KEEPER: "Văn thư",
}
"""The school roles a staff file may name, as schools write them (and as exports write them)."""
_SCHOOL_ROLES = {cells.fold(word): role for role, word in ROLE_WORDS.items()}


def _text(limit: int) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        written = cells.text(value)
        if len(written) > limit:
            raise CellRefused(f"dài {len(written)} ký tự, tối đa {limit}")
        return written

    return read


def _name(value: Any) -> str:
    written = _text(150)(value)
    if written and not is_valid_name(written):
        raise CellRefused(f"“{cells.shown(written)}” không phải họ tên (chỉ gồm chữ cái)")
    return written


def _personal_id(value: Any) -> str:
    written = cells.code(value, 12)
    if written and not re.fullmatch(r"[0-9]{12}", written):
        raise CellRefused(f"“{cells.shown(written)}” không phải số định danh cá nhân (12 chữ số)")
    return written


def _student_code(value: Any) -> str:
    written = cells.code(value)
    if written and not re.fullmatch(r"[0-9A-Za-z._\-]{1,20}", written):
        raise CellRefused(f"“{cells.shown(written)}” không phải mã học sinh (tối đa 20 chữ, số)")
    return written


def _ethnicity(value: Any) -> str:
    written = cells.text(value)
    if not written:
        return ""
    if written.isascii() and written.isdigit() and written.zfill(2) in ETHNICITIES:
        return written.zfill(2)
    found = _ETHNICITY_CODES.get(cells.fold(written).replace(" ", "")) or _ETHNICITY_CODES.get(
        cells.fold(written)
    )
    if found is None:
        raise CellRefused(f"dân tộc “{cells.shown(written)}” không có trong danh mục QCVN 109")
    return found


def _nationality(value: Any) -> str:
    written = cells.text(value)
    if not written:
        return "VN"
    if re.fullmatch(r"[A-Za-z]{2}", written):
        return written.upper()
    found = _NATIONALITIES.get(cells.fold(written))
    if found is None:
        raise CellRefused(
            f"quốc tịch “{cells.shown(written)}” không rõ (ghi Việt Nam hoặc mã 2 chữ)"
        )
    return found


def class_grade(name: str) -> int:
    """The grade of a class from its name: "6A1" is grade 6, "10 Toán" grade 10."""
    match = _CLASS_NAME.fullmatch(name)
    grade = int(match[1] or match[2]) if match else 0
    if not 1 <= grade <= 12:
        raise CellRefused(f"tên lớp “{cells.shown(name)}” không cho biết khối (như 6A1, 10A2)")
    return grade


def _grade(value: Any) -> int | None:
    """A pupil's own grade (1 to 12), for a combined class."""
    written = cells.text(value)
    if not written:
        return None
    if not written.isdigit() or not 1 <= int(written) <= 12:
        raise CellRefused("khối lớp là một số từ 1 đến 12")
    return int(written)


def _class_names(value: Any) -> tuple[str, ...]:
    """One class ("6A1"), or several in one cell ("6A1, 6A2; 7A1")."""
    names = tuple(part.strip() for part in re.split(r"[,;\n]", cells.text(value)) if part.strip())
    for name in names:
        if len(name) > 10:
            raise CellRefused(f"tên lớp “{cells.shown(name)}” dài quá 10 ký tự")
        class_grade(name)
    return tuple(name.upper() for name in names)


def _roles(value: Any) -> tuple[str, ...]:
    found = []
    for part in re.split(r"[,;\n]", cells.text(value)):
        if not part.strip():
            continue
        role = _SCHOOL_ROLES.get(cells.fold(part))
        if role is None:
            raise CellRefused(
                f"vai trò “{cells.shown(part.strip())}” không rõ (Hiệu trưởng, Phó hiệu trưởng, "
                "Văn thư)"
            )
        found.append(str(role))
    return tuple(sorted(set(found)))


def roles_of_position(position: str) -> tuple[str, ...]:
    """The school roles a position names ("Hiệu trưởng" is the principal)."""
    role = _SCHOOL_ROLES.get(cells.fold(position))
    return (str(role),) if role else ()


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: Promise
    read: Callable[[Any], Any]
    required: bool = False
    """A row without it is a bad row."""


def _field(name: str, label: Promise, read: Callable[[Any], Any], required: bool = False) -> Field:
    return Field(name, label, read, required)


STUDENT_FIELDS: tuple[Field, ...] = (
    _field("student_code", _("Student code"), _student_code, required=True),
    _field("personal_id", _("Personal ID number"), _personal_id),
    _field("full_name", _("Full name"), _name, required=True),
    _field("date_of_birth", _("Date of birth"), cells.date),
    _field("sex", _("Sex"), cells.sex),
    _field("ethnicity", _("Ethnicity"), _ethnicity),
    _field("nationality", _("Nationality"), _nationality),
    _field("class_name", _("Class"), _class_names, required=True),
    _field("grade", _("Grade (combined class)"), _grade),
    _field("register_no", _("Registration number"), _text(50)),
    _field("birthplace", _("Place of birth"), _text(250)),
    _field("hometown", _("Hometown"), _text(250)),
    _field("current_address", _("Current address"), _text(250)),
    _field("father_name", _("Father's name"), _name),
    _field("father_occupation", _("Father's occupation"), _text(150)),
    _field("mother_name", _("Mother's name"), _name),
    _field("mother_occupation", _("Mother's occupation"), _text(150)),
    _field("guardian_name", _("Guardian's name"), _name),
    _field("guardian_occupation", _("Guardian's occupation"), _text(150)),
    _field("policy_category", _("Policy category"), _text(250)),
    _field("has_disability", _("Student with a disability"), cells.flag),
)

STAFF_FIELDS: tuple[Field, ...] = (
    _field("personal_id", _("Personal ID number"), _personal_id, required=True),
    _field("full_name", _("Full name"), _name, required=True),
    _field("position", _("Position"), _text(150)),
    _field("roles", _("Roles in the school"), _roles),
)

ASSIGNMENT_FIELDS: tuple[Field, ...] = (
    _field("teacher_id", _("Teacher's personal ID number"), _personal_id, required=True),
    _field("teacher_name", _("Teacher's name"), _name),
    _field("class_name", _("Class"), _class_names, required=True),
    _field("subject", _("Subject"), _text(100)),
)
