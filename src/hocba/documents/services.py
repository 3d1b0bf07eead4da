"""Drawing and sealing the printable views of issued versions, one by one or as a batch.

`render_versions` draws each issued version from its stored signed XML, seals it with the
school's organisation key and stores it, each in its own transaction with an audit event: a
failure on one record leaves the others done, and running it again skips what is done (a version
has one view at most, so two runs at once never store two).
`start_render` records a batch (a class, a school, or what a signing batch issued) and enqueues
its task after commit; `run_job`, the task's body, draws what has no view yet with progress, then
leaves a ZIP of the per-student files and one merged PDF per class for printing. A batch taken
again after its worker was killed resumes from what is already drawn.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from hocba import blobs
from hocba.audit.services import record_event
from hocba.blobs import BlobError, BlobRef, Kind
from hocba.documents.models import Document, RenderJob
from hocba.documents.render import Renderer, RenderError
from hocba.documents.seal import Sealer
from hocba.jobs.models import Job
from hocba.jobs.services import Progress, start_job
from hocba.organizations.models import ClassGroup, School
from hocba.records.models import RecordVersion, State
from hocba.records.services import RecordError, read_xml
from hocba.signing import config, keys
from hocba.signing.certs import common_name
from hocba.signing.signers import SignerError

DRAWN_STATES = (State.ISSUED, State.SUPERSEDED, State.REVOKED)
"""Versions that went through all four signing steps (a revocation event itself has no view)."""


@cache
def renderer() -> Renderer:
    """One renderer per process (typst keeps fonts and layouts between records)."""
    return Renderer(settings.VERIFY_URL)


def school_sealer(school: School) -> Sealer:
    """The school's organisation key, as configured (`hocba.signing.keys`: a token or HSM, or a
    PKCS#12 file; the development token only in development)."""
    signer = keys.school_signer(school)
    trust = config.trust_store()
    if not settings.TSA_URL:
        return Sealer(signer, list(trust.intermediates), school.name)
    # B-LT: a time stamp on the seal, and the revocation answers embedded
    from pyhanko.sign.timestamps import HTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext

    from hocba.documents.seal import asn1_certificate

    return Sealer(
        signer,
        list(trust.intermediates),
        school.name,
        timestamper=HTTPTimeStamper(settings.TSA_URL),
        validation_context=ValidationContext(
            trust_roots=[asn1_certificate(c) for c in trust.roots],
            other_certs=[asn1_certificate(c) for c in trust.intermediates],
            allow_fetching=True,
        ),
    )


def store_pdf(content: bytes) -> str:
    return blobs.put(Kind.PDF_VIEW, content).sha256


def read_pdf(document: Document) -> bytes:
    """The sealed view's bytes, checked against the hash the database holds (`BlobError`)."""
    return blobs.get(BlobRef(Kind.PDF_VIEW, document.pdf_sha256))


@dataclass
class RenderReport:
    done: list[Document] = field(default_factory=list)
    skipped: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def render_versions(
    user: Any,
    versions: Iterable[RecordVersion],
    sealer: Sealer,
    progress: Callable[[int, int], None] | None = None,
) -> RenderReport:
    """Draw and seal every version given that has gone through all signing steps and has no view
    yet; `progress(done, total)` after each."""
    report = RenderReport()
    versions = [v for v in versions if v.event != "CANCEL"]
    have = set(
        Document.objects.filter(version__in=[v.pk for v in versions]).values_list(
            "version_id", flat=True
        )
    )
    todo = [v for v in versions if v.state in DRAWN_STATES and v.pk not in have]
    report.skipped = len(versions) - len(todo)
    sealed_by = common_name(sealer.signer.certificate)
    for index, version in enumerate(todo, 1):
        try:
            pdf = sealer.seal(renderer().render(read_xml(version)))
        except (RenderError, RecordError, SignerError, BlobError) as error:
            report.failed.append(
                {
                    "version": version.pk,
                    "code": getattr(error, "code", "VIEW_FAILED"),
                    "message": getattr(error, "message", str(error)),
                }
            )
            continue
        try:
            with transaction.atomic():
                digest = store_pdf(pdf)
                document = Document.objects.create(
                    version=version,
                    pdf_sha256=digest,
                    pdf_size=len(pdf),
                    pades_level=sealer.level,
                    sealed_by=sealed_by,
                )
                record_event(
                    user,
                    "documents.seal",
                    version,
                    summary=f"PDF {version.record_id} v{version.version}",
                    new={"sha256": digest, "pades": sealer.level},
                )
        except IntegrityError:  # another batch drew it meanwhile: one view per version
            report.skipped += 1
        else:
            report.done.append(document)
        if progress:
            progress(index, len(todo))
    return report


def seal_with_school_keys(
    user: Any,
    versions: Iterable[RecordVersion],
    progress: Callable[[int, int], None] | None = None,
) -> RenderReport:
    """`render_versions` for versions of any schools, each sealed with its own school's key
    (schools without a tax code have no organisation certificate and are left out)."""
    by_school: dict[int, list[RecordVersion]] = {}
    for version in versions:
        by_school.setdefault(version.record.school_id, []).append(version)
    report = RenderReport()
    for group in by_school.values():
        school = group[0].record.school
        if not school.tax_code:
            continue
        sealer = school_sealer(school)
        try:
            part = render_versions(user, group, sealer, progress)
        finally:
            sealer.signer.close()
        report.done += part.done
        report.skipped += part.skipped
        report.failed += part.failed
    return report


def start_render(
    user: Any,
    school: School,
    class_group: ClassGroup | None = None,
    versions: Iterable[RecordVersion] = (),
) -> RenderJob:
    """Record a batch for a class (or the school, or only `versions`) and enqueue its drawing
    when the caller's transaction commits."""
    from hocba.documents.tasks import render_batch

    with transaction.atomic():
        job = start_job(render_batch)
        return RenderJob.objects.create(
            progress=job,
            school=school,
            class_group=class_group,
            version_ids=sorted(v.pk for v in versions),
            requested_by=user,
        )


def new_batch(user: Any, school: School, class_group: ClassGroup | None = None) -> RenderJob:
    """A batch to be drawn by the caller itself (`hocba documents render`), not enqueued."""
    from hocba.documents.tasks import render_batch

    with transaction.atomic():
        job = Job.objects.create(kind=render_batch.module_path)
        return RenderJob.objects.create(
            progress=job, school=school, class_group=class_group, requested_by=user
        )


def _job_versions(job: RenderJob) -> list[RecordVersion]:
    versions = RecordVersion.objects.filter(record__school=job.school, state__in=DRAWN_STATES)
    if job.class_group_id:
        versions = versions.filter(record__class_group_id=job.class_group_id)
    if job.version_ids:
        versions = versions.filter(pk__in=job.version_ids)
    return list(
        versions.exclude(event="CANCEL")
        .select_related("record__student", "record__class_group", "record__school")
        .order_by("record__class_group__name", "record__student__full_name", "version")
    )


def run_job(job: RenderJob) -> RenderJob:
    """Draw what the batch covers and has no view yet, updating its progress, then bundle the
    files. Run again (a worker killed halfway), it starts from what is already drawn."""
    progress = Progress(job.progress_id)
    versions = _job_versions(job)
    already = Document.objects.filter(version__in=[v.pk for v in versions]).count()
    progress.start(len(versions), already)

    def advance(done: int, _total: int) -> None:
        progress.advance(already + done)

    report = seal_with_school_keys(job.requested_by, versions, advance)
    outputs = bundle(job, versions)
    RenderJob.objects.filter(pk=job.pk).update(failed=report.failed, outputs=outputs)
    failed = len(report.failed)
    progress.finish(
        error=f"{failed} học bạ chưa dựng được bản PDF" if failed else "",
        done=len(versions) - failed,
    )
    job.refresh_from_db()
    job.progress.refresh_from_db()
    return job


def _print_copy(pdfs: list[bytes]) -> bytes:
    """The pages of `pdfs` in one file for printing, without their annotations: the school's
    seal is one of them, and a seal cannot cover pages merged into another file (a reader would
    call it broken; each student's sealed PDF in the ZIP is the copy to verify). qpdf (pikepdf)
    copies the pages' objects as they are, without parsing each seal's signature value in
    Python: a tenth of the time pypdf took, at a batch's end."""
    import pikepdf  # only batches need it (a tenth of a second to import)

    merged = pikepdf.new()
    for pdf in pdfs:
        with pikepdf.open(io.BytesIO(pdf)) as source:
            merged.pages.extend(source.pages)
    for page in merged.pages:
        if "/Annots" in page.obj:
            del page.obj["/Annots"]
    out = io.BytesIO()
    merged.save(out)
    return out.getvalue()


def bundle(job: RenderJob, versions: list[RecordVersion]) -> dict[str, Any]:
    """A ZIP of one PDF per student (by class) and one merged PDF per class, for printing
    (the pages only: see `_print_copy`)."""
    documents = {
        d.version_id: d for d in Document.objects.filter(version__in=[v.pk for v in versions])
    }
    archive = io.BytesIO()
    by_class: dict[str, list[bytes]] = {}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for version in versions:
            document = documents.get(version.pk)
            if document is None:
                continue
            pdf = read_pdf(document)
            record = version.record
            class_name = record.class_group.name
            student = record.student
            zipped.writestr(
                f"{class_name}/{student.student_code} {student.full_name} v{version.version}.pdf",
                pdf,
            )
            by_class.setdefault(class_name, []).append(pdf)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    prefix = f"documents/batches/{job.school.code}-{job.pk}-{stamp}"
    outputs: dict[str, Any] = {
        "zip": default_storage.save(f"{prefix}.zip", ContentFile(archive.getvalue())),
        "merged": {},
    }
    for class_name, pdfs in by_class.items():
        outputs["merged"][class_name] = default_storage.save(
            f"{prefix}-{class_name}-in.pdf", ContentFile(_print_copy(pdfs))
        )
    return outputs
