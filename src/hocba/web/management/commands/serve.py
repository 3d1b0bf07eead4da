"""`hocba serve [--addr HOST:PORT] [--workers N] [--threads T]`: serve the web UI, the API and
the public verification pages with gunicorn (pre-forked worker processes, threads for keep-alive
connections); static files are collected with compressed copies and come from WhiteNoise.
The shared cache's table (rate limits, sign-in counters) is created if missing.
Background tasks run in `hocba worker`, a process of its own beside this one (docs/jobs.md).
`hocba runserver` remains for development."""

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
        from django.conf import settings
        from django.core.management import call_command
        from gunicorn.app.base import BaseApplication

        # static files collected once with compressed copies, and served from there (weak
        # connections get gzip or brotli) rather than straight from the apps
        call_command("collectstatic", interactive=False, verbosity=0)
        settings.WHITENOISE_USE_FINDERS = False
        # every worker counts rate limits in the shared cache; with the database cache, its table
        call_command("createcachetable", verbosity=0)

        from hocba.config.wsgi import application

        class Server(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                self.cfg.set("bind", options["addr"])
                self.cfg.set("workers", options["workers"])
                self.cfg.set("threads", options["threads"])
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("keepalive", 30)
                self.cfg.set("accesslog", None)
                # no gunicorn control socket: its default path is one per user, so every
                # server on the machine would take it from the one before
                self.cfg.set("control_socket_disable", True)

            def load(self) -> Any:
                return application

        Server().run()
