import subprocess
from pathlib import Path

import hocba
from tests.conftest import require_tool

CATALOGUE = Path(hocba.__file__).parent / "locale" / "vi" / "LC_MESSAGES"


def test_every_message_has_a_vietnamese_translation():
    msgfmt = require_tool("msgfmt")
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", CATALOGUE / "django.po"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr


def test_compiled_catalogue_matches_its_source(tmp_path):
    msgfmt = require_tool("msgfmt")
    compiled = tmp_path / "django.mo"
    subprocess.run([msgfmt, "-o", compiled, CATALOGUE / "django.po"], check=True)
    assert compiled.read_bytes() == (CATALOGUE / "django.mo").read_bytes(), (
        "run: msgfmt -o src/hocba/locale/vi/LC_MESSAGES/django.mo "
        "src/hocba/locale/vi/LC_MESSAGES/django.po"
    )
