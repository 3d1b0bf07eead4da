"""The cache shared by every process of a deployment: Django's database cache (the default: the
same database every process already uses, nothing more to run) with an atomic `incr`.

Rate limits and failure counters (`hocba.verification.ratelimit`) count here. Django's
`DatabaseCache` inherits `incr` from `BaseCache`, which reads the value and writes it back: two
workers counting at the same moment both read 5 and both write 6, and a burst of parallel
requests passes a limit by as many requests as run at once. Here the row is locked before it is
read (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite a first `UPDATE` takes the write lock), so
concurrent increments queue and none is lost. Redis (`HOCBA_REDIS_URL`) needs none of this:
its `INCR` is atomic.

The table is created by `hocba migrate` (after every migration run, see `hocba.web.apps`) and by
`hocba serve`.
"""

from __future__ import annotations

import base64
import pickle
from typing import Any

from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.db import connections, models, router, transaction
from django.utils.timezone import now


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table, cache_key = quote(self._table), quote("cache_key")
        value_column, expires_column = quote("value"), quote("expires")
        select = f"SELECT {value_column}, {expires_column} FROM {table} WHERE {cache_key} = %s"  # noqa: S608 - names quoted by the backend
        with transaction.atomic(using=db), connection.cursor() as cursor:
            if connection.features.has_select_for_update:
                cursor.execute(select + " FOR UPDATE", [key])
            else:
                # SQLite: a write first takes the database's write lock before the read
                lock = f"UPDATE {table} SET {expires_column} = {expires_column}"  # noqa: S608
                cursor.execute(f"{lock} WHERE {cache_key} = %s", [key])
                cursor.execute(select, [key])
            row = cursor.fetchone()
            if row is None or self._expired(connection, row[1]):
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301 - our own rows
            pickled = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {value_column} = %s WHERE {cache_key} = %s",  # noqa: S608
                [pickled, key],
            )
        return value

    @staticmethod
    def _expired(connection: Any, expires: Any) -> bool:
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(
            expression
        ) + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        return bool(expires < now())
