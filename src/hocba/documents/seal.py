"""Sealing the printable view: a PAdES signature with the school's organisation certificate.

pyHanko builds the CMS signature and the incremental update; the signature value itself comes
from the project's own signers (`hocba.signing.signers`: PKCS#12 file, PKCS#11 token, remote
CSC service), so the seal uses the same key, held the same way, as the seal on the XML. The key
stays loaded for a whole batch and the space for the signature is reserved up front, so pyHanko
never signs twice (see performance-notes.md).

PAdES B-B by default; B-LT when a time-stamping authority is configured (the signature is
time-stamped and the certificates' revocation answers are embedded).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from asn1crypto import algos, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import attributes, fields, signers
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_cms import SignedAttributeProviderSpec
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hocba.signing.profile import ECDSA_SHA256
from hocba.signing.signers import Signer

FIELD = "HocBaSeal"
RESERVED = 16_384
"""Bytes kept for the CMS signature (certificates, and in B-LT the time stamp): enough for a
chain of three RSA-4096 certificates and a time-stamp token."""
RESERVED_LT = 65_536
"""With embedded revocation answers the signature grows; the DSS goes in its own update."""


class _SealWriter(IncrementalPdfFileWriter):
    """The incremental update that carries the seal, leaving the document's metadata as drawn.

    pyHanko would set the modification date in the Info dictionary and in the XMP packet, which
    means parsing and re-serialising the XMP on every write: a quarter of the cost of a seal. The
    seal adds a signature, not content; the view keeps the date it was drawn with (the time of
    the school's seal in the XML), and Info and XMP stay in step as PDF/A requires.
    """

    def _update_meta(self) -> None:
        return None


def asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _SigningCertificate(attributes.SigningCertificateV2Provider):
    """The signing-certificate-v2 attribute, built once per key.

    asn1crypto re-encodes a structure built in Python every time it is written out (several
    times per signature); one decoded from bytes is written as those bytes. Building it once and
    re-reading it halves the cost of a seal.
    """

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        super().__init__(signing_cert)
        built = as_signing_certificate_v2(signing_cert)
        self._value = tsp.SigningCertificateV2.load(built.dump())

    async def build_attr_value(self, dry_run: bool = False) -> tsp.SigningCertificateV2:
        return self._value


class _PadesAttributes(SignedAttributeProviderSpec):
    """PAdES signed attributes: besides content type and message digest (added by pyHanko),
    only signing-certificate-v2; the signing time is the signature dictionary's /M."""

    def __init__(self, signing_cert: asn1_x509.Certificate) -> None:
        self._provider = _SigningCertificate(signing_cert)

    def signed_attr_providers(
        self, data_digest: bytes, digest_algorithm: str
    ) -> Iterator[attributes.CMSAttributeProvider]:
        yield self._provider


class _PadesSigner(signers.Signer):
    """pyHanko's signer interface over one of the project's signers."""

    def __init__(self, signer: Signer, chain: Sequence[x509.Certificate]) -> None:
        self._signer = signer
        self._ecdsa = signer.algorithm == ECDSA_SHA256
        mechanism = "sha256_ecdsa" if self._ecdsa else "sha256_rsa"
        certificate = asn1_certificate(signer.certificate)
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([asn1_certificate(c) for c in chain]),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=False,
        )
        self.signed_attr_prov_spec = _PadesAttributes(certificate)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"unsupported digest {digest_algorithm}")
        value = self._signer.sign_digests([hashlib.sha256(data).digest()])[0]
        if self._ecdsa:
            half = len(value) // 2
            value = encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
        return value


@dataclass
class Sealer:
    """Seals PDFs with one organisation certificate; keep one per batch."""

    signer: Signer
    chain: Sequence[x509.Certificate] = ()
    """Issuing CA certificates to embed (not the root)."""
    school_name: str = ""
    timestamper: TimeStamper | None = None
    validation_context: ValidationContext | None = None
    """With a time stamper: where revocation answers come from (B-LT)."""

    def __post_init__(self) -> None:
        self._pades = _PadesSigner(self.signer, self.chain)

    @property
    def level(self) -> str:
        return "B-LT" if self.timestamper is not None else "B-B"

    def seal(self, pdf: bytes) -> bytes:
        writer = _SealWriter(io.BytesIO(pdf), strict=False)
        reserved = RESERVED_LT if self.level == "B-LT" else RESERVED
        out = self._pdf_signer.sign_pdf(writer, bytes_reserved=reserved)
        data: bytes = out.getvalue()
        return data

    @cached_property
    def _pdf_signer(self) -> signers.PdfSigner:
        long_term = self.level == "B-LT"
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason="Phát hành học bạ số",
            location=self.school_name or None,
            embed_validation_info=long_term,
            validation_context=self.validation_context if long_term else None,
            use_pades_lta=False,
        )
        return signers.PdfSigner(meta, signer=self._pades, timestamper=self.timestamper)
