"""The warehouse taking in packages on PostgreSQL: records validated and stored per second.

N distinct records signed through all four steps (15 signatures each) travel in sealed packages
of 100 from one school. The warehouse stores each package as received, then its workers (one
process per core, taking packages with SELECT … FOR UPDATE SKIP LOCKED) check the package seal
and the sender, fully verify every record (schema, signatures, order, certificates, CRL),
apply the version rule, store the XML and the row, and write the acknowledgements. Reported as
records per second from the first submission to the last acknowledgement, against verifying the
same records offline (one process, nothing stored) in the same run.

`--quick` does 400 records. `DATABASE_URL=postgres://…` uses that server; otherwise a throw-away
one is started (Debian's postgresql).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from _common import report
from _postgres import postgres

PACKAGE = 100
TAX = "2600100202"


def _setup_django(database: str, data: str, pki: str) -> None:
    os.environ.update(
        DATABASE_URL=database,
        HOCBA_DATA_DIR=data,
        HOCBA_SECRET_KEY="bench-" + "k" * 50,
        HOCBA_WAREHOUSE="1",
        HOCBA_TRUST_ANCHORS=f"{pki}/ca/root.pem",
        HOCBA_TRUST_INTERMEDIATES=f"{pki}/ca/issuing.pem",
        HOCBA_CRLS=f"{pki}/crl/issuing.crl",
        HOCBA_OCSP="0",
        DJANGO_SETTINGS_MODULE="hocba.config.settings",
    )
    import django

    django.setup()


def _worker(database: str, data: str, pki: str) -> int:
    _setup_django(database, data, pki)
    from hocba.warehouse.services import process_pending

    return process_pending()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    n = 400 if args.quick else 2000

    from bench.records import records as synthetic
    from bench.sign import fully_signed
    from hocba.signing.dev.pki import create

    data = tempfile.mkdtemp(prefix="hocba-bench-ingest-")
    pki_dir = Path(data) / "pki"
    pki = create(pki_dir, ocsp_url="http://127.0.0.1:9/ocsp")
    pki.write_crl()
    print(f"signing {n} records through all four steps…", file=sys.stderr)
    signed, verifier = fully_signed(pki, synthetic(n))

    # the limit: the same records verified offline, one process, nothing stored
    start = time.perf_counter()
    for content in signed:
        assert verifier.verify(content).verdict in ("VALID", "INDETERMINATE")
    offline = time.perf_counter() - start

    with postgres() as url:
        admin = url.rsplit("/", 1)[0] + "/postgres"
        import psycopg

        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute("DROP DATABASE IF EXISTS hocba_bench")
            connection.execute("CREATE DATABASE hocba_bench")
        _setup_django(url, data, str(pki_dir))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from hocba.formats import package as pkg
        from hocba.formats import parse
        from hocba.signing import package as sealing
        from hocba.signing.signers import Pkcs12Signer
        from hocba.warehouse.auth import Caller, create_account
        from hocba.warehouse.models import Ack, StoredRecord
        from hocba.warehouse.services import receive

        first = parse(signed[0])
        account = create_account(
            "bench-school", "bench-secret-0123456789", first.school.name, "SCHOOL",
            school_code=first.school.code, province_code=first.school.province_code,
            province_office_code=first.school.province_office_code, tax_code=TAX,
        )  # fmt: skip
        caller = Caller(account, account.scope_set)
        seal = Pkcs12Signer(*pki.issue_org(TAX, first.school.name))
        sender = pkg.Sender("TRUONG", first.school.code, TAX)
        packages = []
        for i in range(0, n, PACKAGE):
            entries = []
            for content in signed[i : i + PACKAGE]:
                record = parse(content)
                entries.append(
                    pkg.Entry(
                        record.envelope.record_id,
                        record.envelope.version,
                        record.envelope.event,
                        content,
                    )
                )
            packages.append(sealing.seal(pkg.build(sender, entries), seal))
        from django.db import connections

        start = time.perf_counter()
        for data_bytes in packages:
            receive(caller, data_bytes, inline=False)
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with context.Pool(args.workers) as pool:
            pool.starmap(_worker, [(url, data, str(pki_dir))] * args.workers)
        seconds = time.perf_counter() - start

        accepted = Ack.objects.filter(status="ACCEPTED", code="ACCEPTED").count()
        stored = StoredRecord.objects.count()
        assert accepted == stored == n, (accepted, stored, n)
        from django.db import connection as db

        server = db.cursor().connection.info.server_version
        with db.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tableoid::regclass::text FROM warehouse_storedrecord")
            partitions = sorted(row[0] for row in cursor.fetchall())

    report(
        "ingest",
        n,
        seconds,
        "offline full verification of the same records (1 process, nothing stored)/s, same run",
        n / offline,
        database=f"PostgreSQL {server // 10000}",
        workers=args.workers,
        partitions=partitions,
        records_per_package=PACKAGE,
        signatures_per_record=15,
    )


if __name__ == "__main__":
    main()
