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
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from lxml import etree

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
    return base64.b64encode(hashlib.sha256(c14n(element)).digest()).decode()


_WITH_ID = etree.XPath("//*[@Id]")


def ids_of(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every element carrying an `Id`, by value (more than one means a wrapping attempt)."""
    found: dict[str, list[etree._Element]] = {}
    for element in _WITH_ID(root):  # type: ignore[union-attr]
        found.setdefault(element.get(ID), []).append(element)
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


_CERTS: dict[str, tuple[x509.Certificate, str, object]] = {}
"""Certificates by their base64 text, with the base64 SHA-256 of their DER and their public
key (loading a public key costs more than verifying with it), bounded."""


def _certificate(text: str) -> tuple[x509.Certificate, str, object]:
    found = _CERTS.get(text)
    if found is None:
        der = base64.b64decode(text)
        cert = x509.load_der_x509_certificate(der)
        found = (
            cert,
            base64.b64encode(hashlib.sha256(der).digest()).decode(),
            cert.public_key(),
        )
        if len(_CERTS) > 10_000:
            _CERTS.clear()
        _CERTS[text] = found
    return found


def _kids(element: etree._Element | None) -> dict[str, list[etree._Element]]:
    """Children by tag (one pass in C; lxml's path lookups are Python and cost more)."""
    found: dict[str, list[etree._Element]] = {}
    if element is not None:
        for child in element:
            found.setdefault(child.tag, []).append(child)  # type: ignore[arg-type]
    return found


def _one(kids: dict[str, list[etree._Element]], tag: str) -> etree._Element | None:
    items = kids.get(tag)
    return items[0] if items else None


_SIGNED_INFO, _VALUE, _KEY_INFO, _OBJECT = (
    _ds("SignedInfo"),
    _ds("SignatureValue"),
    _ds("KeyInfo"),
    _ds("Object"),
)
_X509_DATA, _X509_CERT = _ds("X509Data"), _ds("X509Certificate")
_CANON, _METHOD, _REFERENCE = (
    _ds("CanonicalizationMethod"),
    _ds("SignatureMethod"),
    _ds("Reference"),
)
_TRANSFORMS, _TRANSFORM, _DIGEST_METHOD, _DIGEST_VALUE = (
    _ds("Transforms"),
    _ds("Transform"),
    _ds("DigestMethod"),
    _ds("DigestValue"),
)
_QP, _SP, _SSP = (
    _xades("QualifyingProperties"),
    _xades("SignedProperties"),
    _xades("SignedSignatureProperties"),
)
_TIME, _SCV2, _CERT, _CERT_DIGEST = (
    _xades("SigningTime"),
    _xades("SigningCertificateV2"),
    _xades("Cert"),
    _xades("CertDigest"),
)


def _path(element: etree._Element | None, *tags: str) -> etree._Element | None:
    for tag in tags:
        if element is None:
            return None
        element = next(element.iterchildren(tag), None)
    return element


def check(
    signature: etree._Element,
    ids: dict[str, list[etree._Element]],
    digest_cache: dict[int, str] | None = None,
) -> Checked:
    """Verify one ds:Signature of the document whose `Id` map is `ids`."""
    cache = {} if digest_cache is None else digest_cache
    top = _kids(signature)
    signed_info = _one(top, _SIGNED_INFO)
    value_text = _text(_one(top, _VALUE))
    cert_text = _text(_path(_one(top, _KEY_INFO), _X509_DATA, _X509_CERT))
    if signed_info is None or not value_text or not cert_text:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    try:
        certificate, cert_digest_b64, public_key = _certificate(cert_text)
        value = base64.b64decode(value_text)
    except ValueError:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    info = _kids(signed_info)
    method = _one(info, _METHOD)
    canon = _one(info, _CANON)
    references = info.get(_REFERENCE, [])
    algorithm = "" if method is None else method.get("Algorithm", "")
    if (
        canon is None
        or canon.get("Algorithm") != EXC_C14N
        or len(references) != 2
        or algorithm not in (RSA_SHA256, ECDSA_SHA256)
    ):
        return Checked(None, certificate, None, "MALFORMED_SIGNATURE")
    target_ref, props_ref = references
    target_uri = target_ref.get("URI", "")
    target_id = target_uri[1:] if target_uri.startswith("#") else None
    properties = _path(_one(top, _OBJECT), _QP, _SP)
    ssp = _path(properties, _SSP)
    time_text = _text(_path(ssp, _TIME))
    try:
        signing_time = dt.datetime.fromisoformat(time_text.replace("Z", "+00:00"))
    except ValueError:
        return Checked(target_id, certificate, None, "MALFORMED_SIGNATURE")
    if (
        properties is None
        or props_ref.get("Type") != SIGNED_PROPERTIES
        or props_ref.get("URI") != f"#{properties.get(ID)}"
    ):
        return Checked(target_id, certificate, signing_time, "WRONG_TARGET")
    digests = []
    for reference in references:
        parts = _kids(reference)
        transforms = [
            t.get("Algorithm") for t in _kids(_one(parts, _TRANSFORMS)).get(_TRANSFORM, [])
        ]
        digest_method = _one(parts, _DIGEST_METHOD)
        if (
            transforms != [EXC_C14N]
            or digest_method is None
            or digest_method.get("Algorithm") != SHA256
        ):
            return Checked(target_id, certificate, signing_time, "MALFORMED_SIGNATURE")
        digests.append(_text(_one(parts, _DIGEST_VALUE)))
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
    if digests[0] != cache[key] or digests[1] != digest_b64(properties):
        return Checked(target_id, certificate, signing_time, "DIGEST_MISMATCH")
    if _text(_path(ssp, _SCV2, _CERT, _CERT_DIGEST, _DIGEST_VALUE)) != cert_digest_b64:
        return Checked(target_id, certificate, signing_time, "CERT_DIGEST_MISMATCH")
    data = c14n(signed_info)
    try:
        if isinstance(public_key, rsa.RSAPublicKey) and algorithm == RSA_SHA256:
            public_key.verify(value, data, _PKCS1, _SHA256_HASH)
        elif isinstance(public_key, ec.EllipticCurvePublicKey) and algorithm == ECDSA_SHA256:
            half = len(value) // 2
            der_sig = utils.encode_dss_signature(
                int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
            )
            public_key.verify(der_sig, data, ec.ECDSA(hashes.SHA256()))
        else:
            return Checked(target_id, certificate, signing_time, "SIGNATURE_INVALID")
    except (InvalidSignature, ValueError):
        return Checked(target_id, certificate, signing_time, "SIGNATURE_INVALID")
    return Checked(target_id, certificate, signing_time)


_PKCS1 = padding.PKCS1v15()
_SHA256_HASH = hashes.SHA256()
