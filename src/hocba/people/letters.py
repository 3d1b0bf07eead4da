"""The activation letters as one PDF: a page per person, in the order given (a class's students
by name), drawn by typst with the fonts of the học bạ's printable view and a QR code (segno) of
the activation address with the username and code filled in."""

from __future__ import annotations

import json
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from urllib.parse import urlencode

import typst

from hocba.documents.render import qr_svg, template_dir
from hocba.people.services import Letter

TEMPLATE = "letters.typ"


def activation_address(base: str, letter: Letter) -> str:
    """The address the QR code opens: the activation page with the username and code."""
    return f"{base}?{urlencode({'u': letter.username, 'c': letter.code})}"


def letters_pdf(school_name: str, letters: list[Letter], base: str, page_base: str) -> bytes:
    """One PDF of `letters`; `base` is the activation page's address, `page_base` the site's
    address printed for those who type it."""
    source = Path(str(resources.files("hocba.people").joinpath("templates", TEMPLATE)))
    data = {
        "school": school_name,
        "site": page_base,
        "letters": [
            {
                "name": x.full_name,
                "about": x.about,
                "username": x.username,
                "code": x.code,
                "expires": f"{x.expires:%d/%m/%Y}",
            }
            for x in letters
        ],
    }
    with tempfile.TemporaryDirectory(prefix="hocba-letters-") as work:
        root = Path(work)
        shutil.copyfile(source, root / TEMPLATE)
        (root / "data.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        for index, letter in enumerate(letters):
            (root / f"qr-{index}.svg").write_text(qr_svg(activation_address(base, letter)))
        pdf = typst.compile(
            str(root / TEMPLATE),
            root=str(root),
            font_paths=[str(template_dir() / "fonts")],
            ignore_system_fonts=True,
        )
    assert isinstance(pdf, bytes)
    return pdf
