"""The sealed PDF view as a file of a record version, for the records app (its record page
links to it, `hocba records export --format pdf` writes it): registered in
`DocumentsConfig.ready()` (records never imports documents). The PDF stack (pyHanko, pypdf) is
loaded when a PDF is drawn, not when the platform starts: a process that never draws one (a
warehouse's workers) does not carry it."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hocba.documents.models import Document
from hocba.records.hooks import VersionFile
from hocba.records.models import RecordVersion


def existing(versions: Any) -> set[int]:
    return set(Document.objects.filter(version__in=versions).values_list("version_id", flat=True))


def made(
    versions: Sequence[RecordVersion],
) -> tuple[Mapping[int, Callable[[], bytes]], list[str]]:
    """The sealed views of `versions`, drawing those that have gone through every signing step
    and have none yet (with the school's organisation key)."""
    from hocba.documents.services import read_pdf, seal_with_school_keys

    problems = [
        f"PDF {failure['version']}: {failure['code']} {failure['message']}"
        for failure in seal_with_school_keys(None, versions).failed
    ]
    documents = Document.objects.filter(version__in=versions)
    return {d.version_id: functools.partial(read_pdf, d) for d in documents}, problems


PDF_VIEW = VersionFile(
    suffix="pdf", label="PDF", url_name="record-pdf", existing=existing, made=made
)
