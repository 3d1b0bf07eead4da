"""The one store for the files the platform keeps: record XML, sealed PDF views, packages.

Every file is named by the SHA-256 of its bytes (`<kind>/<first two hex digits>/<sha256>.<ext>`),
so the same bytes always land under the same name and writing them again changes nothing. Every
read checks the bytes against the hash in the reference: a file changed or damaged where it is
kept (a disk, an object store, someone's hand) is refused with `BlobHashMismatch`, a file that
is gone with `BlobMissing`; neither is ever handed on as if it were the record.

Underneath is Django's default storage (`STORAGES["default"]`: files under `HOCBA_DATA_DIR`, or
an S3-compatible bucket with `HOCBA_S3_BUCKET`). This module sits below every app (records,
documents, exchange, warehouse all keep their files through it) and imports none of them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

_SHA256 = re.compile(r"[0-9a-f]{64}")


class Kind(Enum):
    """What a file is; each kind has its folder and extension (and its name in messages)."""

    RECORD_XML = ("records", "xml", "XML học bạ")
    PDF_VIEW = ("documents", "pdf", "bản PDF học bạ")
    SENT_PACKAGE = ("exchange/packages", "xml", "gói tin gửi đi")
    RECEIVED_PACKAGE = ("warehouse/packages", "xml", "gói tin nhận được")

    def __init__(self, folder: str, extension: str, label: str) -> None:
        self.folder = folder
        self.extension = extension
        self.label = label
        """Vietnamese, for messages."""


@dataclass(frozen=True)
class BlobRef:
    """A stored file: its kind and the SHA-256 of its bytes (which is also its name)."""

    kind: Kind
    sha256: str
    """Lower-case hex digest of the bytes."""

    def __post_init__(self) -> None:
        if not _SHA256.fullmatch(self.sha256):
            raise ValueError(f"not a SHA-256 hex digest: {self.sha256!r}")

    @property
    def name(self) -> str:
        """The storage name (relative to the storage's root or bucket prefix)."""
        kind = self.kind
        return f"{kind.folder}/{self.sha256[:2]}/{self.sha256}.{kind.extension}"


class BlobError(Exception):
    """A stored file that cannot be handed on; `code` is stable, `message` Vietnamese."""

    code = "BLOB_ERROR"

    def __init__(self, ref: BlobRef, message: str) -> None:
        super().__init__(f"{self.code}: {message}")
        self.ref = ref
        self.message = message


class BlobMissing(BlobError):
    code = "BLOB_MISSING"

    def __init__(self, ref: BlobRef) -> None:
        super().__init__(
            ref,
            f"Không tìm thấy tệp {ref.kind.label} đã lưu (mã băm {ref.sha256[:12]}…) trên nơi "
            "lưu trữ; hãy khôi phục tệp từ bản sao lưu",
        )


class BlobHashMismatch(BlobError):
    code = "BLOB_HASH_MISMATCH"

    def __init__(self, ref: BlobRef) -> None:
        super().__init__(
            ref,
            f"Tệp {ref.kind.label} đã lưu không khớp mã băm {ref.sha256[:12]}…: tệp đã bị "
            "thay đổi hoặc hỏng trên nơi lưu trữ và không được dùng; hãy khôi phục tệp từ bản "
            "sao lưu",
        )


def _storage() -> Storage:
    return storages["default"]


def ref_for(kind: Kind, content: bytes) -> BlobRef:
    """The reference `content` has (or would have) once stored."""
    return BlobRef(kind, hashlib.sha256(content).hexdigest())


def _intact(ref: BlobRef) -> bool:
    try:
        get(ref)
    except BlobError:
        return False
    return True


def put(kind: Kind, content: bytes, sha256: str | None = None) -> BlobRef:
    """Store `content` under its SHA-256 and return its reference. The same bytes again change
    nothing; a copy under that name that does not match its hash (cut short by a process killed
    while writing, or damaged since) is replaced. `sha256`: the hex digest of `content` when the
    caller has just computed it from these very bytes (a package of several megabytes is not
    hashed twice); it is not computed again, and whatever reads the file checks it."""
    ref = ref_for(kind, content) if sha256 is None else BlobRef(kind, sha256)
    storage = _storage()
    if storage.exists(ref.name):
        if _intact(ref):
            return ref
        storage.delete(ref.name)
    saved = storage.save(ref.name, ContentFile(content))
    if saved != ref.name:
        # another process stored the same bytes at the same moment and the storage chose
        # another name for ours: theirs is the same content, ours is not needed
        storage.delete(saved)
    return ref


def get(ref: BlobRef) -> bytes:
    """The stored bytes of `ref`, checked against its hash (BlobMissing, BlobHashMismatch)."""
    try:
        with _storage().open(ref.name, "rb") as handle:
            content: bytes = handle.read()
    except FileNotFoundError:
        raise BlobMissing(ref) from None
    if hashlib.sha256(content).hexdigest() != ref.sha256:
        raise BlobHashMismatch(ref)
    return content
