"""The public verification page under load: cached record lookups by 50 concurrent clients on
loopback.

A demo province is built in a fresh data directory and served by `hocba serve` (gunicorn, one
process per core). ApacheBench (`ab`, Debian's apache2-utils: a load generator in C, so the
clients do not take the server's CPU) plays 50 clients with keep-alive connections, each
opening the QR address of an issued record again and again without pause; the address was
opened before, so its report is cached. Reported: requests per second and the latency
percentiles (p50, p99: the target is p99 under 100 ms), against the same clients opening the
portal's form page (no lookup) in the same run.

`--quick` measures for 5 s per phase instead of 15.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from _common import report

HOCBA = str(Path(sys.executable).parent / "hocba")
CLIENTS = 50


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ab(url: str, seconds: float) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) of 50 keep-alive clients for `seconds`."""
    out = subprocess.run(
        ["ab", "-q", "-k", "-c", str(CLIENTS), "-t", str(seconds), "-n", "10000000", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests per second:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    failed = int(re.search(r"Failed requests:\s+([0-9]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx responses:\s+([0-9]+)", out)
    if failed or non_2xx:
        raise SystemExit(f"{url}: {failed} failed, {non_2xx.group(1) if non_2xx else 0} non-2xx")
    percentiles = dict(re.findall(r"^\s+([0-9]+)%\s+([0-9]+)", out, re.MULTILINE))
    return {
        "rate": rate,
        "p50": float(percentiles["50"]),
        "p99": float(percentiles["99"]),
        "requests": float(re.search(r"Complete requests:\s+([0-9]+)", out).group(1)),  # type: ignore[union-attr]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else 15.0
    if shutil.which("ab") is None:
        raise SystemExit("needs ApacheBench: apt-get install apache2-utils")

    data = Path(tempfile.mkdtemp(prefix="hocba-bench-verify-"))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k not in ("DATABASE_URL", "SOFTHSM2_CONF")
    }
    env.update(
        HOCBA_DATA_DIR=str(data),
        HOCBA_SECRET_KEY="bench-" + "v" * 50,
        HOCBA_VERIFY_RATE="100000000",  # one address plays 50 clients here
        HOCBA_OCSP="0",
        HOCBA_DEV_PKI="1",  # the demo's keys and trust
    )
    print("building the demo province…", file=sys.stderr)
    subprocess.run([HOCBA, "migrate", "-v0"], env=env, check=True)
    subprocess.run(
        [HOCBA, "demo", "--students-per-school", "6"], env=env, check=True, capture_output=True
    )
    connection = sqlite3.connect(data / "hocba.sqlite3")
    rows = connection.execute(
        "SELECT r.record_id, v.version, v.xml_sha256 FROM records_recordversion v "
        "JOIN records_record r ON r.id = v.record_id WHERE v.state = 'ISSUED'"
    ).fetchall()
    connection.close()

    def dashed(hex_id: str) -> str:
        h = hex_id.replace("-", "")
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    paths = [f"/xac-minh/{dashed(r)}/{v}?h={sha[:12]}" for r, v, sha in rows]
    port = free_port()
    workers = str(os.cpu_count() or 1)
    server = subprocess.Popen(
        [HOCBA, "serve", "--addr", f"127.0.0.1:{port}", "--workers", workers],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/xac-minh/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # every report cached, in every worker process
        for _ in range(4 * int(workers)):
            for path in paths:
                assert httpx.get(base + path, timeout=30).status_code == 200
        ab(base + paths[0], 2.0)  # warm up
        baseline = ab(base + "/xac-minh/", seconds)
        lookups = ab(base + paths[0], seconds)
    finally:
        server.terminate()
        server.wait(timeout=10)

    report(
        "verify_http",
        int(lookups["requests"]),
        int(lookups["requests"]) / lookups["rate"],
        "the portal's form page (no lookup) requests/s, same clients, same run",
        baseline["rate"],
        clients=CLIENTS,
        load_generator="ApacheBench, keep-alive",
        server=f"hocba serve (gunicorn gthread), {workers} processes",
        p50_ms=lookups["p50"],
        p99_ms=lookups["p99"],
        p99_target_ms=100,
        baseline_p99_ms=baseline["p99"],
    )


if __name__ == "__main__":
    main()
