"""`hocba signer_agent` (also `hocba signer-agent`): the local signer agent on loopback."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hocba.signing import config
from hocba.signing.agent import agent_app
from hocba.signing.servers import LoopbackServer


class Command(BaseCommand):
    help = "Sign digests with a USB token for the browser (loopback only)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--origin", default="http://127.0.0.1:8000")
        parser.add_argument("--library", default=None, help="PKCS#11 module of the token")

    def handle(self, *args: Any, **options: Any) -> None:
        app = agent_app(
            options["library"] or config.pkcs11_library(), config.softhsm_conf(), options["origin"]
        )
        server = LoopbackServer(app, options["port"])
        self.stdout.write(f"Signer agent on {server.url} for pages from {options['origin']}")
        server.server.serve_forever()
