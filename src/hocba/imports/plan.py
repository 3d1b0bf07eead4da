"""What an import will do, shown before it does it: the preview.

Each kind of import turns the file's rows into a `Plan`: one `Item` per person (or assignment)
saying whether it will be created, changed (field by field, old → new), left unchanged, or is in
the school now but missing from the file; the cell problems that forbid applying; and the work
to do, which only the kind's `apply` reads. Applying plans again from the file inside the
transaction and compares the plan's fingerprint with the one the person saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from hocba.imports.reading import CellProblem


class Action(StrEnum):
    CREATE = "create"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    MISSING = "missing"

    @property
    def label(self) -> str:
        return str(_ACTION_LABELS[self])


_ACTION_LABELS = {
    Action.CREATE: _("To create"),
    Action.CHANGE: _("To change"),
    Action.UNCHANGED: _("Unchanged"),
    Action.MISSING: _("In the school, missing from the file"),
}


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Item:
    action: Action
    key: str
    """What matches the item (a student code, a personal ID, "6A1 · Toán")."""
    name: str
    row: int = 0
    """The file's row (0 for an item missing from the file)."""
    changes: tuple[FieldChange, ...] = ()


@dataclass
class Plan:
    kind: str
    items: list[Item] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Other things the import will do (classes it creates), one sentence each."""
    work: Any = None
    """What `apply` writes; the kind's own shape."""

    def count(self, action: Action) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def writes(self) -> bool:
        return any(item.action in (Action.CREATE, Action.CHANGE) for item in self.items) or bool(
            self.notes
        )

    def fingerprint(self) -> str:
        """The same for the same plan: what the person saw is what is applied."""
        digest = hashlib.sha256()
        for item in self.items:
            if item.action in (Action.CREATE, Action.CHANGE):
                digest.update(repr((item.action.value, item.key, item.changes)).encode())
        for note in self.notes:
            digest.update(note.encode())
        return digest.hexdigest()[:32]

    def summary(self) -> dict[str, int]:
        return {action.value: self.count(action) for action in Action}


def shown_value(value: Any) -> str:
    """A field's value as the preview shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "strftime"):
        return str(value.strftime("%d/%m/%Y"))
    return str(value)
