"""A verification worker under a stream of hostile uploads (XML and PDF bombs, forged and
wrapped records, fresh certificates by the thousand, mangled PDFs, oversized bodies): it never
answers with a server error, and its memory stays within 100 MB of where it started.

The full figure (1,000 uploads) is `bench/hostile_uploads.py`; this runs a shorter stream of the
same kinds against a real `hocba serve` worker."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench.hostile_uploads import run

# a server of its own on loopback, independent of the test database: run once
pytestmark = pytest.mark.instances


def test_a_verification_worker_stays_up_and_bounded_under_hostile_uploads():
    result = run(160, log=lambda _line: None)
    assert result["server_errors"] == 0, result["statuses"]
    assert result["growth"] < 100, result
    # nothing hostile is judged a valid record
    for kind, answers in result["kinds"].items():
        assert not any(answer.startswith("VALID") for answer in answers), (kind, answers)
