"""`hocba records import-external FILE…|DIR --school CODE [--as USER] [--json]`: the import of
records issued by another system from the command line (an action of `hocba records`,
registered in `ExternalConfig.ready()`). Exit 0 when the batch is imported (or was already),
1 with one line per refused file (`FILE: CODE: message`) when it is refused, 2 for a wrong
argument; nothing is written unless every file is accepted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from hocba import limits
from hocba.external.services import ImportRefused, Incoming, Refusal, import_external
from hocba.records.hooks import Subcommand


def _arguments(parser: Any) -> None:
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR", help="XML or ZIP files, folders")
    parser.add_argument("--school", required=True, help="Ministry code of the importing school")
    parser.add_argument("--as", dest="username", help="acting user (default: the principal)")
    parser.add_argument("--json", action="store_true", help="the outcome as JSON")


def files_of(paths: list[str]) -> list[Incoming]:
    """The files named, and those under the folders named (in name order), read whole; a
    file larger than an upload may be is refused before it is read."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"Không có tệp hoặc thư mục {given}", returncode=2)
        if len(found) > limits.EXTERNAL_FILES:
            break
    too_large = [p for p in found[: limits.EXTERNAL_FILES + 1]
                 if p.stat().st_size > limits.EXTERNAL_UPLOAD_BYTES]  # fmt: skip
    if too_large:
        raise ImportRefused(
            [
                Refusal(
                    str(p),
                    "EXTERNAL_FILE_TOO_LARGE",
                    f"Tệp {p} lớn hơn giới hạn của một lần nhập "
                    f"({limits.EXTERNAL_UPLOAD_BYTES // limits.MiB} MB)",
                )
                for p in too_large
            ]
        )
    return [Incoming(str(p), p.read_bytes()) for p in found[: limits.EXTERNAL_FILES + 1]]


def _handle(command: Any, options: dict[str, Any]) -> None:
    school = command._school(options["school"])
    user = command._actor(school, options.get("username"))
    try:
        report = import_external(user, school, files_of(options["paths"]))
    except ImportRefused as refused:
        if options["json"]:
            command.stdout.write(json.dumps(_refused_json(refused), ensure_ascii=False))
        for refusal in refused.refusals:
            where = f"{refusal.name}: " if refusal.name else ""
            command.stderr.write(f"{where}{refusal.code}: {refusal.message}")
        raise CommandError(
            f"EXTERNAL_IMPORT_REFUSED: {len(refused.refusals)} tệp bị từ chối; "
            "không tệp nào được nhập",
            returncode=1,
        ) from None
    except PermissionDenied as denied:
        raise CommandError(f"PERMISSION_DENIED: {denied}", returncode=1) from None
    rows = [("imported", r) for r in report.imported] + [("unchanged", r) for r in report.unchanged]
    if options["json"]:
        command.stdout.write(
            json.dumps(
                {
                    "imported": len(report.imported),
                    "unchanged": len(report.unchanged),
                    "records": [
                        {
                            "outcome": outcome,
                            "record_id": r.record_id,
                            "version": r.version,
                            "student_code": r.student.student_code,
                            "school_year": r.school_year,
                            "grade": r.grade,
                            "issuer_code": r.issuer_code,
                            "issuer_name": r.issuer_name,
                            "sha256": r.xml_sha256,
                            "verdict": r.verdict,
                        }
                        for outcome, r in rows
                    ],
                },
                ensure_ascii=False,
            )
        )
        return
    command.stdout.write(f"imported {len(report.imported)}, unchanged {len(report.unchanged)}")
    for outcome, r in rows:
        command.stdout.write(
            f"  {outcome} {r.student.student_code} {r.school_year} khối {r.grade} "
            f"{r.record_id} v{r.version} — {r.issuer_name} ({r.verdict})"
        )


def _refused_json(refused: ImportRefused) -> dict[str, Any]:
    return {
        "error": {
            "code": "EXTERNAL_IMPORT_REFUSED",
            "message": "Có tệp bị từ chối; không tệp nào được nhập",
            "files": [
                {"name": r.name, "code": r.code, "message": r.message, "detail": r.detail}
                for r in refused.refusals
            ],
        }
    }


IMPORT_EXTERNAL = Subcommand(
    name="import-external",
    help="import signed record XML issued by another system (files, ZIPs or folders)",
    add_arguments=_arguments,
    handle=_handle,
)
