"""Run by `hocba.spreadsheets.xls` in a child process: the first sheet of the .xls file on
standard input, read by python-calamine, as JSON on standard output.

calamine is native code: a damaged file can make it ask for petabytes and abort the process
(memory allocation failures in Rust are not exceptions). So it never runs in the process that
serves pages or works on jobs: here, with its own memory ceiling, it can only end itself.
Imports nothing of hocba.
"""

from __future__ import annotations

import datetime as dt
import json
import resource
import sys
from typing import Any

MEMORY_BYTES = 2 * 1024**3


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    from python_calamine import CalamineWorkbook

    content = sys.stdin.buffer.read()
    import io

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    sheet = workbook.get_sheet_by_index(0)
    start = list(sheet.start or (0, 0))
    rows = [[_plain(value) for value in values] for values in sheet.iter_rows()]
    json.dump({"start": start, "height": sheet.height, "width": sheet.width, "rows": rows},
              sys.stdout)  # fmt: skip


if __name__ == "__main__":
    main()
