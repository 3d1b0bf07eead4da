"""`hocba signer_agent` (also `hocba signer-agent`): the local signer agent on loopback, for the
signing pages of the configured hocba sites only (`--origin`, repeatable;
`HOCBA_SIGNER_AGENT_ORIGINS`; by default the site of this deployment). Each is an https site,
or a plain http one on this computer only; any other stops the agent at start (`BAD_ORIGIN`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.signing import config
from hocba.signing.agent import SignerAgent, normalize_origin


class Command(BaseCommand):
    help = (
        "Sign with a USB token for the signing pages of the given hocba sites (loopback only); "
        "the PIN is typed in the agent's own page."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--origin",
            action="append",
            default=None,
            help="a hocba site whose signing pages may use the agent (https://host[:port], or "
            "http://127.0.0.1|localhost|[::1][:port]); "
            "repeat for several (default: HOCBA_SIGNER_AGENT_ORIGINS, else this site)",
        )
        parser.add_argument("--library", default=None, help="PKCS#11 module of the token")

    def handle(self, *args: Any, **options: Any) -> None:
        origins = options["origin"] or settings.SIGNER_AGENT_ORIGINS
        try:
            normalized = sorted({normalize_origin(o) for o in origins})
            agent = SignerAgent(
                options["library"] or config.pkcs11_library(), config.softhsm_conf(), normalized
            )
        except ValueError as error:
            raise CommandError(f"BAD_ORIGIN: {error} ({_origins_from(options)})") from None
        server = agent.serve(options["port"])
        self.stdout.write(f"Signer agent on {server.url} for pages from {', '.join(normalized)}")
        self.stdout.flush()
        server.server.serve_forever()


def _origins_from(options: dict[str, Any]) -> str:
    """Where the refused origins were configured, for the operator to mend."""
    if options["origin"]:
        return "--origin"
    if settings.SIGNER_AGENT_ORIGINS_GIVEN:
        return "HOCBA_SIGNER_AGENT_ORIGINS"
    return "trang mặc định lấy từ HOCBA_VERIFY_URL"
