"""Starting the platform does not load the PDF stack (pyHanko, pypdf, and aiohttp below
pyHanko's timestamp client): the documents app registers its file kind at start and loads the
stack when a PDF is drawn or read. A process that never draws one (a warehouse and its workers)
stays smaller, and a worker forked from it has fewer pages for its garbage collector to walk and
copy."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.processes import clean_env

PDF_STACK = ("pyhanko", "pypdf", "aiohttp")


def test_starting_the_platform_loads_no_pdf_library(tmp_path):
    script = (
        "import json, sys, django; django.setup();"
        "from hocba.records.hooks import version_files;"
        "from hocba.warehouse import services;"
        "print(json.dumps({'kinds': sorted(version_files),"
        f"'loaded': sorted(m for m in sys.modules if m.split('.')[0] in {PDF_STACK!r})}}))"
    )
    env = clean_env(tmp_path, DJANGO_SETTINGS_MODULE="hocba.config.settings", HOCBA_WAREHOUSE="1")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"kinds": ["pdf"], "loaded": []}
