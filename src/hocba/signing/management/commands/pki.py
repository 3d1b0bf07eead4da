"""`hocba pki init-dev [DIR]`, `hocba pki revoke PERSONAL_ID [--reason REASON]`,
`hocba pki ocsp [--port]`, `hocba pki issue-org TAX_CODE NAME` (an organisation certificate as
a PKCS#12 file, e.g. for a Sở that seals the packages it forwards; the file's password is the
development PIN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography import x509
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.signing import config
from hocba.signing.dev.pki import DEFAULT_OCSP_URL, DevPki
from hocba.signing.dev.tokens import ensure_dev_pki


class Command(BaseCommand):
    help = "The development PKI."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init-dev", help="create or extend the development PKI")
        init.add_argument("dir", nargs="?", help="default: $HOCBA_DATA_DIR/pki")
        init.add_argument("--ocsp-url", default=DEFAULT_OCSP_URL)
        revoke = sub.add_parser("revoke", help="revoke a person's certificate (CRL and OCSP)")
        revoke.add_argument("personal_id")
        revoke.add_argument(
            "--reason",
            choices=[reason.value for reason in x509.ReasonFlags],
            help="the CRLReason (keyCompromise, affiliationChanged, superseded, …); without it "
            "no signature of the key stands, whatever its signing time",
        )
        org = sub.add_parser("issue-org", help="issue an organisation certificate (PKCS#12)")
        org.add_argument("tax_code")
        org.add_argument("name")
        serve = sub.add_parser("ocsp", help="serve the OCSP responder and CRL on loopback")
        serve.add_argument("--port", type=int, default=8089)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "init-dev":
            path = Path(options["dir"]).resolve() if options["dir"] else config.pki_dir()
            summary = ensure_dev_pki(path, options["ocsp_url"])
            self.stdout.write(
                f"Development PKI in {summary.path}: ca/root.pem, ca/issuing.pem, crl/issuing.crl; "
                f"{summary.people} personal and {summary.organisations} organisation certificates "
                f"on {summary.tokens} SoftHSM2 tokens"
            )
            return
        pki_path = config.pki_dir()
        if not (pki_path / "pki.json").exists():
            raise CommandError("Chưa có PKI phát triển; chạy `hocba pki init-dev`", returncode=2)
        pki = DevPki.load(pki_path)
        if action == "revoke":
            entry = pki.index.get("people", {}).get(options["personal_id"])
            if entry is None:
                raise CommandError(f"Không có chứng thư của {options['personal_id']}", returncode=2)
            pem = Path(entry["p12"]).with_suffix(".pem").read_bytes()
            reason = x509.ReasonFlags(options["reason"]) if options["reason"] else None
            pki.revoke(x509.load_pem_x509_certificate(pem), reason=reason)
            self.stdout.write(f"Revoked; CRL written to {pki.crl_path}")
            return
        if action == "issue-org":
            orgs = pki.index.setdefault("orgs", {})
            key, cert = pki.issue_org(options["tax_code"], options["name"])
            p12 = pki.write_p12("orgs", options["tax_code"], key, cert)
            orgs[options["tax_code"]] = {"p12": str(p12)}
            pki.save()
            self.stdout.write(str(p12))
            return
        from hocba.signing.dev.servers import LoopbackServer, ocsp_app

        server = LoopbackServer(ocsp_app(pki), options["port"])
        self.stdout.write(f"OCSP responder on {server.url}/ocsp, CRL on {server.url}/crl")
        server.server.serve_forever()
