"""Faults of the warehouse's own database, made by the database itself: a trigger refuses the
rows a test names, as the database refuses a value too long for its column (PostgreSQL's
error for it) or any write on a bad day. On SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def refusing(table: str, column: str, value: str | int) -> Iterator[None]:
    """The database refuses every row of `table` whose `column` is `value` (PostgreSQL: the
    error of a value too long for its column)."""
    name = f"refuse_{uuid.uuid4().hex[:12]}"
    literal = str(value) if isinstance(value, int) else "'" + value.replace("'", "''") + "'"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.{column} = {literal} THEN RAISE EXCEPTION 'refused by the test' "
                "USING ERRCODE = '22001'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER {name} BEFORE INSERT ON {table} "
                f"WHEN NEW.{column} = {literal} BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
