"""The package (gói tin): its schema, its seal, and what breaks it."""

from __future__ import annotations

import base64
import subprocess

import pytest
from lxml import etree

from hocba.formats import package as pkg
from hocba.signing import package as sealing
from tests.conftest import require_tool
from tests.factories.database import entry, issued, sealed

pytestmark = pytest.mark.django_db

THCS = "25000201"


def test_a_sealed_package_validates_and_reads_back_byte_for_byte(demo, tmp_path):
    versions = issued(THCS)[:3]
    data = sealed(THCS, [entry(v) for v in versions])
    (tmp_path / "goi.xml").write_bytes(data)
    (tmp_path / "goi.xsd").write_text(pkg.xsd_text(), encoding="utf-8")
    xmllint = require_tool("xmllint")
    result = subprocess.run(
        [xmllint, "--noout", "--schema", str(tmp_path / "goi.xsd"), str(tmp_path / "goi.xml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    package = sealing.read(data)
    assert package.sender.kind == "TRUONG" and package.sender.code == THCS
    assert [e.content for e in package.entries] == [entry(v).content for v in versions]
    assert package.entry_problems == {}
    assert package.seal_certificate is not None
    assert package.counts == []


def test_a_package_without_a_seal_is_refused_as_not_sealed(demo):
    sender = pkg.Sender("TRUONG", THCS, "0000000000")
    root = pkg.build(sender, [entry(issued(THCS)[0])])
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with pytest.raises(pkg.PackageRejected) as refused:
        sealing.read(data)
    assert refused.value.code == "PACKAGE_NOT_SEALED"


def test_a_record_slipped_into_a_sealed_package_breaks_the_seal(demo):
    first, second = issued(THCS)[:2]
    data = sealed(THCS, [entry(first)])
    extra = entry(second)
    slipped = (
        f'<HOC_BA MA_DINH_DANH_HOC_BA="{extra.record_id}" PHIEN_BAN="{extra.version}" '
        f'SU_KIEN="{extra.event}" SHA256="{extra.sha256}">'
        f"{base64.b64encode(extra.content).decode()}</HOC_BA></DANH_SACH>"
    ).encode()
    tampered = data.replace(b"</DANH_SACH>", slipped, 1)
    with pytest.raises(pkg.PackageRejected) as refused:
        sealing.read(tampered)
    assert refused.value.code == "PACKAGE_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<GOI_TIN", "PACKAGE_MALFORMED"),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><GOI_TIN/>', "PACKAGE_MALFORMED"),
        (b'<GOI_TIN xmlns="urn:hocba:goi-tin:1" PHIEN_BAN_DINH_DANG="1"/>', "PACKAGE_MALFORMED"),
        (b"<HOC_BA/>", "PACKAGE_MALFORMED"),
    ],
)
def test_hostile_or_broken_packages_are_refused_unread(data, code):
    with pytest.raises(pkg.PackageRejected) as refused:
        sealing.read(data)
    assert refused.value.code == code
