"""Sealing a package (gói tin) and checking its seal: the signing half of the package, whose
format is `hocba.formats.package`.

The sender's organisation certificate seals `NOI_DUNG` with the record's signature profile
(`profile`); the seal goes in `CHU_KY`, outside what it signs. `read` checks the seal's
cryptography only: what its certificate may do (a trusted chain, the sender's tax code, not
revoked) is for the warehouse to decide. Pure: lxml + the signature profile, no Django.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from lxml import etree

from hocba.formats import package as fmt
from hocba.signing import profile
from hocba.signing.signers import Signer


def seal(root: etree._Element, signer: Signer, when: dt.datetime | None = None) -> bytes:
    """Seal the package `root` (from `formats.package.build`) with the sender's organisation
    key; the bytes to submit."""
    prepared = profile.prepare(
        fmt.seal_slot(root),
        fmt.content_of(root),
        signer.certificate,
        when or dt.datetime.now(dt.UTC),
        fmt.SEAL_ID,
        signer.algorithm,
    )
    profile.embed(prepared, signer.sign_digests([prepared.digest])[0])
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return data


def read(data: bytes) -> fmt.Package:
    """Parse a submitted package and check its seal's cryptography (PackageRejected otherwise:
    PACKAGE_MALFORMED, PACKAGE_NOT_SEALED, PACKAGE_SIGNATURE_INVALID). The content read is the
    element the seal references."""
    root, signature = fmt.parse(data)
    ids = profile.ids_of(root)
    checked = profile.check(signature, ids)
    if checked.problem is not None or checked.target_id != fmt.CONTENT_ID:
        raise fmt.PackageRejected(
            "PACKAGE_SIGNATURE_INVALID",
            f"Chữ ký số của gói tin không hợp lệ ({checked.problem or 'WRONG_TARGET'})",
        )
    return dataclasses.replace(
        fmt.read(ids[fmt.CONTENT_ID][0]),
        seal_certificate=checked.certificate,
        seal_time=checked.signing_time,
    )
