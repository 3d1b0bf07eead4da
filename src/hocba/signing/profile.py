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
import re
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
    values: Any = _ID_VALUES(root)  # attribute values: strings that know their element
    for value in values:
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


def claims(signature: etree._Element) -> tuple[str, str]:
    """What a ds:Signature says of itself, as written and unverified: the base64 text of the
    certificate it carries and its signing time ("" for either when it has none)."""
    certificate = next(signature.iter(_X509_CERTIFICATE), None)
    signing_time = next(signature.iter(_SIGNING_TIME), None)
    return (
        "" if certificate is None else certificate.text or "",
        "" if signing_time is None else signing_time.text or "",
    )


_X509_CERTIFICATE = _ds("X509Certificate")
_SIGNING_TIME = _xades("SigningTime")


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


def _exact_signature() -> re.Pattern[str]:
    """The one serialisation a signature of this profile has (`etree.tostring` of the element,
    which writes the namespaces in scope on it and its tail, and normalises quoting and empty
    elements): every element, attribute, namespace declaration and piece of text, in order, with
    a named group for each value. Anything else — an extra element (`ds:Object` content, a third
    Reference, `ds:KeyName`), an extra attribute or namespace declaration on any element, text
    or whitespace where the profile has none, a comment, another prefix — does not match."""
    b64 = "[A-Za-z0-9+/]+={0,2}"
    name = "[A-Za-z_][A-Za-z0-9_.-]{0,99}"
    time = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
    exc, sha = re.escape(EXC_C14N), re.escape(SHA256)
    transform = (
        f'<ds:Transforms><ds:Transform Algorithm="{exc}"/></ds:Transforms>'
        f'<ds:DigestMethod Algorithm="{sha}"/>'
    )
    pattern = (
        f'<ds:Signature xmlns:ds="{re.escape(DS)}"'
        # the document's own default namespace, in scope from its root
        '(?: xmlns="urn:hocba:[a-z-]+:[0-9]+")?'
        f' Id="(?P<id>{name})">'
        "<ds:SignedInfo>"
        f'<ds:CanonicalizationMethod Algorithm="{exc}"/>'
        f'<ds:SignatureMethod Algorithm="(?P<algorithm>{re.escape(RSA_SHA256)}'
        f'|{re.escape(ECDSA_SHA256)})"/>'
        f'<ds:Reference URI="#(?P<target>{name})">{transform}'
        f"<ds:DigestValue>(?P<target_digest>{b64})</ds:DigestValue></ds:Reference>"
        f'<ds:Reference Type="{re.escape(SIGNED_PROPERTIES)}" URI="#(?P=id)-sp">{transform}'
        f"<ds:DigestValue>(?P<props_digest>{b64})</ds:DigestValue></ds:Reference>"
        "</ds:SignedInfo>"
        f"<ds:SignatureValue>(?P<value>{b64})</ds:SignatureValue>"
        f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>(?P<certificate>{b64})"
        "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
        f'<ds:Object><xades:QualifyingProperties xmlns:xades="{re.escape(XADES)}"'
        ' Target="#(?P=id)">'
        '<xades:SignedProperties Id="(?P=id)-sp"><xades:SignedSignatureProperties>'
        f"<xades:SigningTime>(?P<time>{time})</xades:SigningTime>"
        "<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>"
        f'<ds:DigestMethod Algorithm="{sha}"/>'
        f"<ds:DigestValue>(?P<cert_digest>{b64})</ds:DigestValue>"
        "</xades:CertDigest></xades:Cert></xades:SigningCertificateV2>"
        "</xades:SignedSignatureProperties></xades:SignedProperties>"
        "</xades:QualifyingProperties></ds:Object></ds:Signature>"
    )
    return re.compile(pattern)


EXACT = _exact_signature()
"""A signature of this profile, as `etree.tostring` writes it (see `_exact_signature`)."""


def check(
    signature: etree._Element,
    ids: dict[str, list[etree._Element]],
    digest_cache: dict[int, str] | None = None,
    certificates: dict[str, tuple[x509.Certificate, str, Any, str]] | None = None,
) -> Checked:
    """Verify one ds:Signature of the document whose `Id` map is `ids`.

    The signature must be exactly of the profile's shape (`EXACT`), so that nothing in it is
    content nobody signed: the unsigned parts (the signature's `Id`, `SignatureValue`,
    `KeyInfo`, the `Object` around the signed properties) hold only what the profile puts
    there, and the signature's `Id` is bound to its signed properties (`<Id>-sp`).

    `digest_cache` and `certificates`: what the signatures of one document share (digests of
    their targets, the certificates they carry), kept by the caller for that document."""
    cache = {} if digest_cache is None else digest_cache
    exact = EXACT.fullmatch(etree.tostring(signature, encoding="unicode"))
    if exact is None:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    try:
        text = exact["certificate"]
        found = certificates.get(text) if certificates is not None else None
        if found is None:
            found = _certificate(text)
            if certificates is not None:
                certificates[text] = found
        certificate, cert_digest_b64, public_key, key_algorithm = found
        value = binascii.a2b_base64(exact["value"], strict_mode=True)
    except ValueError:
        return Checked(None, None, None, "MALFORMED_SIGNATURE")
    target_id = exact["target"]
    try:
        signing_time = dt.datetime.fromisoformat(exact["time"].replace("Z", "+00:00"))
    except ValueError:
        return Checked(target_id, certificate, None, "MALFORMED_SIGNATURE")
    targets = ids.get(target_id, [])
    if len(targets) != 1 or len(ids.get(f"{exact['id']}-sp", [])) != 1:
        problem = "DUPLICATE_ID" if targets else "WRONG_TARGET"
        return Checked(target_id, certificate, signing_time, problem)
    target = targets[0]
    key = id(target)
    if key not in cache:
        cache[key] = digest_b64(target)
    properties = signature[3][0][0]
    if exact["target_digest"] != cache[key] or exact["props_digest"] != digest_b64(properties):
        return Checked(target_id, certificate, signing_time, "DIGEST_MISMATCH")
    if exact["cert_digest"] != cert_digest_b64:
        return Checked(target_id, certificate, signing_time, "CERT_DIGEST_MISMATCH")
    algorithm = exact["algorithm"]
    data = c14n(signature[0])
    try:
        if algorithm != key_algorithm:
            return Checked(target_id, certificate, signing_time, "SIGNATURE_INVALID")
        if algorithm == RSA_SHA256:
            public_key.verify(value, data, _PKCS1, _SHA256_HASH)
        else:
            half = (public_key.curve.key_size + 7) // 8
            if len(value) != 2 * half:
                return Checked(target_id, certificate, signing_time, "SIGNATURE_INVALID")
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
