"""PDF pages: a reader of the record downloads the sealed view; the principal and the seal keeper
draw a class in the background and download the ZIP and the merged PDF; nobody else can. Until a
worker takes the batch, its page says it waits; a batch taken again draws only what is missing.

Tasks run in the test's process when they are enqueued, that is when the request's transaction
commits (`django_capture_on_commit_callbacks(execute=True)`)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.contrib.auth import get_user_model

from hocba.documents.models import Document, RenderJob
from hocba.jobs.models import Job
from hocba.records.models import RecordVersion, State

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(demo):
    return (
        RecordVersion.objects.filter(record__school__code="25000201", state=State.ISSUED)
        .select_related("record__class_group")
        .first()
    )


def test_a_reader_of_the_record_downloads_its_sealed_pdf(issued, login):
    record = issued.record
    page = login("ht.chuvanan").get(f"/records/{record.record_id}/")
    pdf_url = f"/records/{record.record_id}/v{issued.version}.pdf"
    assert pdf_url in page.content.decode()
    response = login("ht.chuvanan").get(pdf_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert Document.objects.get(version=issued).pdf_size == len(response.content)


def test_the_pdf_is_refused_outside_the_readers_scope(issued, login, client):
    url = f"/records/{issued.record.record_id}/v{issued.version}.pdf"
    assert login("ht.hungvuong").get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302  # to the sign-in page


def test_the_principal_draws_a_class_and_downloads_the_bundle(
    issued, login, django_capture_on_commit_callbacks
):
    class_group = issued.record.class_group
    client = login("ht.chuvanan")
    page = client.get(f"/records/classes/{class_group.pk}/")
    assert f"/documents/classes/{class_group.pk}/render/" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/documents/classes/{class_group.pk}/render/")
    job = RenderJob.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/documents/jobs/{job.pk}/"
    progress = client.get(f"/documents/jobs/{job.pk}/", headers={"HX-Request": "true"})
    text = progress.content.decode()
    assert "100%" in text and 'hx-trigger="every 1s"' not in text  # finished: no more polling
    archive = client.get(f"/documents/jobs/{job.pk}/all.zip")
    names = zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).namelist()
    assert len(names) == job.progress.total > 0
    merged = client.get(f"/documents/jobs/{job.pk}/merged/{class_group.name}.pdf")
    assert b"".join(merged.streaming_content).startswith(b"%PDF")


def test_only_who_seals_for_the_school_may_start_or_watch_a_batch(
    issued, login, django_capture_on_commit_callbacks
):
    class_group = issued.record.class_group
    homeroom = login(f"gvcn.chuvanan.{class_group.name.lower()}")
    assert homeroom.post(f"/documents/classes/{class_group.pk}/render/").status_code == 403
    assert (
        f"/documents/classes/{class_group.pk}/render/"
        not in homeroom.get(f"/records/classes/{class_group.pk}/").content.decode()
    )
    assert (
        login("ht.hungvuong").post(f"/documents/classes/{class_group.pk}/render/").status_code
        == 403
    )
    with django_capture_on_commit_callbacks(execute=True):
        login("vt.chuvanan").post(f"/documents/classes/{class_group.pk}/render/")
    job = RenderJob.objects.latest("pk")
    assert job.progress.state == Job.State.DONE
    assert login("ht.hungvuong").get(f"/documents/jobs/{job.pk}/").status_code == 403
    assert login("ht.hungvuong").get(f"/documents/jobs/{job.pk}/all.zip").status_code == 403
    assert homeroom.get(f"/documents/jobs/{job.pk}/").status_code == 403


def test_a_batch_waits_on_its_page_until_a_worker_takes_it(issued, login):
    class_group = issued.record.class_group
    client = login("ht.chuvanan")
    client.post(f"/documents/classes/{class_group.pk}/render/")  # never committed: not enqueued
    job = RenderJob.objects.latest("pk")
    page = client.get(f"/documents/jobs/{job.pk}/").content.decode()
    assert "Đang chờ: 0/0" in page and "hocba worker" in page
    assert 'hx-trigger="every 1s"' in page  # the page keeps asking


def test_a_batch_taken_again_draws_only_what_is_missing(issued, login):
    from hocba.documents.services import run_job, start_render

    class_group = issued.record.class_group
    client = login("ht.chuvanan")
    versions = RecordVersion.objects.filter(
        record__class_group=class_group, state__in=[State.ISSUED, State.SUPERSEDED]
    ).exclude(event="CANCEL")
    total = versions.count()
    drawn_before = set(Document.objects.filter(version__in=versions).values_list("pk", flat=True))
    Document.objects.filter(version__in=versions[: total // 2]).delete()  # half left undrawn
    principal = get_user_model().objects.get(username="ht.chuvanan")
    batch = start_render(principal, issued.record.school, class_group)
    run_job(batch)
    first = set(Document.objects.filter(version__in=versions).values_list("pk", flat=True))
    run_job(RenderJob.objects.get(pk=batch.pk))  # taken again: nothing new, nothing lost
    again = set(Document.objects.filter(version__in=versions).values_list("pk", flat=True))
    assert len(first) == total and again == first
    assert drawn_before - first  # the deleted half were drawn anew
    page = client.get(f"/documents/jobs/{batch.pk}/").content.decode()
    assert f"Hoàn tất: {total}/{total}" in page and "100%" in page
