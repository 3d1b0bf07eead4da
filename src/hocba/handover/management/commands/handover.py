"""`hocba handover export DIR [--school CODE]`, `hocba handover import DIR [--signer SHA256]` and
`hocba handover schema`: the hand-over of a whole instance (docs/handover.md).

Exit codes: 0 done; 2 refused (a file changed, added or missing, a seal that does not check out,
a target that holds data, a key that is not there), with `CODE: message` on standard error and
nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.handover import seal, services, tables
from hocba.signing.signers import SignerError


class Command(BaseCommand):
    help = "Hand-over of the whole instance: export, import, the schema of an export."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write everything this instance holds to DIR")
        export.add_argument("dir", type=Path)
        export.add_argument("--school", default="", help="seal with this school's organisation key")
        load = sub.add_parser("import", help="load an export into this empty instance")
        load.add_argument("dir", type=Path)
        load.add_argument(
            "--signer",
            default="",
            metavar="SHA256",
            help="the SHA-256 of the certificate expected to seal it (printed by the export)",
        )
        schema = sub.add_parser("schema", help="print the tables and columns of an export")
        schema.add_argument("--markdown", action="store_true", help="as in docs/handover.md")
        schema.add_argument(
            "--update-doc", type=Path, metavar="FILE", help="rewrite the generated part of FILE"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "schema":
            if options["update_doc"]:
                doc = options["update_doc"]
                doc.write_text(tables.with_generated(doc.read_text()))
            elif options["markdown"]:
                self.stdout.write(tables.markdown(), ending="")
            else:
                self.stdout.write(services._json(tables.schema()).decode(), ending="")
            return
        try:
            if action == "export":
                summary = services.export_instance(options["dir"], options["school"])
            else:
                summary = services.import_instance(options["dir"], options["signer"])
        except services.HandoverError as refused:
            raise CommandError(f"{refused.code}: {refused.message}", returncode=2) from None
        except (seal.SealError, SignerError) as refused:
            raise CommandError(f"{refused.code}: {refused.message}", returncode=2) from None
        rows = sum(summary.rows.values())
        done = "Exported" if action == "export" else "Imported"
        self.stdout.write(
            f"{done} {rows} rows of {len(summary.rows)} tables and {summary.files} files; "
            f"manifest sha256 {summary.manifest_sha256}, sealed by {summary.signer} "
            f"(certificate sha256 {summary.signer_sha256})."
        )
