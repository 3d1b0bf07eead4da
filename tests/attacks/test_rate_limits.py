"""Rate limits and failure counts hold for the whole deployment, not per process, and not
per moment.

Attack: a client spreads its requests over the worker processes of `hocba serve --workers N`
(every new connection may land on another worker) so that each worker counts only its share and
the client gets N times the published limit. Variants: requests one after the other on fresh
connections, and bursts of parallel requests (two workers counting the same request at the same
moment); the counters in the database (the default) and in Redis (HOCBA_REDIS_URL). And bursts
of parallel wrong passwords (the login page) and client secrets (the warehouse's token
endpoint), from one address or many: each attempt was compared with the limit before any
failure of the burst was counted, so every password checked at once got through the comparison.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import require_tool
from tests.processes import (
    Processes,
    clean_env,
    free_port,
    query,
    run,
    wait_for,
)

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
    processes: Processes, data: Path, template: Path | None = None, threads: int = 2, **extra: str
) -> str:
    if template is not None:
        shutil.copytree(template, data)
    env = clean_env(data, HOCBA_VERIFY_RATE=str(LIMIT), **extra)
    port = free_port()
    processes.start(
        "web", env, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "2",
        "--threads", str(threads),
    )  # fmt: skip
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


def within_one_minute() -> None:
    """Wait, if a minute turns within the next ten seconds, until it has turned: a burst is then
    judged within one calendar minute. (Across the turn a sliding minute is judged from the
    previous minute's count as read at that moment; requests of the old minute still in flight
    may add one or two. The turn itself: tests/test_ratelimit.py.)"""
    into = time.time() % 60
    if into > 50:
        time.sleep(60.5 - into)


def answered(codes: list[int]) -> int:
    assert set(codes) <= {404, 429}, codes
    return sum(code != 429 for code in codes)


def test_one_after_the_other_the_limit_holds_across_two_workers(processes, tmp_path, migrated):
    base = serve_two_workers(processes, tmp_path / "data", migrated)
    within_one_minute()
    codes = [lookup(base) for _ in range(LIMIT * 5)]
    assert answered(codes) == LIMIT
    assert codes[:LIMIT] == [404] * LIMIT  # the first ones pass, every later one is refused


def test_a_parallel_burst_gets_no_more_than_the_limit(processes, tmp_path, migrated):
    base = serve_two_workers(processes, tmp_path / "data", migrated)
    within_one_minute()
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(lambda _: lookup(base), range(LIMIT * 6)))
    assert answered(codes) == LIMIT


def test_with_redis_the_limit_holds_across_two_workers(processes, tmp_path, migrated, redis_url):
    base = serve_two_workers(processes, tmp_path / "data", migrated, HOCBA_REDIS_URL=redis_url)
    within_one_minute()
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
    within_one_minute()
    codes = [lookup(base) for _ in range(LIMIT + 2)]
    assert codes == [404] * LIMIT + [429, 429]


# --- bursts of wrong passwords and client secrets ---------------------------------------------
# The server runs with its real password hasher (each check takes a good part of a second), four
# requests at a time; the limits are the defaults (10 per account, 30 per address).

SECRET = "a-long-enough-secret-for-tests"
PASSWORD = "mat-khau-dung-ca-truong"


def checked_failures(data: Path) -> int:
    """Failed passwords checked and recorded (axes' attempts)."""
    return int(
        query(data, "select coalesce(sum(failures_since_start), 0) from axes_accessattempt")[0][0]
    )


def test_a_burst_of_wrong_passwords_checks_no_more_than_the_limit(processes, tmp_path, migrated):
    data = tmp_path / "data"
    shutil.copytree(migrated, data)
    run(clean_env(data, DJANGO_SUPERUSER_PASSWORD=PASSWORD), "createsuperuser", "--noinput",
        "--username", "hieutruong", "--email", "ht@example.edu.vn")  # fmt: skip
    base = serve_two_workers(processes, data, threads=4)
    with httpx.Client(base_url=base, timeout=60) as browser:
        browser.get("/login/")
        csrf = browser.cookies["csrftoken"]
        cookies = dict(browser.cookies)

    def attempt(password: str) -> int:
        response = httpx.post(
            f"{base}/login/",
            data={"username": "hieutruong", "password": password, "csrfmiddlewaretoken": csrf},
            cookies=cookies,
            headers={"Referer": f"{base}/login/", "Connection": "close"},
            timeout=120,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(attempt, [f"doan-{n}" for n in range(24)]))
    assert set(codes) <= {200, 429}, codes
    assert checked_failures(data) <= 10
    assert attempt(PASSWORD) == 429  # locked: even the right password


def test_a_burst_of_wrong_client_secrets_checks_no_more_than_the_limit(
    processes, tmp_path, migrated
):
    """From many addresses at once (behind a trusted proxy that forwards each client's
    address), so that only the client id's limit can hold."""
    data = tmp_path / "data"
    shutil.copytree(migrated, data)
    run(clean_env(data, HOCBA_ACCOUNT_SECRET=SECRET), "warehouse", "account", "add", "so-25",
        "--kind", "province", "--name", "Sở 25", "--province", "25", "--office", "25",
        "--tax-code", "2600999999")  # fmt: skip
    base = serve_two_workers(
        processes, data, threads=4, HOCBA_WAREHOUSE="1", HOCBA_TRUSTED_PROXIES="127.0.0.1"
    )

    def attempt(n: int, secret: str = "") -> int:
        response = httpx.post(
            f"{base}/api/v1/warehouse/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "so-25",
                  "client_secret": secret or f"doan-{n}"},
            headers={"X-Forwarded-For": f"198.51.100.{n + 1}", "Connection": "close"},
            timeout=120,
        )  # fmt: skip
        return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(attempt, range(24)))
    assert set(codes) <= {401, 429}, codes
    assert codes.count(401) <= 10  # secrets checked
    assert attempt(200, SECRET) == 429
