"""PDF pages: a reader of the record downloads the sealed view; the principal and the seal keeper
draw a class in the background and download the ZIP and the merged PDF; nobody else can."""

from __future__ import annotations

import io
import zipfile

import pytest

from hocba.documents.models import Document, RenderJob
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


def test_the_principal_draws_a_class_and_downloads_the_bundle(issued, login, settings):
    settings.DOCUMENTS_INLINE = True
    class_group = issued.record.class_group
    client = login("ht.chuvanan")
    page = client.get(f"/records/classes/{class_group.pk}/")
    assert f"/documents/classes/{class_group.pk}/render/" in page.content.decode()
    response = client.post(f"/documents/classes/{class_group.pk}/render/")
    job = RenderJob.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == f"/documents/jobs/{job.pk}/"
    progress = client.get(f"/documents/jobs/{job.pk}/", headers={"HX-Request": "true"})
    text = progress.content.decode()
    assert "100%" in text and 'hx-trigger="every 1s"' not in text  # finished: no more polling
    archive = client.get(f"/documents/jobs/{job.pk}/all.zip")
    names = zipfile.ZipFile(io.BytesIO(b"".join(archive.streaming_content))).namelist()
    assert len(names) == job.total > 0
    merged = client.get(f"/documents/jobs/{job.pk}/merged/{class_group.name}.pdf")
    assert b"".join(merged.streaming_content).startswith(b"%PDF")


def test_only_who_seals_for_the_school_may_start_or_watch_a_batch(issued, login, settings):
    settings.DOCUMENTS_INLINE = True
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
    login("vt.chuvanan").post(f"/documents/classes/{class_group.pk}/render/")
    job = RenderJob.objects.latest("pk")
    assert job.status == RenderJob.Status.DONE
    assert login("ht.hungvuong").get(f"/documents/jobs/{job.pk}/").status_code == 403
    assert login("ht.hungvuong").get(f"/documents/jobs/{job.pk}/all.zip").status_code == 403
    assert homeroom.get(f"/documents/jobs/{job.pk}/").status_code == 403
