"""The package (gói tin) format without its seal: build, read back, the package id (pure, no
database; sealing is tested with the warehouse)."""

import base64
import datetime as dt
import uuid

import pytest
from lxml import etree

from hocba.formats import build
from hocba.formats import package as pkg
from tests.factories.records import record_of_level

PACKAGE_ID = "6f0c1d9e-2b1a-4c55-8f77-0a1b2c3d4e5f"
SENDER = pkg.Sender("TRUONG", "25000201", "2600100202")


def entries() -> list[pkg.Entry]:
    return [
        pkg.Entry(
            f"2f1c8a0e-4b7d-4c2a-9e51-3d6f0a9b8c7{n}", 1, "NEW", build(record_of_level(level))
        )
        for n, level in enumerate(("TH", "THCS", "THPT", "GDTX"))
    ]


def built(**options) -> etree._Element:
    counts = [pkg.SchoolCount("25000201", "2024-2025", 120, 118, 4)]
    return pkg.build(SENDER, entries(), counts, package_id=PACKAGE_ID, **options)


def test_a_built_package_reads_back_with_its_records_byte_for_byte():
    when = dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC)
    package = pkg.read(pkg.content_of(built(created_at=when)))
    assert (package.package_id, package.sender, package.created_at) == (PACKAGE_ID, SENDER, when)
    assert package.entries == entries() and package.entry_problems == {}
    assert package.counts == [pkg.SchoolCount("25000201", "2024-2025", 120, 118, 4)]
    assert package.seal_certificate is None and package.seal_time is None


def test_a_record_whose_bytes_differ_from_its_declared_hash_is_named_alone():
    root = built()
    listed = pkg.content_of(root).find(f"{{{pkg.NS}}}DANH_SACH")
    listed[2].text = base64.b64encode(b"<HOC_BA/>").decode()
    package = pkg.read(pkg.content_of(root))
    assert list(package.entry_problems) == [2]
    assert package.entry_problems[2][0] == "RECORD_HASH_MISMATCH"


def test_an_unsealed_package_is_refused_as_not_sealed():
    data = etree.tostring(built(), xml_declaration=True, encoding="UTF-8")
    assert pkg.package_id_of(data) == PACKAGE_ID
    with pytest.raises(pkg.PackageRejected) as refused:
        pkg.parse(data)
    assert refused.value.code == "PACKAGE_NOT_SEALED"


@pytest.mark.parametrize(
    "data",
    [
        b"<GOI_TIN",
        b'<!DOCTYPE x [<!ENTITY a "b">]><GOI_TIN/>',
        b'<GOI_TIN xmlns="urn:hocba:goi-tin:1"><NOI_DUNG><MA_GOI>abc</MA_GOI></NOI_DUNG></GOI_TIN>',
        f'<GOI_TIN xmlns="urn:hocba:goi-tin:1"><NOI_DUNG><MA_GOI>{uuid.uuid4()}<!---->'
        "</MA_GOI></NOI_DUNG></GOI_TIN>".encode(),
        f"<HOC_BA><NOI_DUNG><MA_GOI>{uuid.uuid4()}</MA_GOI></NOI_DUNG></HOC_BA>".encode(),
    ],
)
def test_no_package_id_is_read_from_what_is_not_a_package(data):
    with pytest.raises(pkg.PackageRejected) as refused:
        pkg.package_id_of(data)
    assert refused.value.code == "PACKAGE_MALFORMED"


def test_a_package_holds_one_to_the_most_records_a_warehouse_takes():
    with pytest.raises(ValueError):
        pkg.build(SENDER, [])
    with pytest.raises(ValueError):
        pkg.build(SENDER, entries()[:1] * (pkg.MAX_RECORDS + 1))
