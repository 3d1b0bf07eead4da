"""The seal on a hand-over's manifest: a detached CMS signature (`manifest.json.p7s`, DER) by
the operator's organisation key, which standard tools check on their own:

    openssl cms -verify -binary -inform DER -in manifest.json.p7s -content manifest.json \\
        -CAfile root.pem -purpose any -out /dev/null

The signature has no signed attributes (no signing time), so the same manifest sealed by the
same RSA key gives the same bytes: a second export of an unchanged instance is the same, seal
included. (An ECDSA key draws a fresh random number for each signature: its seals differ, and
each one verifies.)

Which key seals (`operator_signer`): a school's organisation key when the operator names the
school (`--school`); else the Sở's forwarding key (`HOCBA_UPSTREAM_PKCS11` / `_P12`); else the
schools' key setting when it names one key for the whole platform (no `{school}` in it); in
development (`HOCBA_DEV_PKI=1`) without these, a development operator key of the development PKI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from django.conf import settings

from hocba.organizations.models import School
from hocba.signing import config, keys
from hocba.signing.certs import TrustStore, common_name, valid_at
from hocba.signing.revocation import Status
from hocba.signing.signers import Pkcs12Signer, Signer

OPERATOR = "handover-operator"
"""The development operator key's name in the development PKI."""


class SealError(Exception):
    """The manifest's seal is missing, broken or not from a trusted key; `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def operator_signer(school_code: str = "") -> Signer:
    """The key that seals this instance's hand-over (see the module's docstring)."""
    if school_code:
        school = School.objects.filter(code=school_code).first()
        if school is None:
            raise SealError("UNKNOWN_SCHOOL", f"Không có trường mã {school_code}")
        return keys.school_signer(school)
    forwarding, seal = keys.forwarding_setting(), keys.seal_setting()
    if forwarding.configured:
        return forwarding.open()
    if seal.configured and "{" not in seal.pkcs11 + seal.p12:
        return seal.open()
    if settings.DEV_PKI:
        return _development_operator()
    raise keys.NoKey(
        "Chưa có khóa của đơn vị vận hành để niêm phong bản bàn giao: chọn trường bằng --school, "
        "hoặc cấu hình HOCBA_UPSTREAM_PKCS11 / HOCBA_UPSTREAM_P12"
    )


def _development_operator() -> Signer:
    from hocba.signing.dev.pki import DevPki, create

    path = config.pki_dir()
    pki = DevPki.load(path) if (path / "pki.json").exists() else create(path)
    orgs = pki.index.setdefault("orgs", {})
    if OPERATOR not in orgs:
        key, cert = pki.issue_org("0000000000", "hocba Development Operator")
        orgs[OPERATOR] = {"p12": str(pki.write_p12("orgs", OPERATOR, key, cert))}
        pki.save()
    return Pkcs12Signer.from_file(Path(orgs[OPERATOR]["p12"]), pki.pin)


def fingerprint(cert: x509.Certificate) -> str:
    """The SHA-256 of the certificate (DER), lower-case hex: how an operator names the
    certificate expected to seal a hand-over."""
    return cert.fingerprint(hashes.SHA256()).hex()


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def seal(content: bytes, signer: Signer) -> bytes:
    """A detached CMS SignedData over `content` (DER), with the signer's certificate and the
    intermediates that chain it."""
    digest = hashlib.sha256(content).digest()
    [value] = signer.sign_digests([digest])
    certificate = signer.certificate
    if isinstance(certificate.public_key(), rsa.RSAPublicKey):
        algorithm = "rsassa_pkcs1v15"
    else:
        # XMLDSig's r‖s back to the DER that CMS wants
        half = len(value) // 2
        r, s = int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
        value = utils.encode_dss_signature(r, s)
        algorithm = "sha256_ecdsa"
    chain = config.trust_store().chain(certificate) or [certificate]
    carried = [c for c in chain if c.issuer != c.subject] or [certificate]
    signed = _asn1(certificate)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": signed.issuer, "serial_number": signed.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": algorithm}),
            "signature": value,
        }
    )
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data"},
            "certificates": [_asn1(c) for c in carried],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


def check(content: bytes, signature: bytes, trust: TrustStore | None = None) -> x509.Certificate:
    """The certificate that sealed `content`, when `signature` is a valid detached CMS
    signature of it by a key this instance trusts now (SealError otherwise)."""
    try:
        info = cms.ContentInfo.load(signature)
        signed_data = info["content"]
        if info["content_type"].native != "signed_data" or len(signed_data["signer_infos"]) != 1:
            raise ValueError("not one signer")
        signer_info = signed_data["signer_infos"][0]
        if signer_info["signed_attrs"].native:
            raise ValueError("signed attributes")
        if signer_info["digest_algorithm"]["algorithm"].native != "sha256":
            raise ValueError("digest")
        sid = signer_info["sid"].chosen
        certificates = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in signed_data["certificates"] or []
        ]
        value = signer_info["signature"].native
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SealError(
            "MANIFEST_SIGNATURE_INVALID", "Chữ ký của bản kê không đọc được (CMS tách rời, DER)"
        ) from None
    signer = next(
        (
            c
            for c in certificates
            if c.serial_number == sid["serial_number"].native
            and c.issuer.public_bytes() == sid["issuer"].dump()
        ),
        None,
    )
    if signer is None:
        raise SealError("MANIFEST_SIGNATURE_INVALID", "Chữ ký của bản kê không kèm chứng thư số")
    key = signer.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, content, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(value, content, ec.ECDSA(hashes.SHA256()))
        else:
            raise InvalidSignature
    except InvalidSignature:
        raise SealError(
            "MANIFEST_SIGNATURE_INVALID",
            "Chữ ký của bản kê không khớp nội dung: bản kê đã bị sửa sau khi niêm phong",
        ) from None
    base = trust or config.trust_store()
    store = TrustStore(list(base.roots), [*base.intermediates, *certificates])
    chain = store.chain(signer)
    if chain is None or not valid_at(signer, dt.datetime.now(dt.UTC)):
        raise SealError(
            "MANIFEST_SIGNER_UNTRUSTED",
            f"Bản kê được niêm phong bởi “{common_name(signer)}”, chứng thư số không được hệ "
            "thống này tin cậy hoặc đã hết hạn",
        )
    issuer = chain[1] if len(chain) > 1 else signer
    if config.revocation_checker().status(signer, issuer).status is Status.REVOKED:
        raise SealError(
            "MANIFEST_SIGNER_REVOKED",
            f"Chứng thư số đã niêm phong bản kê (“{common_name(signer)}”) đã bị thu hồi",
        )
    return signer
