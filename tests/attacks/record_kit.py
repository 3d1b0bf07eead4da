"""What the record attacks assert on a verification report (the records and keys they start from
are built by `tests.factories.records`)."""

from __future__ import annotations

from hocba.formats.report import Report


def failed_codes(report: Report) -> set[str]:
    return {c.code or "" for c in report.checks if c.status == "FAIL"}
