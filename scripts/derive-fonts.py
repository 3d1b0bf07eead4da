"""Derive the view's font, Hocba Serif, from Liberation Serif 2.1.5.

    uv run --group fonts scripts/derive-fonts.py [LIBERATION_DIR]

LIBERATION_DIR holds LiberationSerif-{Regular,Bold,Italic,BoldItalic}.ttf, version 2.1.5
(Debian: `apt-get install fonts-liberation2`; default /usr/share/fonts/truetype/liberation2).
Writes src/hocba/documents/templates/fonts/HocbaSerif-*.ttf and OFL.txt.

What changes: the TrueType hinting is removed (the per-glyph instructions, about 45 % of the
outline data, and the fpgm/prep/cvt programs). Hinting only adjusts outlines to a screen's pixel
grid; the view is printed and read in PDF viewers, which do not need it, and every PDF carries a
subset of these fonts, so smaller outlines make every drawing and every file cheaper. Outlines,
metrics, kerning and glyph coverage stay as they are, so the pages look the same.

Liberation's licence (SIL OFL 1.1) reserves the name "Liberation" for the unmodified fonts:
the derived fonts are named Hocba Serif. The output is byte-for-byte reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

VERSION = "2.1.5"
FAMILY = "Hocba Serif"
STYLES = ("Regular", "Bold", "Italic", "BoldItalic")
OUT = Path(__file__).resolve().parent.parent / "src/hocba/documents/templates/fonts"
NOTE = (
    "Hocba Serif is Liberation Serif {version} with its TrueType hinting removed, renamed as the "
    "SIL Open Font License requires of a Modified Version."
)

OFL_HEADER = f"""\
Hocba Serif (Regular, Bold, Italic, Bold Italic): Liberation Serif {VERSION} with the TrueType
hinting removed (scripts/derive-fonts.py), renamed as the SIL Open Font License requires for a
Modified Version of a font with a Reserved Font Name. Outlines, metrics and coverage unchanged.
Source: https://github.com/liberationfonts (Debian package fonts-liberation2 {VERSION}).

Digitized data copyright (c) 2010 Google Corporation with Reserved Font Arimo, Tinos and Cousine.
Copyright (c) 2012 Red Hat, Inc. with Reserved Font Name Liberation.

This Font Software is licensed under the SIL Open Font License,
Version 1.1.

This license is copied below, and is also available with a FAQ at:
http://scripts.sil.org/OFL
"""


def style_name(style: str) -> str:
    return "Bold Italic" if style == "BoldItalic" else style


def derive(source: Path, style: str) -> TTFont:
    font = TTFont(source, recalcTimestamp=False)
    version = font["name"].getDebugName(5) or ""
    if VERSION not in version:
        raise SystemExit(f"{source}: expected Liberation Serif {VERSION}, found {version!r}")
    options = subset.Options()
    options.hinting = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.name_legacy = True
    options.notdef_outline = True
    options.glyph_names = True
    options.legacy_kern = True
    options.recalc_timestamp = False
    options.drop_tables += ["FFTM"]  # FontForge's own timestamps
    subsetter = subset.Subsetter(options)
    subsetter.populate(glyphs=font.getGlyphOrder())
    subsetter.subset(font)

    full = f"{FAMILY} {style_name(style)}" if style != "Regular" else FAMILY
    names = {
        1: FAMILY,
        3: f"{FAMILY} {style_name(style)} {VERSION}",
        4: full if style != "Regular" else f"{FAMILY} Regular",
        5: f"Version {VERSION}; hinting removed",
        6: f"HocbaSerif-{style}",
        10: NOTE.format(version=VERSION),
    }
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.setName(
                names[record.nameID],
                record.nameID,
                record.platformID,
                record.platEncID,
                record.langID,
            )
        elif record.nameID in (16, 17, 21, 22):  # typographic family/style names, if any
            table.removeNames(nameID=record.nameID)
    return font


def main() -> None:
    source = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/liberation2")
    missing = [s for s in STYLES if not (source / f"LiberationSerif-{s}.ttf").is_file()]
    if missing:
        raise SystemExit(
            f"{source}: LiberationSerif-{{{','.join(missing)}}}.ttf not found "
            "(apt-get install fonts-liberation2, or give the directory that holds them)"
        )
    licence = (source / "OFL.txt") if (source / "OFL.txt").is_file() else None
    for style in STYLES:
        font = derive(source / f"LiberationSerif-{style}.ttf", style)
        font.save(OUT / f"HocbaSerif-{style}.ttf")
        print(OUT / f"HocbaSerif-{style}.ttf")
    body = (OUT / "OFL.txt").read_text(encoding="utf-8")
    if licence is not None:
        body = licence.read_text(encoding="utf-8")
    marker = "SIL OPEN FONT LICENSE Version 1.1"
    (OUT / "OFL.txt").write_text(OFL_HEADER + "\n" + body[body.index(marker) :], encoding="utf-8")


if __name__ == "__main__":
    main()
