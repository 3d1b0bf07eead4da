"""The signature profile of the record: XMLDSig with XAdES-BES signed properties.

- RSA-SHA256 or ECDSA-P256-SHA256, exclusive canonicalisation, SHA-256 digests;
- one Reference to the slot's target (`#mon-…`, `#thongtinhocba`, `#data`) and one to the
  signature's own SignedProperties (SigningTime + SigningCertificateV2);
- KeyInfo carries the signer's certificate;
- the signature is built in place, in its slot and outside the element it signs, then signed
  in two steps: `prepare` computes the SHA-256 of the canonical SignedInfo, someone holding the
  key signs it (file, token, remote service), `embed` inserts the value.

Pure (lxml + cryptography); `check` verifies one signature the same way.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import operator
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

from hocba import limits
from hocba.signing.caches import Bounded

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIGNED_PROPERTIES = "http://uri.etsi.org/01903#SignedProperties"
ID = "Id"


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def _xades(name: str) -> str:
    return f"{{{XADES}}}{name}"


def c14n(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def digest_b64(element: etree._Element) -> str:
    return binascii.b2a_base64(hashlib.sha256(c14n(element)).digest(), newline=False).decode()


_ID_VALUES = etree.XPath("descendant-or-self::*/@Id")


def ids_of(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every element carrying an `Id`, by value (more than one means a wrapping attempt)."""
    found: dict[str, list[etree._Element]] = {}
    for value in _ID_VALUES(root):  # type: ignore[union-attr]
        found.setdefault(str(value), []).append(value.getparent())
    return found


def signing_time_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Prepared:
    """A signature template in place in its document, waiting for its value."""

    signature: etree._Element
    digest: bytes
    """SHA-256 of the canonical SignedInfo: what the key holder signs."""
    algorithm: str


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _reference(parent: etree._Element, uri: str, digest: str, type_: str | None = None) -> None:
    attrs = {"URI": uri} if type_ is None else {"Type": type_, "URI": uri}
    reference = _sub(parent, _ds("Reference"), **attrs)
    transforms = _sub(reference, _ds("Transforms"))
    _sub(transforms, _ds("Transform"), Algorithm=EXC_C14N)
    _sub(reference, _ds("DigestMethod"), Algorithm=SHA256)
    _sub(reference, _ds("DigestValue"), digest)


def prepare(
    slot: etree._Element,
    target: etree._Element,
    certificate: x509.Certificate,
    signing_time: dt.datetime,
    signature_id: str,
    algorithm: str,
    target_digest: str | None = None,
) -> Prepared:
    """Append a signature template for `target` to `slot` and compute what must be signed."""
    target_id = target.get(ID)
    assert target_id is not None
    signature = etree.SubElement(slot, _ds("Signature"), {ID: signature_id}, nsmap={"ds": DS})
    signed_info = _sub(signature, _ds("SignedInfo"))
    _sub(signed_info, _ds("CanonicalizationMethod"), Algorithm=EXC_C14N)
    _sub(signed_info, _ds("SignatureMethod"), Algorithm=algorithm)
    _sub(signature, _ds("SignatureValue"), "")
    key_info = _sub(signature, _ds("KeyInfo"))
    x509_data = _sub(key_info, _ds("X509Data"))
    der = certificate.public_bytes(serialization.Encoding.DER)
    _sub(x509_data, _ds("X509Certificate"), base64.b64encode(der).decode())
    obj = _sub(signature, _ds("Object"))
    qualifying = etree.SubElement(
        obj, _xades("QualifyingProperties"), {"Target": f"#{signature_id}"}, nsmap={"xades": XADES}
    )
    properties_id = f"{signature_id}-sp"
    signed_properties = _sub(qualifying, _xades("SignedProperties"), **{ID: properties_id})
    ssp = _sub(signed_properties, _xades("SignedSignatureProperties"))
    _sub(ssp, _xades("SigningTime"), signing_time_text(signing_time))
    cert_digest = _sub(
        _sub(_sub(ssp, _xades("SigningCertificateV2")), _xades("Cert")), _xades("CertDigest")
    )
    _sub(cert_digest, _ds("DigestMethod"), Algorithm=SHA256)
    _sub(cert_digest, _ds("DigestValue"), base64.b64encode(hashlib.sha256(der).digest()).decode())
    _reference(signed_info, f"#{target_id}", target_digest or digest_b64(target))
    _reference(signed_info, f"#{properties_id}", digest_b64(signed_properties), SIGNED_PROPERTIES)
    return Prepared(signature, hashlib.sha256(c14n(signed_info)).digest(), algorithm)


def embed(prepared: Prepared, value: bytes) -> None:
    prepared.signature.find(_ds("SignatureValue")).text = base64.b64encode(value).decode()  # type: ignore[union-attr]


# --- checking ---------------------------------------------------------------------------------


@dataclass
class Checked:
    """What one signature says, and whether its cryptography holds."""

    target_id: str | None
    certificate: x509.Certificate | None
    signing_time: dt.datetime | None
    problem: str | None = None
    """None, or a code: MALFORMED_SIGNATURE, WRONG_TARGET, DUPLICATE_ID, DIGEST_MISMATCH,
    CERT_DIGEST_MISMATCH, SIGNATURE_INVALID."""


def _text(element: etree._Element | None) -> str:
    return "" if element is None or element.text is None else element.text


_CERTS: Bounded[str, tuple[x509.Certificate, str, Any, str]] = Bounded(limits.CERTIFICATES_CACHED)
"""Certificates known to chain to a trust anchor (`keep_certificate`), by their base64 text,
with the base64 SHA-256 of their DER, their public key (loading a public key costs more than
verifying with it) and the signature algorithm that key verifies; least recently used dropped."""
_NEW_CERTS: Bounded[str, tuple[x509.Certificate, str, Any, str]] = Bounded(
    limits.UNTRUSTED_CERTIFICATE_BYTES_CACHED,
    size_of=lambda entry: len(entry[0].tbs_certificate_bytes),
)
"""The same for certificates not known to chain to a trust anchor, by the size of their DER:
enough for the signatures of a few records to share them, never more (anyone can make new
certificates, and a parsed one can take tens of times its size in memory)."""


def keep_certificate(cert: x509.Certificate) -> None:
    """`cert`, handed out by `certificate_of` or `check`, chains to a trust anchor: keep it."""
    for text, entry in _NEW_CERTS.items():
        if entry[0] is cert:
            _CERTS.put(text, entry)
            return


def certificate_of(text: str) -> x509.Certificate:
    """The certificate whose base64 DER is `text` (ValueError when it is not one)."""
    return _certificate(text)[0]


def _certificate(text: str) -> tuple[x509.Certificate, str, Any, str]:
    found = _CERTS.get(text) or _NEW_CERTS.get(text)
    if found is None:
        der = base64.b64decode(text)
        cert = x509.load_der_x509_certificate(der)
        key = cert.public_key()
        found = (
            cert,
            base64.b64encode(hashlib.sha256(der).digest()).decode(),
            key,
            RSA_SHA256
            if isinstance(key, rsa.RSAPublicKey)
            else ECDSA_SHA256
            if isinstance(key, ec.EllipticCurvePublicKey)
            else "",
        )
        _NEW_CERTS.put(text, found)
    return found


_SHAPE_SPEC: tuple[tuple[str, int, str], ...] = (
    # (element, number of children, name used below); the pre-order sequence of elements with
    # their child counts fixes the tree exactly, so one comparison checks the whole structure
    (_ds("Signature"), 4, "signature"),
    (_ds("SignedInfo"), 4, "signed_info"),
    (_ds("CanonicalizationMethod"), 0, "canon"),
    (_ds("SignatureMethod"), 0, "method"),
    (_ds("Reference"), 3, "target_ref"),
    (_ds("Transforms"), 1, ""),
    (_ds("Transform"), 0, "target_transform"),
    (_ds("DigestMethod"), 0, "target_digest_method"),
    (_ds("DigestValue"), 0, "target_digest"),
    (_ds("Reference"), 3, "props_ref"),
    (_ds("Transforms"), 1, ""),
    (_ds("Transform"), 0, "props_transform"),
    (_ds("DigestMethod"), 0, "props_digest_method"),
    (_ds("DigestValue"), 0, "props_digest"),
    (_ds("SignatureValue"), 0, "value"),
    (_ds("KeyInfo"), 1, ""),
    (_ds("X509Data"), 1, ""),
    (_ds("X509Certificate"), 0, "certificate"),
    (_ds("Object"), 1, ""),
    (_xades("QualifyingProperties"), 1, ""),
    (_xades("SignedProperties"), 1, "properties"),
    (_xades("SignedSignatureProperties"), 2, ""),
    (_xades("SigningTime"), 0, "time"),
    (_xades("SigningCertificateV2"), 1, ""),
    (_xades("Cert"), 1, ""),
    (_xades("CertDigest"), 2, ""),
    (_ds("DigestMethod"), 0, "cert_digest_method"),
    (_ds("DigestValue"), 0, "cert_digest"),
)
SHAPE = tuple((tag, children) for tag, children, _ in _SHAPE_SPEC)
"""The one structure a signature of this profile has (comments and extra elements break it)."""
_TAGS = tuple(tag for tag, _, _ in _SHAPE_SPEC)
_CHILDREN = tuple(children for _, children, _ in _SHAPE_SPEC)
_TAG = operator.attrgetter("tag")
_AT = {name: index for index, (_, _, name) in enumerate(_SHAPE_SPEC) if name}
(
    _SIGNED_INFO,
    _CANON,
    _METHOD,
    _TARGET_REF,
    _TARGET_TRANSFORM,
    _TARGET_DIGEST_METHOD,
    _TARGET_DIGEST,
    _PROPS_REF,
    _PROPS_TRANSFORM,
    _PROPS_DIGEST_METHOD,
    _PROPS_DIGEST,
    _VALUE,
    _CERTIFICATE,
    _PROPERTIES,
    _TIME,
    _CERT_DIGEST_METHOD,
    _CERT_DIGEST,
) = (
    _AT[name]
    for name in (
        "signed_info",
        "canon",
        "method",
        "target_ref",
        "target_transform",
        "target_digest_method",
        "target_digest",
        "props_ref",
        "props_transform",
        "props_digest_method",
        "props_digest",
        "value",
        "certificate",
        "properties",
        "time",
        "cert_digest_method",
        "cert_digest",
    )
)


def check(
    signature: etree._Element,
    ids: dict[str, list[etree._Element]],
    digest_cache: dict[int, str] | None = None,
) -> Checked:
    """Verify one ds:Signature of the document whose `Id` map is `ids`."""
    cache = {} if digest_cache is None else digest_cache
    nodes = list(signature.iter())
    if tuple(map(len, nodes)) != _CHILDREN or tuple(map(_TAG, nodes)) != _TAGS:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    value_text = _text(nodes[_VALUE])
    cert_text = _text(nodes[_CERTIFICATE])
    if not value_text or not cert_text:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    try:
        certificate, cert_digest_b64, public_key, key_algorithm = _certificate(cert_text)
        value = binascii.a2b_base64(value_text)
    except ValueError:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    algorithm = nodes[_METHOD].get("Algorithm", "")
    if (
        nodes[_CANON].get("Algorithm") != EXC_C14N
        or algorithm not in (RSA_SHA256, ECDSA_SHA256)
        or nodes[_TARGET_TRANSFORM].get("Algorithm") != EXC_C14N
        or nodes[_PROPS_TRANSFORM].get("Algorithm") != EXC_C14N
        or nodes[_TARGET_DIGEST_METHOD].get("Algorithm") != SHA256
        or nodes[_PROPS_DIGEST_METHOD].get("Algorithm") != SHA256
        or nodes[_CERT_DIGEST_METHOD].get("Algorithm") != SHA256
    ):
        return Checked(None, certificate, None, "MALFORMED_SIGNATURE")
    target_uri = nodes[_TARGET_REF].get("URI", "")
    target_id = target_uri[1:] if target_uri.startswith("#") else None
    properties = nodes[_PROPERTIES]
    try:
        signing_time = dt.datetime.fromisoformat(_text(nodes[_TIME]).replace("Z", "+00:00"))
    except ValueError:
        return Checked(target_id, certificate, None, "MALFORMED_SIGNATURE")
    props_ref = nodes[_PROPS_REF]
    if (
        props_ref.get("Type") != SIGNED_PROPERTIES
        or props_ref.get("URI") != f"#{properties.get(ID)}"
    ):
        return Checked(target_id, certificate, signing_time, "WRONG_TARGET")
    if target_id is None:
        return Checked(None, certificate, signing_time, "WRONG_TARGET")
    found = ids.get(target_id, [])
    if len(found) != 1 or len(ids.get(properties.get(ID, ""), [])) != 1:
        problem = "DUPLICATE_ID" if found else "WRONG_TARGET"
        return Checked(target_id, certificate, signing_time, problem)
    target = found[0]
    key = id(target)
    if key not in cache:
        cache[key] = digest_b64(target)
    if _text(nodes[_TARGET_DIGEST]) != cache[key] or _text(nodes[_PROPS_DIGEST]) != digest_b64(
        properties
    ):
        return Checked(target_id, certificate, signing_time, "DIGEST_MISMATCH")
    if _text(nodes[_CERT_DIGEST]) != cert_digest_b64:
        return Checked(target_id, certificate, signing_time, "CERT_DIGEST_MISMATCH")
    data = c14n(nodes[_SIGNED_INFO])
    try:
        if algorithm != key_algorithm:
            return Checked(target_id, certificate, signing_time, "SIGNATURE_INVALID")
        if algorithm == RSA_SHA256:
            public_key.verify(value, data, _PKCS1, _SHA256_HASH)
        else:
            half = len(value) // 2
            der_sig = utils.encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            public_key.verify(der_sig, data, _ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return Checked(target_id, certificate, signing_time, "SIGNATURE_INVALID")
    return Checked(target_id, certificate, signing_time)


_PKCS1 = padding.PKCS1v15()
_SHA256_HASH = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256_HASH)
