"""Which tables a hand-over carries, and how one row is written to JSON and read back.

The tables are read through Django's app registry, never listed by hand: every model of every
`hocba` app (and the join tables Django makes for them) is carried, so a model added by any app
travels without a change here. From Django's own apps the accounts are carried (users, groups
and their memberships and permissions, the admin's history); the few tables left out are named
in `NOT_CARRIED` with the reason, and `tests/handover` checks that nothing else is missing.

A value is written as JSON in one way per kind of field (`kind_of`), the same on SQLite and
PostgreSQL, so two exports of the same data are the same bytes. Rows that point to a content
type or a permission carry its natural key (`["records", "recordversion"]`), because those rows
are made by `hocba migrate` on each instance with ids of their own.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import decimal
import inspect
import json
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

from django.apps import apps
from django.db import models
from django.utils import translation

HOCBA_PREFIX = "hocba."

CARRIED_FROM_DJANGO = (
    "auth.user",
    "auth.group",
    "auth.user_groups",
    "auth.group_permissions",
    "auth.user_user_permissions",
    "admin.logentry",
)
"""Tables of Django's own apps that a hand-over carries (labels in lower case)."""

NOT_CARRIED = {
    "contenttypes.contenttype": "made by `hocba migrate` on the new instance; rows that point to "
    "one carry its natural key",
    "auth.permission": "made by `hocba migrate` on the new instance; rows that point to one "
    "carry its natural key",
    "sessions.session": "sign-in sessions end with the hand-over: people sign in again",
    "django_tasks_database.dbtaskresult": "the queue of background tasks: the workers' sweeps "
    "find again a received package still to process and an outbox with something due; a PDF "
    "batch that had not finished is carried as it stood (jobs.job, documents.renderjob) and is "
    "started again by hand",
    "axes.accessattempt": "sign-in failure counters of the old site",
    "axes.accessattemptexpiration": "sign-in failure counters of the old site",
    "axes.accessfailurelog": "sign-in failure log of the old site (the audit chain is carried)",
    "axes.accesslog": "sign-in log of the old site (the audit chain is carried)",
}
"""Tables of the instance that a hand-over leaves out, and why."""

NATURAL_KEYS = ("contenttypes.contenttype", "auth.permission")
"""Tables whose rows are referred to by natural key, not by id."""


def label_of(model: type[models.Model]) -> str:
    return model._meta.label_lower


def carried_models() -> list[type[models.Model]]:
    """Every model the hand-over carries, in the order of their labels."""
    found = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_config.name.startswith(HOCBA_PREFIX)
        or label_of(model) in CARRIED_FROM_DJANGO
    ]
    return sorted((m for m in found if not m._meta.proxy and m._meta.managed), key=label_of)


def file_of(model: type[models.Model]) -> str:
    """Where a table's rows are in the export."""
    return f"tables/{label_of(model)}.json"


# --- columns and their kinds --------------------------------------------------------------------

KINDS: dict[str, str] = {
    "integer": "JSON number without fraction",
    "boolean": "JSON true or false",
    "string": "JSON string",
    "decimal": 'JSON string holding a decimal number exactly as stored (`"8.50"`)',
    "float": "JSON number",
    "date": "JSON string, ISO 8601 date (`2026-05-31`)",
    "datetime": "JSON string, ISO 8601 date and time in UTC (`2026-05-31T08:30:00.123456+00:00`)",
    "time": "JSON string, ISO 8601 time",
    "duration": "JSON number of seconds",
    "uuid": "JSON string, a UUID in its 36-character form",
    "json": "any JSON value, as stored (object keys sorted)",
    "bytes": "JSON string, the bytes in base64",
    "natural key": "JSON array, the natural key of the row pointed to",
}
"""Each kind of value, and how it is written."""

_INTERNAL_KINDS = {
    "AutoField": "integer",
    "BigAutoField": "integer",
    "SmallAutoField": "integer",
    "IntegerField": "integer",
    "BigIntegerField": "integer",
    "SmallIntegerField": "integer",
    "PositiveIntegerField": "integer",
    "PositiveBigIntegerField": "integer",
    "PositiveSmallIntegerField": "integer",
    "BooleanField": "boolean",
    "NullBooleanField": "boolean",
    "DecimalField": "decimal",
    "FloatField": "float",
    "DateField": "date",
    "DateTimeField": "datetime",
    "TimeField": "time",
    "DurationField": "duration",
    "UUIDField": "uuid",
    "JSONField": "json",
    "BinaryField": "bytes",
}


def _target(field: models.Field[Any, Any]) -> models.Field[Any, Any]:
    """The field a value is really of (a foreign key's is the key it points to)."""
    while field.is_relation and (field.many_to_one or field.one_to_one):
        field = field.target_field  # type: ignore[attr-defined]
    return field


def kind_of(field: models.Field[Any, Any]) -> str:
    if field.is_relation and label_of(field.related_model) in NATURAL_KEYS:  # type: ignore[arg-type]
        return "natural key"
    return _INTERNAL_KINDS.get(_target(field).get_internal_type(), "string")


@dataclass(frozen=True)
class Column:
    """One column of a table as the export writes it."""

    name: str
    """The key in each row (the database column's name: `school_id` for a foreign key)."""
    kind: str
    """One of `KINDS`."""
    null: bool
    """Whether the value may be null."""
    meaning: str
    """What the value is (the field's name and help text in the model)."""
    points_to: str
    """For a foreign key, the table it points to (else empty)."""


@cache
def _docstrings(model: type[models.Model]) -> dict[str, str]:
    """The docstrings written under the fields in the model's class (`name = …` then
    `\"\"\"…\"\"\"`), by field name."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(model)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found = {}
    for statement, following in pairwise(body):
        target = statement.targets[0] if isinstance(statement, ast.Assign) else None
        if isinstance(statement, ast.AnnAssign):
            target = statement.target
        if (
            isinstance(target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[target.id] = " ".join(following.value.value.split())
    return found


def _meaning(field: models.Field[Any, Any]) -> str:
    words = str(field.verbose_name)
    if field.primary_key:
        words = f"{words} (primary key)"
    if field.help_text:
        words = f"{words}: {field.help_text}"
    written = _docstrings(field.model).get(field.name)
    if written:
        words = f"{words}. {written}"
    choices = [str(value) for value, _ in field.flatchoices] if field.choices else []
    if choices:
        words = f"{words}; one of {', '.join(choices)}"
    return words


def columns(model: type[models.Model]) -> list[Column]:
    found = []
    for field in model._meta.concrete_fields:
        related = label_of(field.related_model) if field.is_relation else ""  # type: ignore[arg-type]
        found.append(
            Column(field.attname, kind_of(field), bool(field.null), _meaning(field), related)
        )
    return found


# --- values ----------------------------------------------------------------------------------


def dump_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A stored value as the export writes it (see `KINDS`)."""
    if value is None:
        return None
    kind = kind_of(field)
    if kind == "natural key":
        related = field.related_model._default_manager.get(pk=value)  # type: ignore[union-attr]
        return list(related.natural_key())
    if kind == "datetime":
        return value.astimezone(dt.UTC).isoformat()
    if kind in ("date", "time"):
        return value.isoformat()
    if kind in ("decimal", "uuid"):
        return str(value)
    if kind == "duration":
        return value.total_seconds()
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode()
    if kind == "json":
        return value
    if kind == "string":
        return str(value)
    return value


def load_value(field: models.Field[Any, Any], value: Any) -> Any:
    """A value of the export as the model takes it back."""
    if value is None:
        return None
    kind = kind_of(field)
    if kind == "natural key":
        manager = field.related_model._default_manager  # type: ignore[union-attr]
        return manager.get_by_natural_key(*value).pk
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    if kind == "decimal":
        return decimal.Decimal(value)
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "duration":
        return dt.timedelta(seconds=value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


def rows(model: type[models.Model]) -> Iterator[dict[str, Any]]:
    """The table's rows as the export writes them, in the order of their primary keys."""
    fields = model._meta.concrete_fields
    query = model._default_manager.order_by("pk")
    if kind_of(model._meta.pk) == "integer":  # type: ignore[arg-type]
        objects: Any = query.iterator(chunk_size=2000)
    else:
        # text keys: the same order whatever the database's collation
        objects = sorted(query, key=lambda obj: str(obj.pk))
    for obj in objects:
        yield {f.attname: dump_value(f, getattr(obj, f.attname)) for f in fields}


def line_of(row: dict[str, Any]) -> str:
    """One row on one line, the same bytes for the same values."""
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def instance_of(model: type[models.Model], row: dict[str, Any]) -> models.Model:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = sorted(set(row) - set(fields))
    if unknown:
        raise KeyError(", ".join(unknown))
    return model(**{name: load_value(fields[name], value) for name, value in row.items()})


# --- the documented schema ----------------------------------------------------------------------


def schema() -> dict[str, Any]:
    """Every table and column an export holds (written to `schema.json` in each export and to
    docs/handover.md)."""
    with translation.override("en"):
        return _schema()


def _schema() -> dict[str, Any]:
    return {
        "kinds": KINDS,
        "tables": [
            {
                "file": file_of(model),
                "table": label_of(model),
                "meaning": str(model._meta.verbose_name),
                "columns": [c.__dict__ for c in columns(model)],
            }
            for model in carried_models()
        ],
        "not_carried": NOT_CARRIED,
    }


def markdown() -> str:
    """The generated part of docs/handover.md: every table and column."""
    out = ["| kind | written as |", "|---|---|"]
    out += [f"| {kind} | {how} |" for kind, how in KINDS.items()]
    for table in schema()["tables"]:
        out += ["", f"### `{table['file']}`", "", f"{table['meaning'].capitalize()}.", ""]
        out += ["| column | kind | null | meaning |", "|---|---|---|---|"]
        for column in table["columns"]:
            meaning = column["meaning"].replace("|", "\\|").replace("\n", " ")
            if column["points_to"]:
                meaning = f"{meaning} → `{column['points_to']}`"
            null = "yes" if column["null"] else ""
            out.append(f"| `{column['name']}` | {column['kind']} | {null} | {meaning} |")
    out += ["", "Not carried:", ""]
    out += [f"- `{label}`: {why}" for label, why in sorted(NOT_CARRIED.items())]
    return "\n".join(out) + "\n"


DOC_START = "<!-- generated: hocba handover schema --markdown -->\n"
DOC_END = "<!-- end of generated -->"


def with_generated(doc: str) -> str:
    """`doc` (docs/handover.md) with its generated part replaced by the current schema."""
    start, end = doc.index(DOC_START) + len(DOC_START), doc.index(DOC_END)
    return doc[:start] + markdown() + doc[end:]
