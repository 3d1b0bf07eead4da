"""Warehouse worker processes racing on one database: the harness of the concurrency tests.

Each worker is an OS process of its own (multiprocessing, spawned: a fresh interpreter that
sets Django up from the environment like `hocba warehouse work` does) and processes packages
with `process_pending`, the production loop. The test prepares a round (packages received and
committed), then every worker and the test meet at a barrier so that the workers start at the
same moment; each worker processes until nothing is left and reports what it did.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from dataclasses import dataclass
from multiprocessing.synchronize import Barrier
from typing import Any
from urllib.parse import quote

WAIT_SECONDS = 120.0


def _work(name: str, env: dict[str, str], start: Barrier, results: Any) -> None:
    for variable in ("HOCBA_UPSTREAM_URL", "HOCBA_WAREHOUSE_CODE", "HOCBA_S3_BUCKET"):
        os.environ.pop(variable, None)
    os.environ.update(env)
    import django

    django.setup()
    from threading import BrokenBarrierError

    from django.db import connection

    from hocba.warehouse.services import process_pending

    while True:
        try:
            start.wait(timeout=WAIT_SECONDS)
        except BrokenBarrierError:  # the test is over (or gave up)
            connection.close()
            return
        try:
            results.put((name, process_pending(), ""))
        except Exception:
            results.put((name, 0, traceback.format_exc()))


@dataclass
class Round:
    """What each worker reported: packages processed, and the error that stopped it if any."""

    processed: dict[str, int]
    errors: dict[str, str]


class Workers:
    """`count` worker processes over the database the test uses (settings_dict of its
    connection) and the test run's data directory."""

    def __init__(self, settings_dict: dict[str, Any], data_dir: str, count: int = 2) -> None:
        context = multiprocessing.get_context("spawn")
        self.start = context.Barrier(count + 1)
        self.results = context.Queue()
        env = {
            "DJANGO_SETTINGS_MODULE": "hocba.config.settings",
            "DATABASE_URL": database_url(settings_dict),
            "HOCBA_DATA_DIR": data_dir,
        }
        self.processes = [
            context.Process(
                target=_work,
                args=(f"worker-{i}", env, self.start, self.results),
                name=f"hocba-warehouse-worker-{i}",
                daemon=True,
            )
            for i in range(count)
        ]
        for process in self.processes:
            process.start()

    def go(self) -> Round:
        """Start every worker at the same moment; wait until each has processed what it could."""
        self.start.wait(timeout=WAIT_SECONDS)
        processed: dict[str, int] = {}
        errors: dict[str, str] = {}
        for _ in self.processes:
            name, done, error = self.results.get(timeout=WAIT_SECONDS)
            processed[name] = done
            if error:
                errors[name] = error
        return Round(processed, errors)

    def stop(self) -> None:
        self.start.abort()
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()


def database_url(settings_dict: dict[str, Any]) -> str:
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{credentials}{host}:{port}/{settings_dict['NAME']}"
