"""The documents' background tasks (run by `hocba worker`)."""

from __future__ import annotations

from django_tasks import task

from hocba.documents.models import RenderJob
from hocba.documents.services import run_job


@task(queue_name="documents")
def render_batch(job_id: int) -> int:
    """Draw and seal a batch (`start_render`); the number of views it holds. Safe to run again:
    it resumes from what is already drawn."""
    batch = RenderJob.objects.select_related("school", "class_group", "requested_by").get(
        progress_id=job_id
    )
    return run_job(batch).progress.done
