"""The import contracts of pyproject.toml (the layers of docs/architecture.md) hold for the
source tree, and a change that imports upward, makes a pure package use Django, makes a cycle
or adds a package no layer names fails them: `lint-imports` runs on a copy of the tree with one
such change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "src",
        tmp_path / "src",
        ignore=shutil.ignore_patterns("__pycache__", "templates", "static", "locale"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=tree,  # its pyproject.toml
        env={**os.environ, "PYTHONPATH": str(tree / "src")},  # the copy, not the installed tree
        capture_output=True,
        text=True,
        timeout=120,
    )


def broken_by(tree: Path, *additions: tuple[str, str]) -> str:
    """lint-imports' report on the tree with each (module under src/hocba/, line) added; it must
    fail."""
    for module, line in additions:
        path = tree / "src/hocba" / module
        path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")
    done = lint(tree)
    assert done.returncode == 1, done.stdout + done.stderr
    return done.stdout


def test_the_source_tree_keeps_every_contract(tree):
    done = lint(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_records_importing_documents_breaks_the_layers_and_names_the_import(tree):
    report = broken_by(tree, ("records/services.py", "from hocba.documents import models"))
    assert "A package imports only the layers below its own BROKEN" in report
    assert "hocba.records is not allowed to import hocba.documents" in report
    assert "hocba.records.services -> hocba.documents.models" in report
    # documents imports records: the import also closes a cycle
    assert "No cycles are allowed in hocba." in report


@pytest.mark.parametrize(
    ("additions", "named"),
    [
        pytest.param(
            [("exchange/services.py", "from hocba.warehouse import stats")],
            "hocba.exchange is not allowed to import hocba.warehouse",
            id="the-exchange-importing-the-warehouse-again",
        ),
        pytest.param(
            [("rules/scores.py", "from django.conf import settings")],
            "hocba.rules is not allowed to import django",
            id="a-pure-package-using-django",
        ),
        pytest.param(
            # the pure packages may import each other, but not both ways
            [
                ("rules/scores.py", "from hocba.formats import model"),
                ("formats/model.py", "from hocba.rules import scores"),
            ],
            "No cycles are allowed in hocba.",
            id="a-cycle-between-two-pure-packages",
        ),
    ],
)
def test_each_kind_of_bad_import_fails_and_is_named(tree, additions, named):
    assert named in broken_by(tree, *additions)


def test_a_new_package_must_be_placed_in_a_layer(tree):
    (tree / "src/hocba/transfers").mkdir()
    (tree / "src/hocba/transfers/__init__.py").write_text("", encoding="utf-8")
    done = lint(tree)
    assert done.returncode != 0
    assert "hocba.transfers" in done.stdout + done.stderr
