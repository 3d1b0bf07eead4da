"""The imports' background task (run by `hocba worker`): a large file applied as a job."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django_tasks import task

from hocba.imports import services
from hocba.jobs.services import Progress
from hocba.organizations.models import School, SchoolYear


@task()
def apply_file(
    job_id: int, school: str, year: str, kind: str, path: str, mapping: dict[str, str],
    fingerprint: str, user_id: int | None,
) -> dict[str, Any]:  # fmt: skip
    """Apply the stored file all or nothing; the counts of what it did. A refusal ends the job
    with its message (nothing written)."""
    progress = Progress(job_id)
    progress.start(total=1)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    with default_storage.open(path, "rb") as stored:
        content = stored.read()
    try:
        done = services.apply_import(
            user, School.objects.get(code=school), SchoolYear.objects.get(name=year), kind,
            content, mapping or None, fingerprint,
        )  # fmt: skip
    except services.ImportRefused as refused:
        progress.finish(error=refused.message)
        return {"error": refused.code}
    progress.finish(done=1)
    return done.plan.summary()
