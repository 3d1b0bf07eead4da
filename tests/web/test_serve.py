"""`hocba serve` (gunicorn + WhiteNoise) sends pages and static files compressed, for weak
connections."""

from __future__ import annotations

import httpx
import pytest

from tests.processes import (
    Processes,
    clean_env,
    free_port,
    run,
    wait_for,
)


@pytest.fixture
def processes(tmp_path):  # type: ignore[no-untyped-def]
    group = Processes(tmp_path)
    yield group
    group.stop_all()


def test_pages_and_static_files_travel_compressed(tmp_path, processes):
    (tmp_path / "data").mkdir()
    env = clean_env(tmp_path / "data")
    run(env, "migrate", "-v0")
    port = free_port()
    processes.start("web", env, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "1")
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{base}/login/", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for("hocba serve to listen", up, timeout=60)
    with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
        script = client.get(f"{base}/static/vendor/htmx.min.js")
        page = client.get(f"{base}/login/")
        plain = httpx.get(f"{base}/static/vendor/htmx.min.js", headers={"Accept-Encoding": ""})
    assert script.headers["content-encoding"] == "gzip"
    assert int(script.headers["content-length"]) < len(plain.content) / 2
    assert script.content == plain.content  # the same file, unpacked by the client
    assert page.headers["content-encoding"] == "gzip"
    assert "Đăng nhập" in page.text
