"""Files in an S3-compatible object store (HOCBA_S3_BUCKET): record XML, sealed PDF views and
warehouse packages are written there and read back, against a local server speaking the S3
protocol (moto), not the file system."""

from __future__ import annotations

import hashlib
import uuid

import boto3
import pytest
from moto.server import ThreadedMotoServer

from hocba.config.settings import _object_storage
from hocba.documents.models import Document
from hocba.documents.services import read_pdf, seal_with_school_keys
from hocba.records.models import RecordVersion, State, storage_name
from hocba.records.services import read_xml, store_xml
from hocba.warehouse.models import ReceivedPackage
from hocba.warehouse.services import process, receive
from tests.factories.database import caller, entry, sealed

pytestmark = pytest.mark.django_db

THCS = "25000201"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch):
    """A fresh bucket, and the settings as `HOCBA_S3_*` in the environment make them."""
    name = f"hocba-{uuid.uuid4().hex[:12]}"
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "hocba-test",
        "AWS_SECRET_ACCESS_KEY": "hocba-test-secret",
        "HOCBA_S3_BUCKET": name,
        "HOCBA_S3_ENDPOINT": s3_endpoint,
        "HOCBA_S3_REGION": "us-east-1",
        "HOCBA_S3_PREFIX": "hocba",
    }.items():
        monkeypatch.setenv(variable, value)
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="hocba-test",
        aws_secret_access_key="hocba-test-secret",
    )
    client.create_bucket(Bucket=name)

    def objects() -> dict[str, bytes]:
        listing = client.list_objects_v2(Bucket=name).get("Contents", [])
        return {
            o["Key"]: client.get_object(Bucket=name, Key=o["Key"])["Body"].read() for o in listing
        }

    def use() -> None:  # from here on the process keeps its files in the bucket
        settings.STORAGES = {**settings.STORAGES, "default": _object_storage()}

    return client, name, objects, use


def test_without_a_bucket_files_stay_under_the_data_directory(monkeypatch):
    monkeypatch.delenv("HOCBA_S3_BUCKET", raising=False)
    assert _object_storage()["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_a_sealed_view_is_drawn_from_xml_in_the_bucket_kept_there_and_downloaded(
    demo, bucket, login
):
    _client, _name, objects, use = bucket
    version = (
        RecordVersion.objects.filter(record__school__code=THCS, state=State.ISSUED)
        .select_related("record__school")
        .first()
    )
    xml = read_xml(version)  # still from the data directory
    Document.objects.filter(version=version).delete()
    use()
    assert store_xml(xml) == version.xml_sha256
    assert objects() == {f"hocba/{version.storage_name}": xml}
    assert read_xml(version) == xml

    report = seal_with_school_keys(None, [version])
    assert not report.failed and len(report.done) == 1
    document = report.done[0]
    pdf = objects()[f"hocba/{document.storage_name}"]
    assert hashlib.sha256(pdf).hexdigest() == document.pdf_sha256
    assert read_pdf(document) == pdf
    # the reader downloads it through the page that checks who may read it
    response = login("ht.chuvanan").get(
        f"/records/{version.record.record_id}/v{version.version}.pdf"
    )
    assert response.status_code == 200
    assert response.content == pdf


def test_a_copy_cut_short_in_the_bucket_is_written_again(bucket):
    client, name, objects, use = bucket
    use()
    content = "Học bạ số".encode() * 1000
    digest = hashlib.sha256(content).hexdigest()
    client.put_object(Bucket=name, Key=f"hocba/{storage_name(digest)}", Body=content[:7])
    assert store_xml(content) == digest
    assert objects() == {f"hocba/{storage_name(digest)}": content}


def test_the_warehouse_keeps_a_package_in_the_bucket_and_processes_it_from_there(demo, bucket):
    _client, _name, objects, use = bucket
    versions = list(RecordVersion.objects.filter(record__school__code=THCS, state=State.ISSUED)[:3])
    data = sealed(THCS, [entry(v) for v in versions])
    use()
    row, new = receive(caller(f"truong-{THCS}"), data, inline=False)
    assert new and objects() == {f"hocba/{row.storage_name}": data}
    process(row.pk)
    row.refresh_from_db()
    assert row.status == ReceivedPackage.Status.DONE
    assert row.acks.count() == 3  # every record answered (already held: the demo sent them)
