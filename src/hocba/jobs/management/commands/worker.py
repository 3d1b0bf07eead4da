"""`hocba worker [--queues a,b] [--interval S] [--batch]`: run the background tasks (render
batches, the end of signing batches, sending, warehouse processing).

On the database backend (the default) it is hocba's own loop over django-tasks-db's table
(`hocba.jobs.worker`): it waits out database outages, sets failing tasks aside and takes again
what a killed worker left. With `HOCBA_TASKS=redis` it runs an RQ worker on the configured
queues, trying again while Redis is unreachable. Run as many as the machine has cores; each takes
one task at a time.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run background tasks (the job engine's worker)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queues",
            default="",
            help=f"comma-separated queues to take tasks from (default: all of "
            f"{', '.join(settings.TASK_QUEUES)})",
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between looks at an empty queue"
        )
        parser.add_argument(
            "--batch", action="store_true", help="run what is ready, then exit (cron, scripts)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
        from django_tasks_db import DatabaseBackend

        queues = [q.strip() for q in options["queues"].split(",") if q.strip()]
        unknown = sorted(set(queues) - set(settings.TASK_QUEUES))
        if unknown:
            raise CommandError(f"Không có hàng đợi: {', '.join(unknown)}", returncode=2)
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        for name in ("hocba.worker", "hocba.jobs", "django_tasks"):
            logger = logging.getLogger(name)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO if options["verbosity"] >= 1 else logging.WARNING)
        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if isinstance(backend, DatabaseBackend):
            from hocba.jobs.worker import DatabaseWorker

            worker = DatabaseWorker(
                backend=backend.alias,
                queues=queues or None,
                interval=options["interval"],
                batch=options["batch"],
            )
            worker.configure_signals()
            worker.run()
        elif type(backend).__module__.startswith("django_tasks_rq"):
            self._rq(queues or list(settings.TASK_QUEUES), options["batch"])
        else:
            raise CommandError(
                "Các tác vụ đang chạy ngay trong tiến trình gửi chúng (HOCBA_TASKS=immediate); "
                "không cần worker",
                returncode=2,
            )

    def _rq(self, queues: list[str], batch: bool) -> None:
        """django-rq's worker with django-tasks' job class; while Redis does not answer, wait
        and try again instead of exiting."""
        from redis.exceptions import ConnectionError as RedisDown

        wait = 1.0
        while True:
            try:
                call_command(
                    "rqworker",
                    *queues,
                    job_class="django_tasks_rq.backend.Job",
                    with_scheduler=not batch,
                    burst=batch,
                )
                return
            except (RedisDown, ConnectionError, SystemExit) as error:
                if isinstance(error, SystemExit) and error.code in (0, None):
                    return
                self.stderr.write(f"Redis không trả lời ({error}); thử lại sau {wait:.0f} giây")
                time.sleep(wait)
                wait = min(wait * 2, 30.0)
