"""The documentation a clone needs is in the clone: every link of the README and of docs/ leads
to a file of the repository, and every documentation file the code names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")
NAMED_DOC = re.compile(r"\bdocs/[\w./-]+\.md\b")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def test_every_link_of_the_documentation_leads_to_a_file_of_the_repository():
    broken = []
    for page in markdown_files():
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or a place on the same page
            found = (page.parent / target.split("#")[0]).resolve()
            if not found.exists() or not found.is_relative_to(ROOT):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken


def test_every_documentation_file_the_code_names_exists():
    missing = []
    for tree in ("src", "bench", "tests", "scripts"):
        for source in sorted((ROOT / tree).rglob("*")):
            if source.suffix not in (".py", ".html", "") or not source.is_file():
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
            missing += [
                f"{source.relative_to(ROOT)}: {name}"
                for name in NAMED_DOC.findall(text)
                if not (ROOT / name).exists()
            ]
    assert not missing
