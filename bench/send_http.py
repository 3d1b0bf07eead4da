"""A school with the default settings sends its records to a warehouse over HTTP on loopback.

N distinct records signed through all four steps (15 signatures each, about 58 KB) wait in a
school's outbox. The warehouse is a real `hocba serve` process (gunicorn, two workers, its own
SQLite database, trusting the school's development PKI with its CRL) with two `hocba worker`
processes that process the packages it receives; the school is this
process (its own SQLite database, its SoftHSM2 token sealing the packages), sending with
`hocba.exchange` under its default settings (packages of at most 200 records and 16 MiB) until
every record is answered. The run fails unless every record is ACCEPTED; it reports the package
sizes. Reported as records per second from the first package sealed to the last answer, against
verifying the same records offline (one process, nothing stored) in the same run: the
warehouse's main work per record.

`--quick` sends 250 records (two packages).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import report

HOCBA = str(Path(sys.executable).parent / "hocba")
SCHOOL, TAX, NAME = "25000201", "2600100202", "Trường THCS Chu Văn An"
CLIENT_ID, SECRET = f"truong-{SCHOOL}", "bench-send-secret-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data: Path, **extra: str) -> dict[str, str]:
    """The environment of a separate `hocba` process: nothing of this one's configuration."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k not in ("DATABASE_URL", "SOFTHSM2_CONF")
    }
    return env | {"HOCBA_DATA_DIR": str(data), "HOCBA_SECRET_KEY": "bench-" + "w" * 50, **extra}


def _run(env: dict[str, str], *args: str) -> None:
    done = subprocess.run([HOCBA, *args], env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"hocba {' '.join(args)}: {done.stderr[-2000:]}")


def _warehouse(data: Path, pki: Path, port: int) -> list[subprocess.Popen[bytes]]:
    """`hocba serve` as the Sở's warehouse, the school's account registered, and its two
    `hocba worker` processes."""
    import httpx

    env = _env(
        data,
        HOCBA_WAREHOUSE="1",
        HOCBA_TRUST_ANCHORS=str(pki / "ca" / "root.pem"),
        HOCBA_TRUST_INTERMEDIATES=str(pki / "ca" / "issuing.pem"),
        HOCBA_CRLS=str(pki / "crl" / "issuing.crl"),
        HOCBA_OCSP="0",
    )
    _run(env, "migrate", "-v0")
    _run(
        env | {"HOCBA_ACCOUNT_SECRET": SECRET}, "warehouse", "account", "add", CLIENT_ID,
        "--kind", "school", "--name", NAME, "--school", SCHOOL, "--province", "25",
        "--office", "25", "--tax-code", TAX,
    )  # fmt: skip
    log = (data / "serve.log").open("ab")
    processes = [
        subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        for command in (
            [HOCBA, "serve", "--addr", f"127.0.0.1:{port}", "--workers", "2"],
            [HOCBA, "worker", "--queues", "warehouse"],
            [HOCBA, "worker", "--queues", "warehouse"],
        )
    ]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=2).is_success:
                return processes
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    for process in processes:
        process.kill()
    raise SystemExit(f"the warehouse did not start; see {data / 'serve.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 250 if args.quick else 2000

    work = Path(tempfile.mkdtemp(prefix="hocba-bench-send-"))
    school_dir, warehouse_dir = work / "truong", work / "kho"
    school_dir.mkdir()
    warehouse_dir.mkdir()
    port = _free_port()
    for name in [k for k in os.environ if k.startswith(("HOCBA_", "DJANGO_"))]:
        del os.environ[name]  # the school's default settings, nothing else
    os.environ.update(
        HOCBA_DATA_DIR=str(school_dir),
        HOCBA_SECRET_KEY="bench-" + "s" * 50,
        HOCBA_UPSTREAM_URL=f"http://127.0.0.1:{port}/api/v1/warehouse",
        DJANGO_SETTINGS_MODULE="hocba.config.settings",
    )
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from bench.records import records as synthetic
    from bench.sign import fully_signed
    from hocba import limits
    from hocba.exchange import services
    from hocba.exchange.client import upstream_client
    from hocba.exchange.models import OutboxItem, OutgoingPackage
    from hocba.formats import parse
    from hocba.organizations.models import ProvinceOffice, School
    from hocba.records.services import store_xml
    from hocba.signing import config
    from hocba.signing.dev.pki import DevPki
    from hocba.signing.dev.tokens import ensure_dev_pki

    province = ProvinceOffice.objects.create(
        code="25", name="Sở Giáo dục và Đào tạo Phú Thọ", province_code="25",
        province_name="Tỉnh Phú Thọ",
    )  # fmt: skip
    School.objects.create(
        code=SCHOOL, name=NAME, province_office=province, levels=["THCS"],
        commune_name="Phường Tiên Cát", province_code="25", province_name="Tỉnh Phú Thọ",
        tax_code=TAX,
    )  # fmt: skip
    ensure_dev_pki()  # the school's token, with the organisation key that seals its packages
    pki = DevPki.load(config.pki_dir())
    pki.write_crl()
    print(f"signing {n} records through all four steps…", file=sys.stderr)
    base = [
        dataclasses.replace(r, school=dataclasses.replace(r.school, code=SCHOOL, name=NAME))
        for r in synthetic(n)
    ]
    signed, verifier = fully_signed(pki, base, tax_code=TAX)
    for content in signed:
        envelope = parse(content).envelope
        OutboxItem.objects.create(
            record_id=envelope.record_id, version=envelope.version, event=envelope.event,
            xml_sha256=store_xml(content), sender_code=SCHOOL, school_code=SCHOOL,
            school_year=envelope.school_year,
        )  # fmt: skip
    services.set_credential(SCHOOL, CLIENT_ID, SECRET)

    # the limit: the same records verified offline, one process, nothing stored
    start = time.perf_counter()
    for content in signed:
        assert verifier.verify(content).verdict in ("VALID", "INDETERMINATE")
    offline = time.perf_counter() - start

    warehouse = _warehouse(warehouse_dir, config.pki_dir(), port)
    client = upstream_client()
    assert client is not None
    try:
        print(f"sending {n} records to {settings.UPSTREAM_URL}…", file=sys.stderr)
        start = time.perf_counter()
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            result = services.run_once(client)
            if result.idle:
                break
            time.sleep(0.2)
        seconds = time.perf_counter() - start
    finally:
        client.close()
        for process in warehouse:
            process.kill()
            process.wait(timeout=10)

    answered = dict(
        OutboxItem.objects.values_list("state").annotate(n=django.db.models.Count("pk"))
    )
    if answered != {"ACCEPTED": n}:
        raise SystemExit(f"not every record was accepted: {answered}")
    done = OutgoingPackage.objects.filter(state="DONE").order_by("created_at", "pk")
    sizes = [p.size for p in done]
    report(
        "send_http",
        n,
        seconds,
        "offline full verification of the same records (1 process, nothing stored)/s, same run",
        n / offline,
        accepted=n,
        packages=len(sizes),
        package_mib=[round(size / limits.MiB, 2) for size in sizes],
        records_per_package=[p.records for p in done],
        largest_package_bytes=max(sizes),
        sender_limit_bytes=settings.EXCHANGE_PACKAGE_BYTES,
        warehouse_limit_bytes=limits.PACKAGE_BYTES,
        packages_split=OutgoingPackage.objects.filter(state="REPACKED").count(),
        average_record_bytes=round(sum(map(len, signed)) / n),
        signatures_per_record=15,
        warehouse="hocba serve --workers 2, hocba worker × 2 (SQLite)",
    )


if __name__ == "__main__":
    main()
