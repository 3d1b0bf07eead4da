"""Rate limits hold for the whole deployment, not per process.

Attack: a client spreads its requests over the worker processes of `hocba serve --workers N`
(every new connection may land on another worker) so that each worker counts only its share and
the client gets N times the published limit. Variants: requests one after the other on fresh
connections, and bursts of parallel requests (two workers counting the same request at the same
moment); the counters in the database (the default) and in Redis (HOCBA_REDIS_URL).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.warehouse.test_instances import Processes, clean_env, free_port, run, wait_for

pytestmark = pytest.mark.instances

LIMIT = 8


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    group = Processes(tmp_path)
    yield group
    group.stop_all()


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throw-away Redis server on loopback."""
    server = require_tool("redis-server")
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        cli = shutil.which("redis-cli")

        def up() -> bool:
            if cli is None:
                return True
            return (
                subprocess.run([cli, "-p", str(port), "ping"], capture_output=True).returncode == 0
            )

        wait_for("redis-server to answer", up, timeout=30)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory migrated once; each test serves a copy of it."""
    data = tmp_path_factory.mktemp("migrated")
    run(clean_env(data), "migrate", "-v0")
    return data


def serve_two_workers(
    processes: Processes, data: Path, template: Path | None = None, **extra: str
) -> str:
    if template is not None:
        shutil.copytree(template, data)
    env = clean_env(data, HOCBA_VERIFY_RATE=str(LIMIT), **extra)
    port = free_port()
    processes.start(
        "web", env, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/login/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("hocba serve to listen", up, timeout=90)
    return base


def lookup(base: str) -> int:
    """One public lookup on a fresh connection (so it may land on either worker)."""
    url = f"{base}/api/v1/verify/{uuid.uuid4()}/1?h=000000000000"
    return httpx.get(url, timeout=30, headers={"Connection": "close"}).status_code


def answered(codes: list[int]) -> int:
    assert set(codes) <= {404, 429}, codes
    return sum(code != 429 for code in codes)


def test_one_after_the_other_the_limit_holds_across_two_workers(processes, tmp_path, migrated):
    base = serve_two_workers(processes, tmp_path / "data", migrated)
    codes = [lookup(base) for _ in range(LIMIT * 5)]
    assert answered(codes) == LIMIT
    assert codes[:LIMIT] == [404] * LIMIT  # the first ones pass, every later one is refused


def test_a_parallel_burst_gets_no_more_than_the_limit(processes, tmp_path, migrated):
    base = serve_two_workers(processes, tmp_path / "data", migrated)
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda _: lookup(base), range(LIMIT * 6)))
    assert answered(codes) == LIMIT


def test_with_redis_the_limit_holds_across_two_workers(processes, tmp_path, migrated, redis_url):
    base = serve_two_workers(processes, tmp_path / "data", migrated, HOCBA_REDIS_URL=redis_url)
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda _: lookup(base), range(LIMIT * 6)))
    assert answered(codes) == LIMIT
    assert [lookup(base) for _ in range(3)] == [429, 429, 429]


def test_the_shared_counters_need_no_step_before_serve(processes, tmp_path, migrated):
    """A database migrated before the shared cache existed: `hocba serve` creates its table."""
    import sqlite3

    data = tmp_path / "data"
    shutil.copytree(migrated, data)
    with sqlite3.connect(data / "hocba.sqlite3") as db:
        db.execute("DROP TABLE hocba_cache")
    base = serve_two_workers(processes, data)
    codes = [lookup(base) for _ in range(LIMIT + 2)]
    assert codes == [404] * LIMIT + [429, 429]
