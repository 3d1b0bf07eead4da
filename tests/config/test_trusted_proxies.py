"""HOCBA_TRUSTED_PROXIES comes from the environment; a value that is not a list of addresses or
networks stops `hocba` with one clear line (exit 2) instead of trusting a guess."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.processes import HOCBA


def hocba_shell(tmp_path: Path, proxies: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k != "DATABASE_URL"
    }
    env.update(
        HOCBA_DATA_DIR=str(tmp_path),
        HOCBA_SECRET_KEY="proxies-test-" + "x" * 40,
        HOCBA_TRUSTED_PROXIES=proxies,
    )
    command = "from django.conf import settings; print(*settings.TRUSTED_PROXIES, sep=' ')"
    return subprocess.run(
        [HOCBA, "shell", "-v", "0", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "value, bad",
    [("proxy.example", "proxy.example"), ("10.0.0.1/33", "10.0.0.1/33"),
     ("10.0.0.1,, 300.1.1.1", "300.1.1.1")],
)  # fmt: skip
def test_a_trusted_proxy_that_is_not_an_address_stops_hocba_with_one_line(tmp_path, value, bad):
    done = hocba_shell(tmp_path, value)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"hocba: CONFIG_INVALID: HOCBA_TRUSTED_PROXIES: {bad!r} không phải địa chỉ hay mạng IP "
        "(is not an IP address or network)"
    ]


def test_addresses_and_networks_of_both_families_are_accepted(tmp_path):
    done = hocba_shell(tmp_path, " 10.0.0.5, 192.168.0.0/16 ,2001:db8::/48,, ::1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["10.0.0.5/32", "192.168.0.0/16", "2001:db8::/48", "::1/128"]
