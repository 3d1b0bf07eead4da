"""The one store for record XML, PDF views and packages (`hocba.blobs`), on the data directory
and on an S3-compatible object store (a local moto server): the same bytes are kept once, and a
stored file with one byte changed, or gone, is refused wherever it is read — the record's XML
page and API, the CLI, the PDF view, drawing a view, the school's sender, the warehouse."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from hocba import blobs
from hocba.blobs import BlobHashMismatch, BlobMissing, BlobRef, Kind
from hocba.cli import main as hocba
from hocba.documents.models import Document
from hocba.documents.services import read_pdf, render_versions, school_sealer
from hocba.exchange.models import OutboxItem
from hocba.exchange.services import read_content
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml
from hocba.warehouse.models import ReceivedPackage, StoredRecord
from hocba.warehouse.services import process, read_stored, receive
from tests.factories.database import caller, entry, issued_version, sealed
from tests.test_object_storage import bucket, s3_endpoint  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

THCS = "25000201"


@dataclass
class Store:
    """The store the process uses in a test, and a hand that damages what it holds."""

    backend: str
    saved: dict[str, bytes]

    def raw(self, ref: BlobRef) -> bytes:
        with storages["default"].open(ref.name, "rb") as handle:
            data: bytes = handle.read()
        return data

    def replace(self, ref: BlobRef, content: bytes) -> None:
        self.saved.setdefault(ref.name, self.raw(ref))
        storage = storages["default"]
        storage.delete(ref.name)
        assert storage.save(ref.name, ContentFile(content)) == ref.name

    def flip_a_byte(self, ref: BlobRef) -> None:
        data = bytearray(self.raw(ref))
        data[len(data) // 2] ^= 0x01
        self.replace(ref, bytes(data))

    def remove(self, ref: BlobRef) -> None:
        self.saved.setdefault(ref.name, self.raw(ref))
        storages["default"].delete(ref.name)


@pytest.fixture(params=["files", "s3"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Files under the data directory, or the bucket of a local S3 server. What a test damages
    in the data directory (the demo's files, shared by the session) is put back afterwards."""
    if request.param == "s3":
        _client, _name, _objects, use = request.getfixturevalue("bucket")
        use()
    damaged = Store(request.param, {})
    yield damaged
    if request.param == "files":
        storage = storages["default"]
        for name, content in damaged.saved.items():
            storage.delete(name)
            storage.save(name, ContentFile(content))


def held(store: Store, ref: BlobRef) -> BlobRef:
    """`ref` in the store under test: the demo keeps its files in the data directory, so a test
    on the bucket puts a copy there first."""
    if store.backend == "s3":
        from django.conf import settings

        assert blobs.put(ref.kind, (settings.MEDIA_ROOT / ref.name).read_bytes()) == ref
    return ref


def xml_of(version: RecordVersion) -> BlobRef:
    return BlobRef(Kind.RECORD_XML, version.xml_sha256)


# --- the store itself --------------------------------------------------------------------------


def test_the_same_bytes_are_kept_once_under_their_hash(store):
    content = "Học bạ số — tệp thử".encode() * 100
    first = blobs.put(Kind.PDF_VIEW, content)
    again = blobs.put(Kind.PDF_VIEW, content)
    assert first == again
    assert first.sha256 == hashlib.sha256(content).hexdigest()
    assert first.name == f"documents/{first.sha256[:2]}/{first.sha256}.pdf"
    assert blobs.get(first) == content
    folder = f"documents/{first.sha256[:2]}"
    kept = [name for name in storages["default"].listdir(folder)[1] if first.sha256 in name]
    assert kept == [f"{first.sha256}.pdf"]  # one file, however many times it was put


def test_bytes_put_with_their_digest_are_kept_as_without_it(store):
    content = b"<GOI_TIN>" + "gói tin".encode() * 500 + b"</GOI_TIN>"
    digest = hashlib.sha256(content).hexdigest()
    ref = blobs.put(Kind.RECEIVED_PACKAGE, content, sha256=digest)
    assert ref == blobs.ref_for(Kind.RECEIVED_PACKAGE, content) == BlobRef(ref.kind, digest)
    assert blobs.get(ref) == content
    assert blobs.put(Kind.RECEIVED_PACKAGE, content) == ref


def test_a_byte_changed_in_the_store_is_refused_on_read(store):
    ref = blobs.put(Kind.SENT_PACKAGE, b"<GOI_TIN>" + b"x" * 4000 + b"</GOI_TIN>")
    store.flip_a_byte(ref)
    with pytest.raises(BlobHashMismatch) as refused:
        blobs.get(ref)
    assert refused.value.code == "BLOB_HASH_MISMATCH"
    assert "không khớp mã băm" in refused.value.message
    assert "gói tin gửi đi" in refused.value.message


def test_a_file_gone_from_the_store_is_named_missing(store):
    ref = blobs.put(Kind.RECEIVED_PACKAGE, b"<GOI_TIN/>")
    store.remove(ref)
    with pytest.raises(BlobMissing) as refused:
        blobs.get(ref)
    assert refused.value.code == "BLOB_MISSING"
    assert "Không tìm thấy tệp gói tin nhận được" in refused.value.message


def test_a_damaged_copy_is_replaced_when_the_same_bytes_are_stored_again(store):
    content = "Học bạ số".encode() * 1000
    ref = blobs.put(Kind.RECORD_XML, content)
    store.replace(ref, content[:7])  # a copy cut short by a killed process
    assert blobs.put(Kind.RECORD_XML, content) == ref
    assert blobs.get(ref) == content


# --- records ---------------------------------------------------------------------------------


def test_the_record_xml_page_api_and_cli_refuse_a_changed_file(demo, store, login, capsys):
    version = issued_version()
    ref = held(store, xml_of(version))
    store.flip_a_byte(ref)
    with pytest.raises(BlobHashMismatch):
        read_xml(version)

    client = login("ht.chuvanan")
    record_id = version.record.record_id
    page = client.get(f"/records/{record_id}/v{version.version}.xml")
    assert page.status_code == 500
    text = page.content.decode()
    assert "Tệp đã lưu bị từ chối" in text and "BLOB_HASH_MISMATCH" in text
    assert "Tệp XML học bạ đã lưu không khớp mã băm" in text

    answer = client.get(f"/api/v1/records/{record_id}/versions/{version.version}.xml")
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "BLOB_HASH_MISMATCH"
    assert "không khớp mã băm" in answer.json()["error"]["message"]

    with pytest.raises(SystemExit) as exit_code:
        hocba(["records", "show", str(record_id), "--xml"])
    assert exit_code.value.code == 1
    assert capsys.readouterr().err.startswith("hocba: BLOB_HASH_MISMATCH: Tệp XML học bạ")


def test_a_record_whose_xml_is_gone_is_named_missing_on_its_page(demo, store, login):
    version = issued_version()
    ref = held(store, xml_of(version))
    store.remove(ref)
    page = login("ht.chuvanan").get(f"/records/{version.record.record_id}/v{version.version}.xml")
    assert page.status_code == 500
    assert "BLOB_MISSING" in page.content.decode()


# --- documents -------------------------------------------------------------------------------


def test_a_changed_pdf_view_is_never_downloaded(demo, store, login):
    version = issued_version()
    document = Document.objects.get(version=version)
    ref = held(store, BlobRef(Kind.PDF_VIEW, document.pdf_sha256))
    store.flip_a_byte(ref)
    with pytest.raises(BlobHashMismatch):
        read_pdf(document)
    page = login("ht.chuvanan").get(f"/records/{version.record.record_id}/v{version.version}.pdf")
    assert page.status_code == 500
    assert "Tệp bản PDF học bạ đã lưu không khớp mã băm" in page.content.decode()


def test_a_view_is_not_drawn_from_a_changed_xml(demo, store):
    version = issued_version()
    Document.objects.filter(version=version).delete()
    store.flip_a_byte(held(store, xml_of(version)))
    sealer = school_sealer(version.record.school)
    try:
        report = render_versions(None, [version], sealer)
    finally:
        sealer.signer.close()
    assert not report.done
    assert [f["code"] for f in report.failed] == ["BLOB_HASH_MISMATCH"]


# --- exchange and warehouse ------------------------------------------------------------------


def test_the_sender_does_not_pack_a_changed_xml(demo, store):
    version = issued_version()
    store.flip_a_byte(held(store, xml_of(version)))
    item = OutboxItem.objects.filter(
        record_id=version.record.record_id, version=version.version
    ).first() or OutboxItem(record_id=version.record.record_id, xml_sha256=version.xml_sha256)
    with pytest.raises(BlobHashMismatch):
        read_content(item)


def test_the_warehouse_does_not_process_a_changed_package(demo, store):
    versions = list(RecordVersion.objects.filter(record__school__code=THCS, state=State.ISSUED)[:2])
    for version in versions:
        held(store, xml_of(version))
    data = sealed(THCS, [entry(v) for v in versions])
    row, new = receive(caller(f"truong-{THCS}"), data, inline=False)
    assert new
    store.flip_a_byte(row.blob)
    process(row.pk)
    row.refresh_from_db()
    assert row.status == ReceivedPackage.Status.RECEIVED  # waiting for another attempt
    assert row.acks.count() == 0
    assert "BLOB_HASH_MISMATCH" in row.last_error


def test_the_warehouse_does_not_hand_out_a_changed_stored_record(demo, store):
    stored = StoredRecord.objects.filter(school_code=THCS).first()
    assert stored is not None
    ref = held(store, BlobRef(Kind.RECORD_XML, stored.xml_sha256))
    assert read_stored(stored) == blobs.get(ref)
    store.flip_a_byte(ref)
    with pytest.raises(BlobHashMismatch):
        read_stored(stored)
