"""The cache shared by every process of a deployment, and the counters kept in it: Django's
database cache (the default: the same database every process already uses, nothing more to run)
or Redis (`HOCBA_REDIS_URL`), each with counting made safe for rate limits and failure counts.

`count`, `counted` and `uncount` are the only way counters are kept (`hocba.ratelimit`
counts through them). A counter is a fixed window: the first count starts its period, later
counts never extend it, and when the period ends the next count starts a new one at 1.

- Database: Django's `DatabaseCache.incr` reads the value and writes it back, so two workers
  counting at the same moment both read 5 and both write 6. Here the row is locked before it is
  read (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite a first `UPDATE` takes the write lock),
  and a count that finds no live row starts the period in the same transaction, so concurrent
  counts queue and none is lost.
- Database, culling: past `MAX_ENTRIES` rows Django deletes the expired rows and then a third of
  all the others, live ones included, so a client could reset its own counters (and anyone
  else's) by making keys. Here the cull deletes expired rows, then, if still too many, cached
  values that can be made again (verification reports), soonest to expire first, and never a
  live counter: the table may hold more than `MAX_ENTRIES` rows while that many counters are
  live. It stays bounded all the same, by what can be counted within the longest period (the
  sign-in lock, 15 minutes by default; rate counters last 150 seconds), and counters are only
  made for what exists or is counted anyway (an unknown client id counts against its address
  only). Refusing to grow instead would either let the requests it cannot count through or
  refuse everyone new while the table is full: neither is acceptable for counters.
- Redis: Django's `RedisCache.incr` asks whether the key exists and then increments it; if the
  key expires in between, `INCR` makes a new key without an expiry, and a failure counter made
  that way would lock its client for ever. Here each operation is one Lua script, atomic in
  Redis: the increment and the expiry together, and a counter found without an expiry (left by
  the old way) is given its period again.

The database table is created by `hocba migrate` (after every migration run, see
`hocba.web.apps`) and by `hocba serve`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import pickle
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.db import DatabaseCache as DjangoDatabaseCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.db import IntegrityError, connections, models, router, transaction
from django.utils.timezone import now

COUNTERS = "counter:"
"""Counters are kept under keys beginning with this, so that the database's cull knows them."""


def count(key: str, seconds: int) -> int:
    """Add one to the counter `key` and return it; the first count starts its period of
    `seconds`."""
    cache = caches["default"]
    if isinstance(cache, DatabaseCache | RedisCache):
        return cache.count(key, seconds)
    return _count_anywhere(cache, COUNTERS + key, seconds)


def counted(key: str, seconds: int) -> int:
    """The counter `key` in its current period (0 when none); `seconds` is its period, given
    again to a counter found without one."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return cache.counted(key, seconds)
    found = cache.get(COUNTERS + key)
    return int(found) if isinstance(found, int) else 0


def uncount(key: str) -> None:
    """Take one back from the counter `key` (an attempt counted before it was checked, that
    turned out not to be a failure); nothing when the period has ended."""
    cache = caches["default"]
    if isinstance(cache, DatabaseCache | RedisCache):
        cache.uncount(key)
        return
    with contextlib.suppress(ValueError):  # the period has ended: nothing to take back
        cache.decr(COUNTERS + key)


def _count_anywhere(cache: BaseCache, key: str, seconds: int) -> int:
    """Counting with any other cache backend (a process's own memory): increment, or start the
    period, or, when another thread started it in between, increment in it."""
    for _ in range(2):
        try:
            return int(cache.incr(key))
        except ValueError:
            pass
        if cache.add(key, 1, seconds):
            return 1
    return 1


class DatabaseCache(DjangoDatabaseCache):
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        db, connection = self._connection()
        with transaction.atomic(using=db), connection.cursor() as cursor:
            value = self._live_value(connection, cursor, key)
            if value is None:
                raise ValueError(f"Key '{key}' not found")
            self._update(connection, cursor, key, value + delta)
        return value + delta

    def count(self, key: str, seconds: int) -> int:
        key = self.make_and_validate_key(COUNTERS + key)
        db, connection = self._connection()
        for _ in range(3):
            try:
                with transaction.atomic(using=db), connection.cursor() as cursor:
                    value = self._live_value(connection, cursor, key, missing=-1)
                    if value is not None and value >= 0:
                        self._update(connection, cursor, key, value + 1)
                        return value + 1
                    self._start(connection, cursor, key, seconds, exists=value == -1)
                    return 1
            except IntegrityError:
                continue  # another process started the period between our read and insert
        raise RuntimeError(f"counter {key!r} could not be started")

    def uncount(self, key: str) -> None:
        key = self.make_and_validate_key(COUNTERS + key)
        db, connection = self._connection()
        table, cache_key = self._names(connection)[:2]
        with transaction.atomic(using=db), connection.cursor() as cursor:
            value = self._live_value(connection, cursor, key)
            if value is None:
                return
            if value > 1:
                self._update(connection, cursor, key, value - 1)
            else:
                cursor.execute(f"DELETE FROM {table} WHERE {cache_key} = %s", [key])  # noqa: S608 - names quoted by the backend

    def _cull(self, db: str, cursor: Any, now: Any, num: int) -> None:
        """Expired rows, then (still above MAX_ENTRIES) a third of the cached values that can be
        made again, soonest to expire first; never a live counter (see the module's
        docstring)."""
        connection = connections[db]
        table, cache_key, _value, expires = self._names(connection)
        cursor.execute(
            f"DELETE FROM {table} WHERE {expires} < %s",  # noqa: S608 - names quoted by the backend
            [connection.ops.adapt_datetimefield_value(now)],
        )
        remaining = num - max(cursor.rowcount, 0)
        if remaining <= self._max_entries or self._cull_frequency == 0:
            return
        counters = connection.ops.prep_for_like_query(self.make_key(COUNTERS)) + "%"
        cursor.execute(
            f"DELETE FROM {table} WHERE {cache_key} IN (SELECT {cache_key} FROM {table} "  # noqa: S608
            f"WHERE {cache_key} NOT LIKE %s ESCAPE '\\' ORDER BY {expires} LIMIT %s)",
            [counters, remaining // self._cull_frequency],
        )

    # --- rows ----------------------------------------------------------------------------------

    def _connection(self) -> tuple[str, Any]:
        db = router.db_for_write(self.cache_model_class)
        return db, connections[db]

    def _names(self, connection: Any) -> tuple[str, str, str, str]:
        quote = connection.ops.quote_name
        return quote(self._table), quote("cache_key"), quote("value"), quote("expires")

    def _live_value(
        self, connection: Any, cursor: Any, key: str, missing: int | None = None
    ) -> int | None:
        """The row's value, locked until the transaction ends; None when there is no row, or
        `missing` when there is one that has expired."""
        table, cache_key, value, expires = self._names(connection)
        select = f"SELECT {value}, {expires} FROM {table} WHERE {cache_key} = %s"  # noqa: S608 - names quoted by the backend
        if connection.features.has_select_for_update:
            cursor.execute(select + " FOR UPDATE", [key])
        else:
            # SQLite: a write first takes the database's write lock before the read
            lock = f"UPDATE {table} SET {expires} = {expires} WHERE {cache_key} = %s"  # noqa: S608
            cursor.execute(lock, [key])
            cursor.execute(select, [key])
        row = cursor.fetchone()
        if row is None:
            return None
        if self._expired(connection, row[1]):
            return missing
        stored = connection.ops.process_clob(row[0])
        return int(pickle.loads(base64.b64decode(stored.encode())))  # noqa: S301 - our own rows

    def _update(self, connection: Any, cursor: Any, key: str, value: int) -> None:
        table, cache_key, value_column, _expires = self._names(connection)
        cursor.execute(
            f"UPDATE {table} SET {value_column} = %s WHERE {cache_key} = %s",  # noqa: S608
            [self._pickled(value), key],
        )

    def _start(self, connection: Any, cursor: Any, key: str, seconds: int, exists: bool) -> None:
        """Start a counter's period at 1: over its expired row, or as a new row (culling first
        when the table is full, as Django's `set` does)."""
        table, cache_key, value, expires = self._names(connection)
        until = (now() + dt.timedelta(seconds=seconds)).replace(microsecond=0)
        until_value = connection.ops.adapt_datetimefield_value(until)
        if exists:
            cursor.execute(
                f"UPDATE {table} SET {value} = %s, {expires} = %s WHERE {cache_key} = %s",  # noqa: S608
                [self._pickled(1), until_value, key],
            )
            return
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - names quoted by the backend
        rows = cursor.fetchone()[0]
        if rows > self._max_entries:
            self._cull(connection.alias, cursor, now().replace(microsecond=0), rows)
        cursor.execute(
            f"INSERT INTO {table} ({cache_key}, {value}, {expires}) VALUES (%s, %s, %s)",  # noqa: S608
            [key, self._pickled(1), until_value],
        )

    def _pickled(self, value: int) -> str:
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")

    @staticmethod
    def _expired(connection: Any, expires: Any) -> bool:
        expression = models.Expression(output_field=models.DateTimeField())
        for converter in connection.ops.get_db_converters(
            expression
        ) + expression.get_db_converters(connection):
            expires = converter(expires, expression, connection)
        return bool(expires < now())


# Each script runs atomically in Redis. KEYS[1] is the counter, ARGV[1] its period in seconds.
_COUNT = """
local n = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_COUNTED = """
local n = redis.call('GET', KEYS[1])
if n and redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""
_UNCOUNT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n
"""


class RedisCache(DjangoRedisCache):
    def count(self, key: str, seconds: int) -> int:
        return int(self._run(_COUNT, key, max(1, seconds)) or 0)

    def counted(self, key: str, seconds: int) -> int:
        return int(self._run(_COUNTED, key, max(1, seconds)) or 0)

    def uncount(self, key: str) -> None:
        self._run(_UNCOUNT, key)

    def _run(self, script: str, key: str, *args: int) -> Any:
        key = self.make_and_validate_key(COUNTERS + key)
        client = self._cache.get_client(key, write=True)
        return client.register_script(script)(keys=[key], args=list(args))
