"""`hocba verify FILE [--json] [--trust PEM ...]`: offline verification of a record, as its XML
or as its sealed PDF view (the PDF report adds `pdf_signature`, `embedded_xml`,
`view_matches_xml`).

Exit 0 when the record is valid, 1 when it is not, 2 when the file cannot be read as a record
(verdict MALFORMED: one line on stderr naming why, after the report; never a traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hocba.formats.report import VERDICT_WORDS, Verdict, as_json
from hocba.signing import config
from hocba.signing.certs import TrustStore
from hocba.signing.verify import Verifier


@contextmanager
def _library_logs_silenced() -> Iterator[None]:
    """The PDF libraries log what they could not validate, and the verifier a file it could not
    read (`XML_UNREADABLE`), with tracebacks; the report says it for people, so the command's
    output is the report and one line."""
    names = ("pyhanko", "pyhanko_certvalidator", "hocba.signing.verify")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


class Command(BaseCommand):
    help = "Verify a record (XML or sealed PDF view) offline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--trust", action="append", help="trusted root certificate (PEM)")
        parser.add_argument("--no-ocsp", action="store_true", help="use CRLs only")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Không đọc được tệp: {error}", returncode=2) from None
        if options["trust"]:
            try:
                roots = [Path(p).read_bytes() for p in options["trust"]]
            except OSError as error:
                raise CommandError(
                    f"Không đọc được chứng thư tin cậy: {error}", returncode=2
                ) from None
            default = config.trust_store()
            trust = TrustStore.from_pem(roots)
            trust.intermediates = list(default.intermediates)
        else:
            trust = config.trust_store()
        revocation = config.revocation_checker()
        if options["no_ocsp"]:
            revocation.use_ocsp = False
        verifier = Verifier(trust, revocation)
        from hocba.documents.pdfcheck import PdfVerifier

        with _library_logs_silenced():
            if data.startswith(b"%PDF"):
                report = PdfVerifier(verifier).verify(data)
            else:
                report = verifier.verify(data)
        if options["json"]:
            self.stdout.write(json.dumps(as_json(report), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"{VERDICT_WORDS[report.verdict].vi} ({report.verdict})")
            for check in report.checks:
                where = " ".join(w for w in (check.slot, check.target, check.signer) if w)
                line = f"  {check.status:7} {check.check} {where}".rstrip()
                if check.code is not None:
                    line += f" — {check.code}: {check.message()}"
                self.stdout.write(line)
        if report.verdict is Verdict.MALFORMED:
            why = report.unusable()
            reason = f"{why.message()} ({why.code})" if why is not None else "MALFORMED"
            raise CommandError(f"Tệp không phải học bạ số: {reason}", returncode=2)
        if not report.valid:
            raise CommandError(f"Học bạ không hợp lệ: {report.verdict}", returncode=1)
