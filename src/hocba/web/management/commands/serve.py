"""`hocba serve [--addr HOST:PORT] [--workers N] [--threads T]`: serve the web UI, the API and
the public verification pages with gunicorn (pre-forked worker processes, threads for keep-alive
connections); static files come from WhiteNoise. `hocba runserver` remains for development."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve hocba with gunicorn (production WSGI server)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from hocba.config.wsgi import application

        class Server(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                self.cfg.set("bind", options["addr"])
                self.cfg.set("workers", options["workers"])
                self.cfg.set("threads", options["threads"])
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("keepalive", 30)
                self.cfg.set("accesslog", None)

            def load(self) -> Any:
                return application

        Server().run()
