"""Signing records outside the service, step by step, for tests that must build what the
service would refuse (wrong certificates, wrong order, attacks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from lxml import etree

from hocba.formats import parse_untrusted
from hocba.formats.builder import NS, serialize
from hocba.signing import profile
from hocba.signing.signers import Signer

Q = f"{{{NS}}}"


def slot_of(root: etree._Element, slot: str, subject: str | None = None) -> etree._Element:
    if slot == "GVBM":
        return root.find(f".//{Q}DANH_SACH_GVBM/{Q}GVBM[@MON='mon-{subject}']")
    if slot == "GVCN":
        return root.find(f".//{Q}DANH_SACH_THONG_TIN_KY/{Q}GVCN")
    return root.find(f".//{Q}PHAT_HANH_HOC_BA/{Q}{slot}")


TARGETS = {"GVCN": "thongtinhocba", "CBQL": "data", "KY_PHAT_HANH": "data"}


def sign_step(
    content: bytes,
    slot: str,
    signer: Signer,
    subject: str | None = None,
    when: dt.datetime | None = None,
    sig_id: str | None = None,
) -> bytes:
    root = parse_untrusted(content, keep_whitespace=True)
    ids = profile.ids_of(root)
    target = ids[f"mon-{subject}" if slot == "GVBM" else TARGETS[slot]][0]
    element = slot_of(root, slot, subject)
    count = len(element)
    prepared = profile.prepare(
        element,
        target,
        signer.certificate,
        when or dt.datetime.now(dt.UTC),
        sig_id or f"sig-{slot.lower()}-{subject or ''}-{count}",
        signer.algorithm,
    )
    profile.embed(prepared, signer.sign_digests([prepared.digest])[0])
    return serialize(root)


def sign_all(
    content: bytes,
    subjects: list[str],
    signer_for: Callable[[str, str | None], Signer],
    slots: tuple[str, ...] = ("GVBM", "GVCN", "CBQL", "KY_PHAT_HANH"),
) -> bytes:
    for slot in slots:
        if slot == "GVBM":
            for subject in subjects:
                content = sign_step(content, "GVBM", signer_for("GVBM", subject), subject)
        else:
            content = sign_step(content, slot, signer_for(slot, None))
    return content
