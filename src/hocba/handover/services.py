"""Export a whole instance to a directory, and load such a directory into an empty instance.

`export_instance` writes, in one transaction (one consistent view of the data):

    manifest.json        every other file with its size and SHA-256
    manifest.json.p7s    the manifest's detached CMS signature by the operator's key (`seal`)
    schema.json          every table and column (`tables.schema`)
    tables/<table>.json  the rows of each table, one JSON object per line, by primary key
    files.json           every stored file: its storage name, size and SHA-256
    files/<sha256>       the stored files' bytes (record XML, PDF views, packages, batches)
    xsd/<name>.xsd       the XML schemas of the record and the package

`import_instance` checks that the seal is by the certificate the operator named (`--signer`,
`HOCBA_HANDOVER_SIGNER_SHA256`), checks the seal and every file against the manifest and
`files.json` before it writes anything, refuses an instance that already holds data, and loads
every row with its primary key, in one transaction. Both record the hand-over in the audit
chain (`handover.export`, `handover.import`); the import's event chains onto the head of the
imported chain.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils.translation import gettext as _

from hocba import formats
from hocba.audit.models import AuditEvent
from hocba.audit.services import record_event
from hocba.handover import seal, tables
from hocba.signing.certs import common_name

FORMAT = "hocba-handover/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.p7s"
ACTOR = "handover"


class HandoverError(Exception):
    """A hand-over refused; `code` is stable, `message` Vietnamese, `path` the file named."""

    def __init__(self, code: str, message: str, path: str = "") -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.path = path


@dataclass(frozen=True)
class Summary:
    """What a hand-over wrote or loaded."""

    rows: dict[str, int]
    """Rows per table."""
    files: int
    """Stored files."""
    manifest_sha256: str
    signer: str
    signer_sha256: str
    """The SHA-256 of the sealing certificate: what the import names (`--signer`)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _storage() -> Storage:
    return storages["default"]


def _stored_names(storage: Storage, folder: str = "") -> Iterator[str]:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for sub in folders:
        yield from _stored_names(storage, f"{folder}/{sub}" if folder else sub)


def _xsd_files() -> list[Path]:
    return sorted(Path(formats.__file__).parent.glob("*.xsd"))


# --- export ----------------------------------------------------------------------------------


def export_instance(target: Path, school_code: str = "") -> Summary:
    """Write everything this instance holds to `target` (a new or empty directory)."""
    if target.exists() and any(target.iterdir()):
        raise HandoverError("EXPORT_DIR_NOT_EMPTY", f"Thư mục {target} đã có tệp", str(target))
    signer = seal.operator_signer(school_code)
    target.mkdir(parents=True, exist_ok=True)
    outermost = not connection.in_atomic_block
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                # one view of every table, however long the export takes
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            _record_export()
            rows, hashes = _write_tables(target)
            files = _write_files(target)
            _refuse_dangling(target, hashes)
            _write(target, "schema.json", _json(tables.schema()))
            for xsd in _xsd_files():
                _write(target, f"xsd/{xsd.name}", xsd.read_bytes())
            manifest = _json(_manifest(target))
            _write(target, MANIFEST, manifest)
            _write(target, SIGNATURE, seal.seal(manifest, signer))
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    finally:
        signer.close()
    certificate = signer.certificate
    return Summary(
        rows, files, _sha256(manifest), common_name(certificate), seal.fingerprint(certificate)
    )


def _record_export() -> None:
    """The export is an event of the chain; exporting again an instance where nothing was
    recorded since gives the same export, so the event is not repeated."""
    head = AuditEvent.objects.order_by("-id").first()
    if head is not None and head.action == "handover.export":
        return
    record_event(
        ACTOR,
        "handover.export",
        object_type="instance",
        object_id=FORMAT,
        summary="Bàn giao: xuất toàn bộ dữ liệu",
    )


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def _write(target: Path, name: str, data: bytes) -> None:
    path = target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_tables(target: Path) -> tuple[dict[str, int], dict[str, str]]:
    """Every table's rows; with the stored files the rows name (a column named `sha256` or
    `…_sha256` holds the SHA-256 of a stored file), each with the first row naming it."""
    (target / "tables").mkdir()
    counts = {}
    hashes: dict[str, str] = {}
    for model in tables.carried_models():
        label = tables.label_of(model)
        named = [c.name for c in tables.columns(model) if c.name.endswith("sha256")]
        count = 0
        with (target / tables.file_of(model)).open("w", encoding="utf-8") as out:
            out.write("[")
            for row in tables.rows(model):
                out.write(",\n" if count else "\n")
                out.write(tables.line_of(row))
                count += 1
                for column in named:
                    if row[column]:
                        hashes.setdefault(row[column], f"{label} {row[model._meta.pk.attname]}")
            out.write("\n]\n")
        counts[label] = count
    return counts, hashes


def _refuse_dangling(target: Path, hashes: dict[str, str]) -> None:
    """A hand-over is complete: every file a row names is in it."""
    for digest, row in sorted(hashes.items()):
        if not (target / "files" / digest).exists():
            raise HandoverError(
                "EXPORT_FILE_MISSING",
                f"Không tìm thấy tệp đã lưu (mã băm {digest[:12]}…) mà dòng {row} trỏ tới: hãy "
                "khôi phục tệp từ bản sao lưu rồi xuất lại",
                digest,
            )


def _write_files(target: Path) -> int:
    """Every stored file, its bytes under their SHA-256; a file kept under a hash name that
    its bytes do not match is refused, never handed over as if it were intact."""
    storage = _storage()
    (target / "files").mkdir()
    listed = []
    for name in sorted(_stored_names(storage)):
        with storage.open(name, "rb") as handle:
            data = handle.read()
        digest = _sha256(data)
        stem = name.rsplit("/", 1)[-1].split(".", 1)[0]
        if len(stem) == 64 and stem != digest:
            raise HandoverError(
                "EXPORT_FILE_DAMAGED",
                f"Tệp đã lưu {name} không khớp mã băm trong tên: hãy khôi phục từ bản sao lưu",
                name,
            )
        blob = target / "files" / digest
        if not blob.exists():
            blob.write_bytes(data)
        listed.append({"name": name, "sha256": digest, "size": len(data)})
    _write(target, "files.json", _json(listed))
    return len(listed)


def _manifest(target: Path) -> dict[str, Any]:
    entries = []
    for path in sorted(p for p in target.rglob("*") if p.is_file()):
        name = path.relative_to(target).as_posix()
        if name in (MANIFEST, SIGNATURE):
            continue
        entries.append({"path": name, "sha256": _file_sha256(path), "size": path.stat().st_size})
    return {"format": FORMAT, "files": entries}


# --- import ----------------------------------------------------------------------------------


def import_instance(source: Path, signer_sha256: str = "") -> Summary:
    """Load the export in `source` into this instance, which must hold no data, when it is
    sealed by the certificate named by `signer_sha256` and HANDOVER_SIGNER_SHA256 (at least one
    of them; both, when both are given)."""
    expected = _expected_signers(signer_sha256)
    manifest, certificate = _checked(source)
    if seal.fingerprint(certificate) not in expected:
        raise HandoverError(
            "SIGNER_NOT_EXPECTED",
            _(
                "The hand-over is sealed by “%(name)s” (certificate SHA-256 %(sha256)s), not by "
                "the certificate named for this import"
            )
            % {"name": common_name(certificate), "sha256": seal.fingerprint(certificate)},
            SIGNATURE,
        )
    signer = common_name(certificate)
    listed = _listed_files(source)
    created: list[str] = []
    try:
        with transaction.atomic():
            _refuse_non_empty()
            counts = _load_tables(source)
            files = _load_files(source, listed, created)
            _reset_sequences()
            record_event(
                ACTOR,
                "handover.import",
                object_type="instance",
                object_id=FORMAT,
                summary="Bàn giao: nạp toàn bộ dữ liệu",
                new={"manifest_sha256": _sha256(manifest), "sealed_by": signer},
            )
    except BaseException:
        storage = _storage()
        for name in created:
            storage.delete(name)
        raise
    return Summary(counts, files, _sha256(manifest), signer, seal.fingerprint(certificate))


def _expected_signers(named: str) -> set[str]:
    """The one sealing certificate the import accepts, by its SHA-256 (hex, colons allowed)."""
    given = {
        value.replace(":", "").strip().lower()
        for value in (named, settings.HANDOVER_SIGNER_SHA256)
        if value.strip()
    }
    if not given:
        raise HandoverError(
            "SIGNER_NOT_NAMED",
            _(
                "Name the certificate expected to seal the hand-over: --signer SHA256 (printed "
                "by the export) or HOCBA_HANDOVER_SIGNER_SHA256"
            ),
        )
    # two different names: no certificate can be both
    return given if len(given) == 1 else set()


def _checked(source: Path) -> tuple[bytes, x509.Certificate]:
    """The manifest and who sealed it, once the seal and every file check out."""
    try:
        manifest = (source / MANIFEST).read_bytes()
        signature = (source / SIGNATURE).read_bytes()
    except OSError:
        raise HandoverError(
            "MANIFEST_MISSING", f"Thiếu {MANIFEST} hoặc {SIGNATURE} trong {source}", MANIFEST
        ) from None
    try:
        signer = seal.check(manifest, signature)
    except seal.SealError as refused:
        raise HandoverError(refused.code, refused.message, SIGNATURE) from None
    try:
        listed = json.loads(manifest)
        entries = {entry["path"]: entry for entry in listed["files"]}
        ok = listed["format"] == FORMAT
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise HandoverError("MANIFEST_INVALID", f"{MANIFEST} không theo định dạng {FORMAT}")
    present = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} - {
        MANIFEST,
        SIGNATURE,
    }
    for name in sorted(present - set(entries)):
        raise HandoverError("HANDOVER_FILE_UNEXPECTED", f"Tệp {name} không có trong bản kê", name)
    for name, entry in sorted(entries.items()):
        path = source / name
        if name not in present:
            raise HandoverError("HANDOVER_FILE_MISSING", f"Thiếu tệp {name} của bản kê", name)
        if path.stat().st_size != entry["size"] or _file_sha256(path) != entry["sha256"]:
            raise HandoverError(
                "HANDOVER_FILE_CHANGED",
                f"Tệp {name} không khớp kích thước hoặc mã băm trong bản kê",
                name,
            )
    return manifest, signer


def _refuse_non_empty() -> None:
    holding = [
        tables.label_of(model)
        for model in tables.carried_models()
        if model._default_manager.exists()
    ]
    if holding:
        raise HandoverError(
            "TARGET_NOT_EMPTY",
            "Hệ thống đích đã có dữ liệu (bảng "
            + ", ".join(holding[:5])
            + (" …" if len(holding) > 5 else "")
            + "); chỉ nạp bản bàn giao vào hệ thống trống",
        )


@contextmanager
def _times_as_given(model: type[models.Model]) -> Iterator[None]:
    """Fields stamped on save (`auto_now`, `auto_now_add`) keep the carried times."""
    stamped = [
        (f, f.auto_now, f.auto_now_add)  # type: ignore[attr-defined]
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for field, _now, _now_add in stamped:
        field.auto_now = field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for field, now, now_add in stamped:
            field.auto_now, field.auto_now_add = now, now_add  # type: ignore[attr-defined]


def _load_tables(source: Path) -> dict[str, int]:
    known = {tables.file_of(m): m for m in tables.carried_models()}
    present = sorted(p.relative_to(source).as_posix() for p in (source / "tables").glob("*.json"))
    for name in present:
        if name not in known:
            raise HandoverError(
                "HANDOVER_TABLE_UNKNOWN", f"Hệ thống này không có bảng của tệp {name}", name
            )
    counts = {}
    # foreign keys are checked at commit (deferred on SQLite and PostgreSQL), so the order of
    # the tables does not matter
    for name, model in sorted(known.items()):
        count = 0
        with _times_as_given(model):
            for batch in _batches(source / name, model):
                model._default_manager.bulk_create(batch)
                count += len(batch)
        counts[tables.label_of(model)] = count
    return counts


def _batches(path: Path, model: type[models.Model], size: int = 1000) -> Iterator[list[Any]]:
    """The rows of a table file, read a line at a time (the manifest vouches that the file is
    as the export wrote it: one row per line), as model instances in batches."""
    if not path.exists():
        return
    name = path.parent.name + "/" + path.name
    batch = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            line = line.strip().removesuffix(",")
            if line in ("[", "]", ""):
                continue
            try:
                batch.append(tables.instance_of(model, json.loads(line)))
            except (KeyError, ValueError, TypeError) as bad:
                raise HandoverError(
                    "HANDOVER_TABLE_INVALID",
                    f"Tệp {name} có cột hoặc giá trị không đọc được: {bad}",
                    name,
                ) from None
            except ObjectDoesNotExist:
                raise HandoverError(
                    "HANDOVER_NATURAL_KEY_UNKNOWN",
                    _(
                        "%(file)s names by its natural key a row (a content type or a "
                        "permission) this instance does not have"
                    )
                    % {"file": name},
                    name,
                ) from None
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


SHA256 = re.compile(r"[0-9a-f]{64}")


def _listed_files(source: Path) -> list[tuple[str, str]]:
    """The stored files of `files.json` as (storage name, SHA-256), each checked before
    anything is written: the hash is a SHA-256 in lower-case hex whose file is in `files/` with
    bytes that hash to it, and the name is a relative path inside the store. The import does not
    rely on the exporter being honest, whoever sealed it."""
    try:
        entries = json.loads((source / "files.json").read_bytes())
        listed = [(entry["name"], entry["sha256"]) for entry in entries]
    except (OSError, ValueError, KeyError, TypeError):
        raise HandoverError(
            "HANDOVER_FILES_INVALID",
            _("files.json is missing or is not a list of stored files (name, sha256)"),
            "files.json",
        ) from None
    for name, digest in listed:
        if not isinstance(digest, str) or not SHA256.fullmatch(digest):
            raise HandoverError(
                "HANDOVER_FILE_HASH_INVALID",
                _("files.json names the stored file %(name)s by a hash that is not a SHA-256")
                % {"name": str(name)[:200]},
                "files.json",
            )
        parts = name.split("/") if isinstance(name, str) else [""]
        if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            raise HandoverError(
                "HANDOVER_FILE_NAME_INVALID",
                _("files.json names a stored file outside the store: %(name)s")
                % {"name": str(name)[:200]},
                "files.json",
            )
        blob = source / "files" / digest
        if not blob.is_file():
            raise HandoverError(
                "HANDOVER_FILE_MISSING",
                _("files/%(sha256)s, named in files.json, is missing") % {"sha256": digest},
                f"files/{digest}",
            )
        if _file_sha256(blob) != digest:
            raise HandoverError(
                "HANDOVER_FILE_CHANGED",
                _("The bytes of files/%(sha256)s do not hash to its name") % {"sha256": digest},
                f"files/{digest}",
            )
    return listed


def _load_files(source: Path, listed: list[tuple[str, str]], created: list[str]) -> int:
    storage = _storage()
    for name, digest in listed:
        data = (source / "files" / digest).read_bytes()
        if storage.exists(name):
            with storage.open(name, "rb") as handle:
                if _sha256(handle.read()) == digest:
                    continue
            raise HandoverError(
                "TARGET_NOT_EMPTY",
                f"Nơi lưu tệp của hệ thống đích đã có tệp khác tên {name}",
                name,
            )
        try:
            saved = storage.save(name, ContentFile(data))
        except SuspiciousFileOperation:
            raise HandoverError(
                "HANDOVER_FILE_NAME_INVALID",
                _("files.json names a stored file outside the store: %(name)s") % {"name": name},
                "files.json",
            ) from None
        created.append(saved)
        if saved != name:
            raise HandoverError("TARGET_NOT_EMPTY", f"Không ghi được tệp {name}", name)
    return len(listed)


def _reset_sequences() -> None:
    """On PostgreSQL the next id of each table follows the imported ones."""
    statements = connection.ops.sequence_reset_sql(no_style(), tables.carried_models())
    if statements:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
