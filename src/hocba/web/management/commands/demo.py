"""`hocba demo`: build the demo province in HOCBA_DATA_DIR, print what was built, maybe serve
(the site, and `hocba worker` beside it for the background tasks, stopped with the site)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from rich.console import Console
from rich.table import Table

from hocba.demo.builder import build_demo
from hocba.organizations.models import School


class Command(BaseCommand):
    help = "Build a complete synthetic province (demo data) and optionally serve the web UI."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--students-per-school", type=int, default=40)
        parser.add_argument("--seed", type=int, default=2025)
        parser.add_argument(
            "--reset", action="store_true", help="delete existing data in the database first"
        )
        parser.add_argument(
            "--serve",
            action="store_true",
            help="serve the web UI afterwards, with a background worker (hocba worker)",
        )
        parser.add_argument("--addr", default="127.0.0.1:8000", help="address for --serve")

    def handle(self, *args: Any, **options: Any) -> None:
        n = options["students_per_school"]
        if n < 1:
            raise CommandError("--students-per-school must be at least 1", returncode=2)
        console = Console(file=self.stdout, highlight=False)
        call_command("migrate", interactive=False, verbosity=0)
        if School.objects.exists():
            if not options["reset"]:
                raise CommandError(
                    f"The database ({connection.settings_dict['NAME']}) already holds data; "
                    "use --reset to replace it with the demo, or another HOCBA_DATA_DIR.",
                    returncode=2,
                )
            call_command("flush", interactive=False, verbosity=0)
        password = os.environ.get("HOCBA_DEMO_PASSWORD", "hocba-demo")
        demo = build_demo(
            students_per_school=n,
            seed=options["seed"],
            password=password,
            progress=lambda step: console.print(f"[dim]…[/dim] {step}"),
        )
        table = Table(title="hocba demo", show_header=True)
        table.add_column("what")
        table.add_column("count", justify="right")
        for name, count in demo.counts.items():
            table.add_row(name, str(count))
        console.print(table)
        logins = Table(title=f"Accounts (password: {password})")
        logins.add_column("username")
        logins.add_column("role")
        logins.add_column("where")
        for row in demo.logins:
            logins.add_row(*row)
        console.print(logins)
        console.print(f"Data directory: {settings.DATA_DIR}")
        if options["serve"]:
            call_command("collectstatic", interactive=False, verbosity=0)
            _free(options["addr"])
            console.print(f"Serving on http://{options['addr']}/ (Ctrl+C to stop)")
            # render batches and what follows a signing batch run in the worker, not the server
            worker = subprocess.Popen([sys.executable, "-m", "hocba.cli", "worker"])
            # stopped by a signal too, the server takes its worker with it
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                call_command(
                    "runserver", options["addr"], use_reloader=False, insecure_serving=True
                )
            finally:
                worker.terminate()
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()


def _free(addr: str) -> None:
    """Refuse at once an address already taken (the server would stop without its worker)."""
    host, _, port = addr.rpartition(":")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or "127.0.0.1", int(port)))
        except OSError as error:
            raise CommandError(f"Không mở được {addr}: {error.strerror}", returncode=2) from None
