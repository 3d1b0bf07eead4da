"""The refresh interval comes from the environment; a value that cannot be one stops `hocba`
with one clear line (exit 2) instead of running with a guess."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.processes import HOCBA


def hocba_check(tmp_path: Path, refresh: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(
        HOCBA_DATA_DIR=str(tmp_path),
        HOCBA_SECRET_KEY="refresh-test-" + "x" * 40,
        HOCBA_REVOCATION_REFRESH=refresh,
        HOCBA_DEV_PKI="1",
    )
    return subprocess.run([HOCBA, "check"], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("value", ["abc", "0", "-5", "inf", "nan", ""])
def test_a_refresh_interval_that_is_not_a_positive_number_stops_hocba_with_one_line(
    tmp_path, value
):
    done = hocba_check(tmp_path, value)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"hocba: CONFIG_INVALID: HOCBA_REVOCATION_REFRESH phải là một số giây lớn hơn 0, "
        f"không phải {value!r} (must be a number of seconds above 0)"
    ]


def test_a_fractional_refresh_interval_is_accepted(tmp_path):
    done = hocba_check(tmp_path, "2.5")
    assert done.returncode == 0, done.stderr
