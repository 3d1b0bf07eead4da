"""Starting `hocba` processes on their own data directory and waiting for them: the tests that
run the command as a deployment does (servers, workers, several instances on loopback)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOCBA = str(Path(sys.executable).parent / "hocba")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(data: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k not in ("DATABASE_URL", "SOFTHSM2_CONF")
    }
    env.update(HOCBA_DATA_DIR=str(data), HOCBA_SECRET_KEY="loopback-test-key-" + "x" * 40)
    env.update(HOCBA_DEV_PKI="1")  # the school is the demo, sealing with its development tokens
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [HOCBA, *args], env=env, capture_output=True, text=True, input=stdin, timeout=600
    )
    assert done.returncode == 0, f"hocba {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


def query(data: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(f"file:{data / 'hocba.sqlite3'}?mode=ro", uri=True, timeout=20)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, env: dict[str, str], *args: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.running[name] = subprocess.Popen(
            [HOCBA, *args], env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.kill()  # SIGKILL: no chance to finish anything
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.kill(name)
