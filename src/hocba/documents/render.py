"""Drawing the printable view: signed XML → PDF/A-3b with the XML attached as its source.

One typst compiler per process (fonts are loaded once, and typst reuses the layout of pieces that
are the same from one record to the next). Only the fonts shipped with the template are used
(Hocba Serif: Liberation Serif without hinting, metric-compatible with Times New Roman, the font
of Vietnamese administrative documents), so the same XML gives the same bytes on every machine.
The PDF's date is the time of the school's seal, so drawing the same record twice gives identical
files — which is how `view_matches_xml` checks a sealed PDF. Pure: typst + segno, no Django.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import segno
import typst

from hocba.documents.view import view_of

TEMPLATE = "hocba.typ"
PDF_STANDARD = "a-3b"
_PAGE = re.compile(rb"\bobj\s*<<\s*/Type\s*/Page[\s/>]")


SECTIONS = 4
"""The pages the template draws when no section runs over a page: the cover, identity and school
history, then the year's two pages (primary: subjects and qualities, then competencies and the
result, a spread on paper; otherwise the subjects, then the summary)."""


def page_count(pdf: bytes) -> int:
    """The number of page objects in a PDF as typst writes it: each an uncompressed object whose
    dictionary starts with its type (text such as a name in the XMP packet cannot start one)."""
    return len(_PAGE.findall(pdf))


class RenderError(RuntimeError):
    """The view could not be drawn; `code` is stable, the message Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def qr_svg(address: str) -> str:
    """The verification address as a QR code (error correction M, SVG)."""
    out = io.BytesIO()
    # a fixed mask pattern: any of the eight is valid for every reader, and choosing the "best"
    # one costs several times the rest of the encoding; byte mode and level M as they are (no
    # search for a better mode or a higher level that would fit)
    segno.make(address, error="m", micro=False, mask=0, mode="byte", boost_error=False).save(
        out, kind="svg", xmldecl=False, border=2, dark="#000"
    )
    return out.getvalue().decode("ascii")


def template_dir() -> Path:
    return Path(str(resources.files("hocba.documents").joinpath("templates")))


class Renderer:
    """Draws records; keep one per process (typst caches fonts and layouts between calls)."""

    def __init__(self, verify_base: str) -> None:
        self.verify_base = verify_base
        # The record's data reaches typst as files in a private directory, not as `sys.inputs`:
        # new inputs make typst rebuild and re-hash its whole standard library on every compile
        # (about a twentieth of the drawing). In memory where the system offers it (/dev/shm),
        # readable by this user only, removed as soon as the record is drawn.
        shm = Path("/dev/shm")  # noqa: S108 (mkdtemp below makes a private, unguessable directory)
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self._workdir = tempfile.TemporaryDirectory(prefix="hocba-view-", dir=where)
        self._inputs = Path(self._workdir.name)
        shutil.copyfile(template_dir() / TEMPLATE, self._inputs / TEMPLATE)
        self._compiler = typst.Compiler(
            self._inputs / TEMPLATE,
            root=self._inputs,
            font_paths=[str(template_dir() / "fonts")],
            ignore_system_fonts=True,
        )
        self._lock = threading.Lock()

    def render(self, xml: bytes, verify_base: str | None = None) -> bytes:
        """The unsealed PDF/A-3b view of `xml` (RenderError when it cannot be drawn), its
        verification address under `verify_base` (this renderer's own by default)."""
        base = self.verify_base if verify_base is None else verify_base
        try:
            data, when = view_of(xml, base)
        except ValueError as error:  # XmlRejected is a ValueError
            raise RenderError("VIEW_XML_INVALID", f"Không đọc được học bạ: {error}") from None
        return self.render_view(data, xml, qr_svg(data["address"]), when)

    def render_view(
        self, data: dict[str, Any], xml: bytes, qr: str, when: dt.datetime | None = None
    ) -> bytes:
        """Compile the template for view data `data` (as `view_of` gives it), attaching `xml`
        and showing the QR code `qr` (SVG)."""
        # Page numbers are written out when every section fits its page, which spares typst a
        # second layout pass; when one runs over, the record is drawn again with counted pages.
        pdf = self._compile({**data, "pages": SECTIONS}, xml, qr, when)
        if page_count(pdf) != SECTIONS:
            pdf = self._compile(data, xml, qr, when)
        return pdf

    def _compile(
        self, data: dict[str, Any], xml: bytes, qr: str, when: dt.datetime | None
    ) -> bytes:
        inputs = {
            "data.json": json.dumps(data, ensure_ascii=False).encode("utf-8"),
            "record.xml": xml,
            "qr.svg": qr.encode("ascii"),
        }
        try:
            with self._lock:
                try:
                    for name, content in inputs.items():
                        (self._inputs / name).write_bytes(content)
                    pdf = self._compiler.compile(
                        format="pdf",
                        pdf_standards=[PDF_STANDARD],
                        timestamp=when,
                        pdf_tags=False,
                    )
                finally:  # no personal data left behind between records
                    for name in inputs:
                        (self._inputs / name).unlink(missing_ok=True)
        except typst.TypstError as error:
            message = f"Không dựng được bản thể hiện: {error}"
            raise RenderError("VIEW_RENDER_FAILED", message) from None
        assert isinstance(pdf, bytes)
        return pdf


def blank(value: Any) -> Any:
    """`value` with every text emptied and every table row removed (numbers, flags and
    fixed-size lists of texts kept in shape)."""
    if isinstance(value, dict):
        return {key: blank(item) for key, item in value.items()}
    if isinstance(value, list):
        return [""] * len(value) if all(isinstance(v, str) for v in value) else []
    if isinstance(value, str):
        return ""
    return value
