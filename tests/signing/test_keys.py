"""The keys that seal come from the configuration, never from the development PKI in production:
a school's seal (its PDF views) and a Sở's forwarding key (the packages its warehouse sends
upward), each from a PKCS#12 file or a PKCS#11 token (SoftHSM2) named by an RFC 7512 URI; and a
production start with no key configured is stopped by a system check."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.reader import PdfFileReader

from hocba.blobs import get
from hocba.documents.models import Document
from hocba.documents.services import read_pdf, seal_with_school_keys
from hocba.exchange.models import OutboxItem
from hocba.exchange.services import pack
from hocba.signing import config
from hocba.signing.dev.pki import DevPki, create
from hocba.signing.dev.servers import LoopbackServer, ocsp_app
from hocba.signing.keys import NoKey, keys_configured, parse_pkcs11_uri
from hocba.signing.package import read as read_package
from hocba.signing.signers import import_to_token
from tests.conftest import require_tool
from tests.factories.database import issued_version
from tests.processes import HOCBA

THCS = "25000201"
SO_CODE = "25"
SO_TAX = "2600999998"


# --- the URI ---------------------------------------------------------------------------------


def test_a_pkcs11_uri_names_the_token_the_key_and_the_module():
    key = parse_pkcs11_uri(
        "pkcs11:token=S%E1%BB%9F%20GD;object=MST:2600100202;type=private"
        "?module-path=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
        "/usr/lib/softhsm/libsofthsm2.so",
    )
    assert (key.token, key.label) == ("Sở GD", "MST:2600100202")
    assert key.module == "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
    assert parse_pkcs11_uri("pkcs11:token=T;object=K", "/lib.so").module == "/lib.so"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("/etc/hocba/seal.p12", "không phải URI PKCS#11"),
        ("pkcs11:token=T", "phải có token=… và object=…"),
        ("pkcs11:token=T;object=K?pin-value=1234", "mã PIN không được ghi trong URI"),
        ("pkcs11:token=T;object=K;serial=42", "“serial”"),
        ("pkcs11:token=T;object=K;type=cert", "type=private"),
    ],
)
def test_a_uri_that_cannot_name_one_key_is_refused_with_the_reason(uri, says):
    with pytest.raises(ValueError, match=says):
        parse_pkcs11_uri(uri, "/lib.so")


# --- keys configured, as a deployment has them ------------------------------------------------


@dataclasses.dataclass
class Configured:
    """A key the way a deployment holds it, and the certificate that must come out."""

    kind: str
    location: str
    secret: str
    certificate: x509.Certificate


def _p12(path: Path, key, cert: x509.Certificate, password: str) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"seal", key, cert, None, serialization.BestAvailableEncryption(password.encode())
        )
    )


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    """A CA of its own (standing in for a public CA), its OCSP responder running: pdfsig asks
    it. Nothing of it is the development PKI's."""
    with LoopbackServer(lambda e, s: [b""]) as probe:
        port = probe.port
    pki = create(tmp_path_factory.mktemp("ca"), ocsp_url=f"http://127.0.0.1:{port}/ocsp")
    with LoopbackServer(ocsp_app(pki), port=port):
        yield pki


def production_key(ca, kind: str, tax_code: str, name: str, folder: Path, label: str):  # type: ignore[no-untyped-def]
    """A new organisation key and certificate from `ca`, kept in a PKCS#12 file or on a token
    of its own with its own PIN (in the SoftHSM2 store this process has loaded)."""
    key, cert = ca.issue_org(tax_code, name)
    if kind == "p12":
        _p12(folder / f"{tax_code}.p12", key, cert, "mật-khẩu-tệp-p12")
        return Configured(kind, str(folder / "{tax_code}.p12"), "mật-khẩu-tệp-p12", cert)
    token = f"PROD-{label}"[:32]
    store = dataclasses.replace(DevPki.load(config.pki_dir()), pin="97531864")
    store.init_token(token)
    import_to_token(
        config.pkcs11_library(), str(store.softhsm_conf), token, store.pin, [(label, key, cert)]
    )
    return Configured(kind, f"pkcs11:token={token};object={label}", store.pin, cert)


@pytest.fixture
def production(settings, ca):
    """Settings as in production: no development PKI; trust named explicitly (`ca`)."""
    settings.DEV_PKI = False
    settings.TRUST_ANCHORS = [str(ca.path / "ca/root.pem")]
    settings.TRUST_INTERMEDIATES = [str(ca.path / "ca/issuing.pem")]
    settings.CRLS = [str(ca.crl_path)]
    settings.OCSP = False
    config.reset()
    yield settings
    config.reset()


def signer_certificate(pdf: bytes) -> x509.Certificate:
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    return x509.load_der_x509_certificate(signature.signer_cert.dump())


def pdfsig(pdf: bytes, root: Path, tmp_path: Path) -> str:
    certutil = require_tool("certutil")
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run([certutil, "-N", "-d", f"sql:{nss}", "--empty-password"], check=True)
    subprocess.run(
        [certutil, "-A", "-d", f"sql:{nss}", "-n", "ca", "-t", "CT,C,C", "-i",
         str(root)],
        check=True,
    )  # fmt: skip
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [require_tool("pdfsig"), "-nssdir", f"sql:{nss}", str(path)],
        capture_output=True,
        text=True,
    ).stdout


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["p12", "pkcs11"])
def test_a_school_seals_its_views_with_the_key_its_settings_name(
    demo, production, ca, tmp_path, kind
):
    version = issued_version()
    school = version.record.school
    key = production_key(ca, kind, school.tax_code, school.name, tmp_path, f"MST:{school.tax_code}")
    if kind == "p12":
        production.SEAL_P12, production.SEAL_P12_PASSWORD = key.location, key.secret
    else:
        # one setting for every school of the platform: the token and key named per school
        production.SEAL_PKCS11 = "pkcs11:token=PROD-MST:{tax_code};object=MST:{tax_code}"
        production.SEAL_PKCS11_PIN = key.secret
    Document.objects.filter(version=version).delete()

    report = seal_with_school_keys(None, [version])
    assert not report.failed and len(report.done) == 1
    pdf = read_pdf(report.done[0])
    assert signer_certificate(pdf) == key.certificate
    out = pdfsig(pdf, ca.path / "ca/root.pem", tmp_path)
    assert "Signature Field Name: HocBaSeal" in out
    assert f"Signer Certificate Common Name: {school.name}" in out
    assert "Signature is Valid." in out
    assert "Certificate is Trusted." in out


@pytest.mark.django_db
def test_in_production_the_development_token_never_seals(demo, production):
    version = issued_version()
    Document.objects.filter(version=version).delete()
    with pytest.raises(NoKey) as missing:
        seal_with_school_keys(None, [version])
    assert missing.value.code == "NO_SEAL_KEY"
    assert "HOCBA_SEAL_PKCS11 hoặc HOCBA_SEAL_P12" in missing.value.message
    assert not Document.objects.filter(version=version).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["p12", "pkcs11"])
def test_a_so_forwards_packages_sealed_with_the_key_its_settings_name(
    demo, production, ca, tmp_path, kind
):
    key = production_key(ca, kind, SO_TAX, "Sở Giáo dục và Đào tạo Phú Thọ", tmp_path, "SO-SEAL")
    production.WAREHOUSE_CODE = SO_CODE
    if kind == "p12":
        production.UPSTREAM_P12 = key.location.replace("{tax_code}", SO_TAX)
        production.UPSTREAM_P12_PASSWORD = key.secret
    else:
        production.UPSTREAM_PKCS11, production.UPSTREAM_PKCS11_PIN = key.location, key.secret
    version = issued_version()
    OutboxItem.objects.create(
        record_id=version.record.record_id,
        version=version.version,
        sender_code=SO_CODE,
        event=version.event,
        xml_sha256=version.xml_sha256,
        school_code=THCS,
        school_year=version.record.school_year.name,
    )

    package = pack(SO_CODE)
    assert package is not None and package.records == 1
    read = read_package(get(package.blob))
    assert read.seal_certificate == key.certificate
    assert (read.sender.kind, read.sender.code, read.sender.tax_code) == ("SO", SO_CODE, SO_TAX)


# --- the system check --------------------------------------------------------------------------


def test_a_production_start_without_a_seal_key_is_an_error(production):
    found = keys_configured()
    assert [m.id for m in found] == ["hocba.E104"]
    assert "HOCBA_SEAL_PKCS11" in found[0].msg and "HOCBA_DEV_PKI=1" in found[0].msg
    production.DEV_PKI = True
    assert keys_configured() == []


def test_a_warehouse_without_schools_needs_no_seal_key_but_a_forwarder_needs_its_own(production):
    production.WAREHOUSE_ENABLED = True
    assert keys_configured() == []
    production.WAREHOUSE_CODE = SO_CODE
    production.UPSTREAM_URL = "https://kho.moet.gov.vn/api/v1/warehouse"
    found = keys_configured()
    assert [m.id for m in found] == ["hocba.E105"]
    assert "HOCBA_UPSTREAM_PKCS11" in found[0].msg and "HOCBA_UPSTREAM_P12" in found[0].msg
    production.UPSTREAM_P12 = "/etc/hocba/so.p12"
    assert keys_configured() == []


def test_a_key_set_twice_or_named_by_a_bad_uri_is_an_error(production):
    production.SEAL_P12 = "/etc/hocba/{tax_code}.p12"
    production.SEAL_PKCS11 = "pkcs11:token=T;object=K"
    assert [m.id for m in keys_configured()] == ["hocba.E106"]
    production.SEAL_P12 = ""
    production.SEAL_PKCS11 = "pkcs11:token=T;object=K?pin-value=123456"
    found = keys_configured()
    assert [m.id for m in found] == ["hocba.E106"]
    assert "HOCBA_SEAL_PKCS11: mã PIN không được ghi trong URI" in found[0].msg


def hocba_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HOCBA_", "DJANGO_")) and k not in ("DATABASE_URL", "SOFTHSM2_CONF")
    }
    environment.update(HOCBA_DATA_DIR=str(tmp_path), HOCBA_SECRET_KEY="k" * 50, **env)
    return subprocess.run(
        [HOCBA, "check"], env=environment, capture_output=True, text=True, timeout=120
    )


def test_the_server_does_not_start_without_a_seal_key_outside_development(tmp_path):
    refused = hocba_check(tmp_path)
    assert refused.returncode != 0
    assert "hocba.E104" in refused.stderr
    assert hocba_check(tmp_path, HOCBA_DEV_PKI="1").returncode == 0
    configured = hocba_check(
        tmp_path,
        HOCBA_SEAL_PKCS11="pkcs11:token=HSM-{school};object=MST:{tax_code}",
        HOCBA_SEAL_PKCS11_PIN="123456",
    )
    assert configured.returncode == 0, configured.stderr
