"""Importing a school's staff: name, position and the school's own roles (vice principal, seal
keeper), matched by personal ID number only.

An import never moves a person between schools: a matched person of another school, or of none
(officers, administrators), is a cell problem. Roles are given only by someone who may assign
roles, never to themselves, and the principal never (the Sở appoints them): a "Vai trò" cell
asking for such a role is a cell problem; a role read from the position only is not given.

The roles come from a "Vai trò" column when the file has one, else from the position
("Hiệu trưởng" is the principal). A role is added, never taken away by a file: a person
missing from the file is listed, and their roles stay until someone ends them. Accounts to sign
in are not made here.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from hocba.audit.services import Entry
from hocba.imports.fields import ROLE_WORDS, STAFF_FIELDS, roles_of_position
from hocba.imports.kinds import ImportKind, register
from hocba.imports.layouts import Layout
from hocba.imports.plan import Action, FieldChange, Item, Plan
from hocba.imports.reading import Row
from hocba.organizations.models import Role, RoleAssignment, School, SchoolYear, Staff
from hocba.organizations.permissions import Permission, can
from hocba.spreadsheets import clean

LABELS = {field.name: str(field.label) for field in STAFF_FIELDS}
SCHOOL_ROLES = (Role.PRINCIPAL, Role.VICE_PRINCIPAL, Role.SEAL_KEEPER)


def _role_names(roles: Any) -> str:
    return "; ".join(ROLE_WORDS[Role(role)] for role in sorted(roles))


def _refused_roles(user: Any, school: School, person: Staff | None, added: set[str]) -> str:
    """Why the importer may not give these roles ("" when they may): the principal is
    appointed by the Sở, never by a file; the other roles only by someone who may assign roles
    (`user` None is the operator), and never to themselves."""
    if not added:
        return ""
    if Role.PRINCIPAL in added:
        return str(_("the principal is appointed by the Department of Education, not by a file"))
    if user is not None:
        if not can(user, Permission.ROLE_ASSIGN, school):
            return str(_("you may not assign roles; leave the column empty"))
        if person is not None and person.user_id is not None and person.user_id == user.pk:
            return str(_("nobody gives a role to themselves"))
    return ""


def _roles_of(school: School) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for staff_id, role in RoleAssignment.objects.filter(
        school=school, role__in=SCHOOL_ROLES, active=True
    ).values_list("staff_id", "role"):
        found[staff_id].add(role)
    return found


class StaffKind(ImportKind):
    name = "staff"
    label = _("Staff")
    permission = Permission.STAFF_WRITE

    def plan(
        self, user: Any, school: School, year: SchoolYear, rows: list[Row], sheet: str,
        layout: Layout | None,
    ) -> Plan:  # fmt: skip
        plan = Plan(self.name)
        ids = {row.values["personal_id"] for row in rows if row.values.get("personal_id")}
        known = Staff.objects.select_related("school").in_bulk(ids, field_name="personal_id")
        roles = _roles_of(school)
        seen: Counter[str] = Counter(row.values.get("personal_id", "") for row in rows)
        work: list[tuple[Staff | None, dict[str, Any], set[str], Row]] = []
        matched: set[int] = set()
        for row in rows:
            values = row.values
            pid = values.get("personal_id", "")
            if not pid or not values.get("full_name"):
                continue
            if seen[pid] > 1:
                plan.problems.append(
                    row.problem(sheet, "personal_id", "số định danh lặp lại trong tệp")
                )
                continue
            explicit = "roles" in values
            wanted = (
                set(values["roles"])
                if explicit
                else set(roles_of_position(values.get("position", "")))
            )
            person = known.get(pid)
            if person is not None and person.school_id != school.pk:
                plan.problems.append(
                    row.problem(sheet, "personal_id", str(_("staff member of another unit")))
                )
                continue
            held = roles.get(person.pk, set()) if person is not None else set()
            refused = _refused_roles(user, school, person, wanted - held)
            if refused and explicit:
                plan.problems.append(row.problem(sheet, "roles", refused))
                continue
            if refused:
                # a role read from the position only: the position is kept, the role not given
                wanted = held & wanted if person is not None else set()
            fields = {f: values[f] for f in ("full_name", "position") if f in values}
            if person is None:
                work.append((None, fields, wanted, row))
                shown = (
                    [FieldChange("roles", LABELS["roles"], "", _role_names(wanted))]
                    if wanted
                    else []
                )
                plan.items.append(
                    Item(Action.CREATE, pid, values["full_name"], row.number, tuple(shown))
                )
                continue
            matched.add(person.pk)
            differences = {f: v for f, v in fields.items() if getattr(person, f) != v}
            shown = [
                FieldChange(f, LABELS[f], str(getattr(person, f)), str(v))
                for f, v in differences.items()
            ]
            added = wanted - held
            if added:
                shown.append(
                    FieldChange(
                        "roles", LABELS["roles"], _role_names(held), _role_names(held | added)
                    )
                )
            if shown:
                work.append((person, differences, added, row))
                plan.items.append(
                    Item(Action.CHANGE, pid, person.full_name, row.number, tuple(shown))
                )
            else:
                plan.items.append(Item(Action.UNCHANGED, pid, person.full_name, row.number))
        for person in (
            Staff.objects.filter(school=school).exclude(pk__in=matched).order_by("full_name")
        ):
            plan.items.append(Item(Action.MISSING, person.personal_id, person.full_name))
        plan.work = work
        return plan

    def apply(self, user: Any, school: School, year: SchoolYear, plan: Plan) -> list[Any]:
        entries: list[Any] = []
        assignments: list[RoleAssignment] = []
        for person, fields, roles, row in plan.work:
            if person is None:
                person = Staff.objects.create(
                    school=school, personal_id=row.values["personal_id"], **fields
                )
                entries.append(Entry("imports.staff.create", person, summary=person.full_name,
                                     new={**fields, "roles": sorted(roles)}))  # fmt: skip
            else:
                old = {f: getattr(person, f) for f in fields}
                for field, value in fields.items():
                    setattr(person, field, value)
                if fields:
                    person.save(update_fields=list(fields))
                entries.append(
                    Entry("imports.staff.change", person, summary=person.full_name,
                          old={k: str(v) for k, v in old.items()},
                          new={**{k: str(v) for k, v in fields.items()}, "roles": sorted(roles)})
                )  # fmt: skip
            assignments.extend(
                RoleAssignment(staff=person, role=role, school=school) for role in sorted(roles)
            )
        RoleAssignment.objects.bulk_create(assignments)
        return entries

    def export(self, school: School, year: SchoolYear, layout: Layout) -> Workbook:
        book = Workbook()
        sheet = book.active
        sheet.title = "Danh sach can bo"
        columns = layout.headings()
        sheet.append([heading for heading, _field in columns])
        roles = _roles_of(school)
        for person in Staff.objects.filter(school=school).order_by("full_name"):
            line = []
            for _heading, field in columns:
                if field == "roles":
                    line.append(_role_names(roles.get(person.pk, ())))
                else:
                    line.append(clean(getattr(person, field)))
            sheet.append(line)
        return book


register(StaffKind())
