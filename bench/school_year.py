"""The end of a school year, through the job engine: from locked grade books to records accepted
by the warehouse.

The school: the demo province's four schools (primary, lower secondary, upper secondary, GDTX),
2,000 students in all (500 each; `--quick`: 160, 40 each), built with `hocba demo`'s builder
without its planted identity problems, their grade books filled, decided and locked, and the
development PKI's SoftHSM2 tokens made. None of that is timed. Then, timed, the stages a school goes
through, in the order and the processes a deployment runs them:

1. **records**: `records.services.build_records` for each school, as its principal (a service
   called by the site's processes, as the records page does; not a task). Until the last site
   process has built its schools' records.
2. **signing**: every record signed in the four steps with the staff's and the school's keys on
   the school's SoftHSM2 token (`signing.services.sign_records`, one batch per person and slot,
   as the demo signs), each site process signing its schools one after the other. When a
   school's seal batch ends, `workflow.services.draw_issued` enqueues the render batches of what
   it issued (one per class), as the signing pages do: drawing starts while the next school
   signs. From the first site process's end of building to the last seal batch.
3. **pdf**: render batches (`documents.tasks.render_batch`) run by the workers: PDF/A views drawn
   with typst and sealed with the school's key, then the class bundles. The stage's time is from
   the first batch's start to the last one's end, so it overlaps signing and sending.
4. **send**: issuing enqueues a round of sending (`exchange.tasks.send_outbox`) when its
   transaction commits; the workers' rounds pack, seal and post each package to the embedded
   warehouse (`HOCBA_UPSTREAM_URL=embedded`) and poll until every record is answered. Its time
   is from the first round's start to the last one's end.
5. **warehouse**: the embedded warehouse receives each package and processes it (full
   verification of every record, storage, counts) inside the round that posts it; from the
   first package received to the last one processed.

The run ends when every view is drawn and every record answered (`after_signing`: how long
that took after the last seal batch).

Processes: one machine running the site beside its workers, which is what a school's own
deployment looks like, all started before the timed part on the same database. The site:
`--sites` processes (default: one per core, as `hocba serve` runs its web processes), each
building and signing the records of some of the schools (the schools are dealt out in turn), as
the staff of different schools use the site at the same time. The workers: `--workers`
`hocba worker` processes (default: one per core, what docs/jobs.md advises for one machine) on
the database queue (`django-tasks-db`); they run every queue; views, sending and the warehouse
share them.

The limit, measured in the same run after the stages: the unavoidable work alone, as many raw
PKCS#11 signatures (CKM_RSA_PKCS over a SHA-256 DigestInfo) as the run made — record signatures,
PDF seals and package seals — with the same keys on the same tokens, plus as many bare template
compiles as views were drawn (the school's template with every text empty, a new record id each
time, as `bench/render.py` measures its limit). `times_limit` is the total over that time.

SQLite in a new data directory (removed afterwards) by default; `--postgres` uses a throw-away
PostgreSQL server (or the one of DATABASE_URL). `--profile DIR` writes cProfile files of each
site process and of each worker, and prints the top costs to stderr.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _common import report
from _postgres import postgres

HOCBA = str(Path(sys.executable).with_name("hocba"))
SCHOOLS = 4


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _environment(data: str, database: str) -> dict[str, str]:
    values = {
        "HOCBA_DATA_DIR": data,
        "HOCBA_SECRET_KEY": "bench-" + "y" * 50,
        "HOCBA_WAREHOUSE": "1",
        "HOCBA_UPSTREAM_URL": "embedded",
        "HOCBA_TASKS": "database",
        "HOCBA_OCSP": "0",
        "HOCBA_DEV_PKI": "1",  # the demo's tokens, keys and trust
        "DJANGO_SETTINGS_MODULE": "hocba.config.settings",
    }
    if database:
        values["DATABASE_URL"] = database
    return values


def _setup_django(environment: dict[str, str]) -> None:
    for name in [k for k in os.environ if k.startswith("HOCBA_") or k == "DATABASE_URL"]:
        del os.environ[name]
    os.environ.update(environment)
    import django

    django.setup()


def _build_school(students: int) -> Any:
    """The demo's schools with their grade books filled, decided and locked, and their tokens."""
    import random

    from django.db import transaction

    from hocba.demo import builder
    from hocba.demo.grades import build_grades, build_pki
    from hocba.gradebook.models import YearResult
    from hocba.gradebook.services import decide_promotion, lock_gradebook
    from hocba.organizations.models import Role, RoleAssignment
    from hocba.rules.labels import Outcome

    demo = builder.Demo(random.Random(2025), 2025, students // SCHOOLS, "hocba-bench")
    with transaction.atomic():
        for step in (builder.build_organisations, builder.build_staff_and_classes,
                     builder.build_students, build_grades):  # fmt: skip
            step(demo)
    build_pki(demo)
    year = demo.years[builder.CURRENT_YEAR[0]]
    with transaction.atomic():
        for result in YearResult.objects.filter(
            class_group__school_year=year, outcome=Outcome.PENDING_DECISION
        ).select_related("class_group__school", "student"):
            school = result.class_group.school
            principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff.user
            decide_promotion(principal, result.class_group, result.student, Outcome.PROMOTED)
        for school in demo.schools.values():
            principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff.user
            lock_gradebook(principal, school)
    return demo


def _accounts(demo: Any) -> None:
    """One warehouse account per school and the school's credential for it (as the demo)."""
    from hocba.exchange.services import set_credential
    from hocba.warehouse.auth import create_account
    from hocba.warehouse.models import Account

    for school in demo.schools.values():
        client_id, secret = f"truong-{school.code}", f"bench-secret-{school.code}-0123456789"
        create_account(
            client_id, secret, school.name, Account.Kind.SCHOOL,
            province_code=school.province_code,
            province_office_code=school.province_office.code,
            school_code=school.code, tax_code=school.tax_code,
        )  # fmt: skip
        set_credential(school.code, client_id, secret)


WARM = ("hocba.documents.tasks", "hocba.documents.seal", "hocba.documents.render",
        "hocba.documents.view", "hocba.warehouse.tasks", "hocba.warehouse.services",
        "hocba.signing.verify", "hocba.exchange.tasks", "pyhanko.sign.signers", "pikepdf",
        "typst")  # fmt: skip
"""Modules the tasks import when they first run."""


@contextmanager
def _workers(count: int, environment: dict[str, str], profile: Path | None) -> Iterator[None]:
    # An installed deployment has the bytecode of its packages; this environment may forbid
    # writing it (PYTHONDONTWRITEBYTECODE), which would make each worker compile every module
    # its first task imports (seconds of the timed part). The workers keep theirs under the
    # data directory, written once here before the timed part.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOCBA_")} | environment
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(environment["HOCBA_DATA_DIR"]) / "pycache")
    warm = "import django; django.setup(); import importlib; " + "; ".join(
        f"importlib.import_module({name!r})" for name in WARM
    )
    subprocess.run([sys.executable, "-c", warm], env=env, check=True)
    subprocess.run([HOCBA, "worker", "--batch"], env=env, check=True, capture_output=True)
    processes = []
    for i in range(count):
        if profile:
            command = [sys.executable, "-m", "cProfile", "-o", str(profile / f"worker{i}.prof"),
                       HOCBA, "worker", "--interval", "0.2"]  # fmt: skip
        else:
            command = [HOCBA, "worker", "--interval", "0.2"]
        log = open(Path(environment["HOCBA_DATA_DIR"]) / f"worker{i}.log", "wb")  # noqa: SIM115
        processes.append((subprocess.Popen(command, env=env, stdout=log, stderr=log), log))
    try:
        yield
    finally:
        for process, _log_file in processes:
            process.send_signal(signal.SIGTERM)
        for process, log_file in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log_file.close()


def _wait_for(what: str, done: Any, timeout: float = 1800) -> None:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout:
            raise SystemExit(f"{what}: not finished after {timeout:.0f} s")
        time.sleep(0.2)


def _span(queue: str) -> tuple[int, float, float, dt.datetime | None, dt.datetime | None]:
    """Tasks of a queue: how many, first start to last end (s), the sum of their run times (s),
    and the first start and last end."""
    from django_tasks_db.models import DBTaskResult

    rows = list(
        DBTaskResult.objects.filter(queue_name=queue, finished_at__isnull=False).values_list(
            "started_at", "finished_at"
        )
    )
    if not rows:
        return 0, 0.0, 0.0, None, None
    first, last = min(r[0] for r in rows), max(r[1] for r in rows)
    busy = sum((end - begin).total_seconds() for begin, end in rows)
    return len(rows), (last - first).total_seconds(), busy, first, last


class _Signing:
    """What `sign_all_records` needs of the demo: the schools it signs and its counts."""

    def __init__(self, schools: dict[str, Any]) -> None:
        self.schools = schools
        self.counts: dict[str, int] = {}

    def add_count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


def _site(environment: dict[str, str], codes: list[str], year_name: str, profile: str,
          answers: Any, go: Any) -> None:  # fmt: skip
    """One process of the site (`hocba serve` runs one per core): the records of its schools
    built as their principals build them, then signed in the four steps as their staff sign
    them, and at each school's seal batch's end its render batches enqueued. It starts, as a
    running site is, before the timed part, and works when `go` is set."""
    _setup_django(environment)
    import importlib

    from hocba.demo.grades import sign_all_records
    from hocba.organizations.models import Role, RoleAssignment, School, SchoolYear
    from hocba.records.models import RecordVersion, State
    from hocba.records.services import build_records
    from hocba.workflow.services import draw_issued

    for name in ("hocba.signing.services", "hocba.exchange.services", "pkcs11"):
        importlib.import_module(name)
    answers.put("ready")
    go.wait()

    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    cpu = time.process_time()
    year = SchoolYear.objects.get(name=year_name)
    schools = list(School.objects.filter(code__in=codes).order_by("code"))
    out: dict[str, Any] = {"records": 0, "refused": 0, "signatures": {}, "render_jobs": []}
    for school in schools:
        principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school=school).staff.user
        built = build_records(principal, school, year)
        out["records"] += len(built.created)
        out["refused"] += len(built.refused)
    out["built_at"] = time.time()
    for school in schools:
        signing = _Signing({school.code: school})
        sign_all_records(signing)  # the four steps, one batch per person and slot
        out["signatures"][school.code] = signing.counts.get("signatures (PKCS#11)", 0)
        keeper = RoleAssignment.objects.get(role=Role.SEAL_KEEPER, school=school).staff.user
        issued = (
            RecordVersion.objects.filter(record__school=school, state=State.ISSUED)
            .select_related("record__school", "record__class_group")
        )  # fmt: skip
        out["render_jobs"] += [batch.progress_id for batch in draw_issued(keeper, issued)]
    out["signed_at"] = time.time()
    out["cpu"] = time.process_time() - cpu
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    answers.put(out)


def _stages(demo: Any, environment: dict[str, str], sites: int, profile: Path | None
            ) -> dict[str, Any]:  # fmt: skip
    import multiprocessing

    from django.db.models import Count

    from hocba.exchange.models import OutboxItem
    from hocba.jobs.models import Job

    codes = [school.code for school in demo.schools.values()]
    shares = [codes[i::sites] for i in range(sites) if codes[i::sites]]
    context = multiprocessing.get_context("spawn")  # the parent holds a PKCS#11 module
    answers, go = context.Queue(), context.Event()
    times: dict[str, float] = {}
    profiles = [str(profile / f"site{i}.prof") if profile else "" for i in range(len(shares))]
    processes = [
        context.Process(
            target=_site,
            args=(environment, share, "2024-2025", profiles[i], answers, go),
        )
        for i, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    for _process in processes:
        answers.get(timeout=600)  # started
    _log(f"records and signing, in {len(shares)} processes of the site…")
    start = time.time()
    go.set()
    parts = [answers.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a site process ended with {process.exitcode}")
    out: dict[str, Any] = {"records": 0, "refused": 0, "signatures": {}, "render_jobs": []}
    for part in parts:
        for key in ("records", "refused"):
            out[key] += part[key]
        out["signatures"].update(part["signatures"])
        out["render_jobs"] += part["render_jobs"]
    times["records"] = max(p["built_at"] for p in parts) - start
    times["signing"] = max(p["signed_at"] for p in parts) - min(p["built_at"] for p in parts)
    signed = max(p["signed_at"] for p in parts)

    _log("waiting for the workers: views, sending, the warehouse…")
    render_jobs = out["render_jobs"]
    _wait_for(
        "render batches and sending",
        lambda: (
            not Job.objects.filter(pk__in=render_jobs)
            .exclude(state__in=[Job.State.DONE, Job.State.FAILED])
            .exists()
            and OutboxItem.objects.filter(state=OutboxItem.State.ACCEPTED).count()
            + OutboxItem.objects.filter(state=OutboxItem.State.REJECTED).count()
            >= out["records"]
        ),
    )
    end = time.time()
    times["after_signing"] = end - signed
    states = dict(
        OutboxItem.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    failed_jobs = list(Job.objects.filter(state=Job.State.FAILED).values_list("error", flat=True))
    return {"times": times, "total": end - start, "outbox": states, "failed_jobs": failed_jobs,
            "site_cpu": sum(p["cpu"] for p in parts), "sites": len(shares),
            **out}  # fmt: skip


def _limit(demo: Any, signatures: dict[str, int], views: int) -> tuple[float, float]:
    """Seconds for the raw token signatures (shared evenly between each school's keys that signed)
    and for the bare template compiles."""
    import hashlib

    from django.db.models import Q
    from pkcs11 import Mechanism

    from hocba.documents.models import Document
    from hocba.documents.render import blank, qr_svg
    from hocba.documents.services import read_xml, renderer
    from hocba.documents.view import view_of
    from hocba.organizations.models import Role, RoleAssignment
    from hocba.signing.dev.tokens import org_label, token_signer
    from hocba.signing.signers import SHA256_DIGEST_INFO

    digest = SHA256_DIGEST_INFO + hashlib.sha256(b"hocba").digest()
    raw = 0.0
    for school in demo.schools.values():
        signed_by = RoleAssignment.objects.filter(
            Q(school=school, role=Role.PRINCIPAL)
            | Q(class_group__school=school, role__in=[Role.SUBJECT_TEACHER, Role.HOMEROOM_TEACHER])
        ).values_list("staff__personal_id", flat=True)
        labels = [*sorted(set(signed_by)), org_label(school)]
        share, extra = divmod(signatures[school.code], len(labels))
        start = time.perf_counter()
        for index, label in enumerate(labels):  # a token takes one session at a time
            signer = token_signer(school, label)
            try:
                for _ in range(share + (index < extra)):
                    signer.key.sign(digest, mechanism=Mechanism.RSA_PKCS)
            finally:
                signer.close()
        raw += time.perf_counter() - start

    draw = renderer()
    shapes = {}
    for document in Document.objects.select_related("version__record__school"):
        school = document.version.record.school_id
        if school not in shapes:
            shapes[school] = view_of(read_xml(document.version), draw.verify_base)[0]
            draw.render_view(blank(shapes[school]), b"<HOC_BA/>", qr_svg(draw.verify_base))
    qr = qr_svg(draw.verify_base)
    order = [d.version.record.school_id for d in Document.objects.select_related("version__record")]
    start = time.perf_counter()
    for i, school in enumerate(order[:views]):
        empty = blank(shapes[school])
        empty["record"]["id"] = f"{i:036d}"
        draw.render_view(empty, b"<HOC_BA/>", qr)
    return raw, time.perf_counter() - start


def _children_cpu() -> float:
    """CPU seconds (user and system) of the child processes that ended so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _top(profile: pstats.Stats, n: int = 25) -> str:
    out = io.StringIO()
    profile.stream = out  # type: ignore[attr-defined]
    profile.sort_stats("cumulative").print_stats(n)
    return out.getvalue()


@contextmanager
def _data_dir() -> Iterator[str]:
    """A new data directory (SQLite, files, PKI, tokens), removed afterwards (1.5 GB at full
    size)."""
    data = tempfile.mkdtemp(prefix="hocba-bench-year-")
    try:
        yield data
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run(students: int, workers: int, sites: int, database: str, data: str,
        profile: Path | None) -> None:  # fmt: skip
    environment = _environment(data, database)
    _setup_django(environment)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    _log(f"building {students} students, their grade books and tokens in {data}…")
    demo = _build_school(students)
    _accounts(demo)
    from django.db import connection

    from hocba.documents.models import Document
    from hocba.exchange.models import OutgoingPackage

    children_before = _children_cpu()
    with _workers(workers, environment, profile):
        found = _stages(demo, environment, sites, profile)
        spans = {queue: _span(queue) for queue in ("documents", "exchange", "warehouse")}
    workers_cpu = _children_cpu() - children_before - found["site_cpu"]
    views = Document.objects.count()
    packages = OutgoingPackage.objects.count()
    record_signatures = sum(found["signatures"].values())
    per_school = dict(found["signatures"])
    for school in demo.schools.values():
        per_school[school.code] += (
            Document.objects.filter(version__record__school=school).count()
            + OutgoingPackage.objects.filter(sender_code=school.code).count()
        )
    _log(f"limit: {sum(per_school.values())} raw signatures and {views} bare compiles…")
    raw, compiles = _limit(demo, per_school, views)
    limit = raw + compiles

    times = found["times"]
    render_n, render_span, render_busy, render_first, render_last = spans["documents"]
    store_n = spans["warehouse"][0]
    send_n, send_span, send_busy, _first, _last = spans["exchange"]
    from hocba.warehouse.models import ReceivedPackage

    received = list(ReceivedPackage.objects.values_list("received_at", "processed_at"))
    warehouse_busy = sum((b - a).total_seconds() for a, b in received if b)
    warehouse_span = (
        (max(b for _a, b in received if b) - min(a for a, _b in received)).total_seconds()
        if received
        else 0.0
    )
    accepted = found["outbox"].get("ACCEPTED", 0)
    stages = {
        "records": round(times["records"], 2),
        "signing": round(times["signing"], 2),
        "pdf": round(render_span, 2),
        "send": round(send_span, 2),
        "warehouse": round(warehouse_span, 2),
        "after_signing": round(times["after_signing"], 2),
    }
    if profile:
        for i in range(found["sites"]):
            path = profile / f"site{i}.prof"
            if path.exists():
                print(f"site {i}:\n{_top(pstats.Stats(str(path)))}", file=sys.stderr)
        for i in range(workers):
            path = profile / f"worker{i}.prof"
            if path.exists():
                print(f"worker {i}:\n{_top(pstats.Stats(str(path)))}", file=sys.stderr)
    load = os.getloadavg()
    report(
        "school_year",
        students,
        found["total"],
        "raw PKCS#11 RSA-2048 signatures (same count, same keys) + bare typst compiles (same "
        "count), as students/s, same run",
        students / limit,
        times_limit=round(found["total"] / limit, 2),
        database=connection.vendor,
        workers=workers,
        site_processes=found["sites"],
        schools=len(demo.schools),
        stage_seconds=stages,
        stages_note="pdf, send: their tasks on the workers, first start to last end; warehouse: "
        "first package received to last processed (inside the send rounds); they overlap "
        "signing and each other; after_signing: from the last seal batch to every view drawn "
        "and every record answered",
        cpu_seconds={
            "site": round(found["site_cpu"], 2),
            "workers": round(workers_cpu, 2),
            "note": "CPU time of this process in the timed part (records, signing) and of the "
            "workers over their lives (started just before it, stopped after it); their sum "
            "over the cores is about the least the wall time could be",
        },
        busy_seconds={
            "render_tasks": round(render_busy, 2),
            "send_tasks": round(send_busy, 2),
            "warehouse_processing": round(warehouse_busy, 2),
        },
        counts={
            "records_built": found["records"],
            "records_refused": found["refused"],
            "record_signatures": record_signatures,
            "pdf_views": views,
            "packages": packages,
            "outbox": found["outbox"],
            "accepted": accepted,
            "render_tasks": render_n,
            "send_tasks": send_n,
            "warehouse_tasks": store_n,
            "failed_jobs": len(found["failed_jobs"]),
        },
        limit_seconds={"raw_signatures": round(raw, 2), "bare_compiles": round(compiles, 2)},
        via={
            "records": "service (records.services.build_records)",
            "signing": "service (signing.services.sign_records); its end enqueues the render "
            "batches (workflow.services.draw_issued)",
            "pdf": "task documents.tasks.render_batch on hocba worker",
            "send": "task exchange.tasks.send_outbox on hocba worker, enqueued by issuing",
            "warehouse": "inside the send rounds: the embedded client processes each package as "
            "it submits it (warehouse.services.process); warehouse.tasks.process_package runs "
            "for packages received over HTTP",
        },
        render_first_start=render_first.isoformat() if render_first else None,
        render_last_end=render_last.isoformat() if render_last else None,
        load_average=[round(x, 2) for x in load],
    )
    if found["failed_jobs"] or accepted != found["records"]:
        print(f"incomplete: {found['failed_jobs'][:3]} outbox={found['outbox']}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="160 students")
    parser.add_argument("--students", type=int, default=0, help="students in all (default 2000)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--sites", type=int, default=os.cpu_count() or 1,
        help="processes of the site that build and sign (default: as `hocba serve`, one per core)",
    )  # fmt: skip
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--profile", type=Path, help="write cProfile files in this folder")
    args = parser.parse_args()
    students = args.students or (160 if args.quick else 2000)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with postgres() if args.postgres else nullcontext("") as database, _data_dir() as data:
        if database:
            import psycopg

            admin = database.rsplit("/", 1)[0] + "/postgres"
            name = database.rsplit("/", 1)[1]
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {name}")
                connection.execute(f"CREATE DATABASE {name}")
        run(students, args.workers, args.sites, database, data, args.profile)


if __name__ == "__main__":
    main()
