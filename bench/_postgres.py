"""A throw-away PostgreSQL server on loopback for the benchmarks that need one (or the server
named by DATABASE_URL). Default server settings: durability is part of what is measured."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres() -> Iterator[str]:
    """A database URL; the server (if started here) is stopped and removed afterwards."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        yield os.environ["DATABASE_URL"]
        return
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise SystemExit("PostgreSQL is not installed (apt-get install postgresql) and no "
                         "DATABASE_URL=postgres://… was given")  # fmt: skip
    bindir = os.path.dirname(found[-1])
    folder = tempfile.mkdtemp(prefix="hocba-bench-pg-")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(folder, "data")
    initdb = [f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=C.UTF-8"]  # fmt: skip
    subprocess.run(
        _as_postgres(initdb),
        check=True,
        capture_output=True,
    )
    start = [f"{bindir}/pg_ctl", "-D", data, "-l", f"{folder}/log", "-w",
             "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start"]  # fmt: skip
    subprocess.run(
        _as_postgres(start),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/hocba_bench"
    finally:
        subprocess.run(
            _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
