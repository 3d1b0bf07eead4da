"""A development PKI: root CA → issuing CA → a personal certificate for each staff member (the
subject names the person and carries the 12-digit personal ID) and an organisation certificate
for each school (the subject carries "MST:<tax code>"); a CRL, revocation for the OCSP
responder, keys as PKCS#12 files and in SoftHSM2 tokens with PINs.

Real deployments configure trust anchors (Ban Cơ yếu Chính phủ, public CAs) instead; nothing
here is used outside development, tests and the demo.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
DEFAULT_PIN = "123456"
SO_PIN = "12345678"
DEFAULT_OCSP_URL = "http://127.0.0.1:8089/ocsp"
SOFTHSM_LIBRARY = "/usr/lib/softhsm/libsofthsm2.so"
_NOW = dt.datetime.now


def _name(*parts: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in parts])


def new_key(kind: str = "rsa") -> PrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_key(data: bytes) -> PrivateKey:
    # Keys this PKI generated itself: skip cryptography's slow RSA consistency check.
    key = serialization.load_pem_private_key(data, None, unsafe_skip_rsa_key_validation=True)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return key


@dataclass
class DevPki:
    path: Path
    root: x509.Certificate
    root_key: PrivateKey
    issuing: x509.Certificate
    issuing_key: PrivateKey
    ocsp_url: str
    pin: str = DEFAULT_PIN
    index: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    # --- loading and saving ------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> DevPki:
        meta = json.loads((path / "pki.json").read_text())
        return cls(
            path=path,
            root=x509.load_pem_x509_certificate((path / "ca/root.pem").read_bytes()),
            root_key=load_key((path / "ca/root.key").read_bytes()),
            issuing=x509.load_pem_x509_certificate((path / "ca/issuing.pem").read_bytes()),
            issuing_key=load_key((path / "ca/issuing.key").read_bytes()),
            ocsp_url=meta["ocsp_url"],
            pin=meta["pin"],
            index=meta.get("index", {"people": {}, "orgs": {}, "tokens": {}, "revoked": {}}),
        )

    def save(self) -> None:
        meta = {"ocsp_url": self.ocsp_url, "pin": self.pin, "index": self.index}
        (self.path / "pki.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))

    @property
    def softhsm_conf(self) -> Path:
        return self.path / "softhsm2.conf"

    @property
    def crl_path(self) -> Path:
        return self.path / "crl" / "issuing.crl"

    # --- issuing -----------------------------------------------------------------------------

    def _issue(
        self,
        subject: x509.Name,
        key: PrivateKey,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        ca: bool = False,
        issuer: tuple[x509.Certificate, PrivateKey] | None = None,
    ) -> x509.Certificate:
        now = _NOW(dt.UTC)
        issuer_cert, issuer_key = issuer or (self.issuing, self.issuing_key)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()), False
            )
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
            )
        else:
            builder = (
                builder.add_extension(
                    x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                    critical=True,
                )
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
                .add_extension(
                    x509.AuthorityInformationAccess(
                        [
                            x509.AccessDescription(
                                x509.oid.AuthorityInformationAccessOID.OCSP,
                                x509.UniformResourceIdentifier(self.ocsp_url),
                            )
                        ]
                    ),
                    False,
                )
            )
        return builder.sign(issuer_key, hashes.SHA256())

    def issue_person(
        self,
        personal_id: str,
        full_name: str,
        key: PrivateKey | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> tuple[PrivateKey, x509.Certificate]:
        key = key or new_key()
        subject = _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.COMMON_NAME, full_name),
            (NameOID.USER_ID, f"CCCD:{personal_id}"),
        )
        return key, self._issue(subject, key, not_before, not_after)

    def issue_org(
        self, tax_code: str, name: str, key: PrivateKey | None = None
    ) -> tuple[PrivateKey, x509.Certificate]:
        key = key or new_key()
        subject = _name(
            (NameOID.COUNTRY_NAME, "VN"),
            (NameOID.ORGANIZATION_NAME, name),
            (NameOID.COMMON_NAME, name),
            (NameOID.USER_ID, f"MST:{tax_code}"),
        )
        return key, self._issue(subject, key)

    def issue_tsa(self, name: str = "hocba Development TSA") -> tuple[PrivateKey, x509.Certificate]:
        """A time-stamping authority's certificate (extended key usage timeStamping, critical,
        as RFC 3161 requires)."""
        key = new_key()
        now = _NOW(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name((NameOID.COUNTRY_NAME, "VN"), (NameOID.COMMON_NAME, name)))
            .issuer_name(self.issuing.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3 * 365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuing.public_key()),
                False,
            )
            .sign(self.issuing_key, hashes.SHA256())
        )
        return key, cert

    def write_p12(self, kind: str, ident: str, key: PrivateKey, cert: x509.Certificate) -> Path:
        folder = self.path / kind
        folder.mkdir(parents=True, exist_ok=True)
        safe = ident.replace(":", "_")
        p12 = pkcs12.serialize_key_and_certificates(
            safe.encode(),
            key,
            cert,
            [self.issuing, self.root],
            serialization.BestAvailableEncryption(self.pin.encode()),
        )
        (folder / f"{safe}.p12").write_bytes(p12)
        (folder / f"{safe}.pem").write_bytes(_pem(cert))
        return folder / f"{safe}.p12"

    # --- revocation --------------------------------------------------------------------------

    def revoke(
        self,
        cert: x509.Certificate,
        when: dt.datetime | None = None,
        reason: x509.ReasonFlags | None = None,
    ) -> None:
        """Revoke `cert` from `when` (now by default), for `reason` (none given by default: a
        verifier then trusts no signature of the key, whatever its signing time)."""
        revoked = self.index.setdefault("revoked", {})
        entry = {"at": (when or _NOW(dt.UTC)).isoformat()}
        if reason is not None:
            entry["reason"] = reason.value
        revoked[str(cert.serial_number)] = entry
        self.save()
        self.write_crl()

    def revoked_serials(self) -> dict[int, dt.datetime]:
        return {serial: at for serial, (at, _reason) in self.revocations().items()}

    def revocations(self) -> dict[int, tuple[dt.datetime, x509.ReasonFlags | None]]:
        """Each revoked serial number with its revocation time and reason."""
        return {
            int(serial): (
                dt.datetime.fromisoformat(info["at"]),
                x509.ReasonFlags(info["reason"]) if info.get("reason") else None,
            )
            for serial, info in self.index.get("revoked", {}).items()
        }

    def write_crl(self) -> None:
        now = _NOW(dt.UTC)
        # each CRL numbered after the one before, by the time it is written in microseconds (a
        # verifier refuses a CRL older than one it has read: a replayed copy)
        number = int(now.timestamp() * 1_000_000)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.issuing.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=7))
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        for serial, (at, reason) in self.revocations().items():
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
            if reason is not None:
                entry = entry.add_extension(x509.CRLReason(reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        crl = builder.sign(self.issuing_key, hashes.SHA256())
        self.crl_path.parent.mkdir(parents=True, exist_ok=True)
        # replaced in one step: a running server reading it never sees half a file
        partial = self.crl_path.with_suffix(".crl.tmp")
        partial.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        partial.replace(self.crl_path)

    # --- SoftHSM2 tokens ---------------------------------------------------------------------

    def init_token(self, label: str) -> None:
        tokens = self.path / "softhsm"
        tokens.mkdir(parents=True, exist_ok=True)
        if not self.softhsm_conf.exists():
            self.softhsm_conf.write_text(
                f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
            )
        tool = shutil.which("softhsm2-util")
        if tool is None:
            raise RuntimeError("softhsm2-util is not installed (Debian package softhsm2)")
        subprocess.run(  # noqa: S603 - fixed arguments, our own files
            [
                tool,
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                self.pin,
                "--so-pin",
                SO_PIN,
            ],
            env={**os.environ, "SOFTHSM2_CONF": str(self.softhsm_conf)},
            check=True,
            capture_output=True,
        )
        self.index.setdefault("tokens", {})[label] = {"pin": self.pin}


def create(path: Path, ocsp_url: str = DEFAULT_OCSP_URL, pin: str = DEFAULT_PIN) -> DevPki:
    """A new root and issuing CA in `path` (which must not hold a PKI yet)."""
    (path / "ca").mkdir(parents=True, exist_ok=True)
    now = _NOW(dt.UTC)
    root_key = new_key()
    root_name = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.ORGANIZATION_NAME, "hocba dev"),
        (NameOID.COMMON_NAME, "hocba Development Root CA"),
    )
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=20 * 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    pki = DevPki(
        path,
        root,
        root_key,
        root,
        root_key,
        ocsp_url,
        pin,
        {"people": {}, "orgs": {}, "tokens": {}, "revoked": {}},
    )
    issuing_key = new_key()
    issuing_name = _name(
        (NameOID.COUNTRY_NAME, "VN"),
        (NameOID.ORGANIZATION_NAME, "hocba dev"),
        (NameOID.COMMON_NAME, "hocba Development Issuing CA"),
    )
    pki.issuing = pki._issue(
        issuing_name,
        issuing_key,
        ca=True,
        issuer=(root, root_key),
        not_after=now + dt.timedelta(days=10 * 365),
    )
    pki.issuing_key = issuing_key
    (path / "ca/root.pem").write_bytes(_pem(root))
    (path / "ca/root.key").write_bytes(_key_pem(root_key))
    (path / "ca/issuing.pem").write_bytes(_pem(pki.issuing))
    (path / "ca/issuing.key").write_bytes(_key_pem(issuing_key))
    for key_file in ("ca/root.key", "ca/issuing.key"):
        (path / key_file).chmod(0o600)
    pki.write_crl()
    pki.save()
    return pki
