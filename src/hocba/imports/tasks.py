"""The imports' background task (run by `hocba worker`): a large file applied as a job."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from django_tasks import task

from hocba.imports import services
from hocba.jobs.services import Progress
from hocba.organizations.models import School, SchoolYear


@task()
def apply_file(
    job_id: int, school: str, year: str, kind: str, path: str, mapping: dict[str, str],
    fingerprint: str, user_id: int | None,
) -> dict[str, Any]:  # fmt: skip
    """Apply the stored file all or nothing; the counts of what it did. Two steps of progress:
    the file read and planned (outside any transaction, so the page sees it), then written. A
    refusal ends the job with its message (nothing written), and so does a person who has since
    been removed or lost the right to import (never run as the operator in their place)."""
    progress = Progress(job_id)
    progress.start(total=2)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    with default_storage.open(path, "rb") as stored:
        content = stored.read()
    if user_id and user is None:
        services.discard(content)
        progress.finish(error=str(_("The person who started this import no longer exists.")))
        return {"error": "USER_GONE"}
    place, when = School.objects.get(code=school), SchoolYear.objects.get(name=year)
    try:
        seen = services.preview(user, place, when, kind, content, mapping or None)
        if seen.plan.problems:
            services.discard(content)
            progress.finish(
                error=f"Tệp có {len(seen.plan.problems)} ô sai; không ghi gì cả", done=1
            )
            return {"error": "CELLS_INVALID"}
        progress.advance(1)
        done = services.apply_import(user, place, when, kind, content, mapping or None, fingerprint)
    except services.ImportRefused as refused:
        services.discard(content)
        progress.finish(error=refused.message)
        return {"error": refused.code}
    except PermissionDenied:
        services.discard(content)
        progress.finish(error=str(_("You may no longer import into this school.")))
        return {"error": "PERMISSION_DENIED"}
    progress.finish(done=2)
    return done.plan.summary()
