"""`hocba handover export` and `import`: what an export holds, that it is the same twice, that
standard tools check its seal, and that an empty instance loads it (and refuses anything
changed, added, missing, sealed by another key, or a target that already holds data) with
nothing written."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction

from hocba.handover import seal, services, tables
from tests.conftest import require_tool
from tests.factories.records import make_kit
from tests.handover.conftest import (
    copy_of,
    hocba,
    operator_sha256,
    rows_in,
    stored_files,
    trusting_env,
)

pytestmark = pytest.mark.django_db


def manifest_of(export: Path) -> dict[str, dict[str, object]]:
    listed = json.loads((export / services.MANIFEST).read_bytes())
    return {entry["path"]: entry for entry in listed["files"]}


def test_every_model_of_every_hocba_app_is_in_the_export(demo_export: Path) -> None:
    listed = manifest_of(demo_export)
    hocba_models = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_config.name.startswith("hocba.")
    ]
    assert hocba_models
    for model in hocba_models:
        assert f"tables/{model._meta.label_lower}.json" in listed, model._meta.label


def test_every_table_of_the_instance_is_carried_or_said_why_not() -> None:
    carried = {tables.label_of(m) for m in tables.carried_models()}
    for model in apps.get_models(include_auto_created=True):
        label = tables.label_of(model)
        assert label in carried or label in tables.NOT_CARRIED, label


def test_the_export_holds_every_row_every_stored_file_and_the_schemas(
    demo: object, demo_export: Path
) -> None:
    for model in tables.carried_models():
        written = json.loads((demo_export / tables.file_of(model)).read_text())
        assert len(written) == model._default_manager.count() + (
            1 if model._meta.label_lower == "audit.auditevent" else 0
        ), model._meta.label
    from hocba.records.models import RecordVersion
    from hocba.records.services import read_xml

    listed = {e["name"]: e["sha256"] for e in json.loads((demo_export / "files.json").read_bytes())}
    versions = RecordVersion.objects.all()
    assert versions
    for version in versions:
        assert listed[version.storage_name] == version.xml_sha256
        # the XML as it is, byte for byte
        assert (demo_export / "files" / version.xml_sha256).read_bytes() == read_xml(version)
    xsds = sorted(p.name for p in (demo_export / "xsd").iterdir())
    assert xsds == ["hocba-package.xsd", "hocba-record.xsd"]


def test_accounts_carry_their_password_hashes_so_people_sign_in_again(
    demo: object, demo_export: Path
) -> None:
    from django.contrib.auth import get_user_model

    users = json.loads((demo_export / "tables/auth.user.json").read_text())
    by_name = {u["username"]: u for u in users}
    principal = get_user_model().objects.get(username="ht.chuvanan")
    assert by_name["ht.chuvanan"]["password"] == principal.password


def test_a_second_export_of_the_same_instance_has_the_same_manifest_and_seal(
    demo: object, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    with transaction.atomic():
        services.export_instance(first)
        services.export_instance(second)
        transaction.set_rollback(True)
    for name in (services.MANIFEST, services.SIGNATURE):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_the_manifest_lists_every_file_with_its_size_and_hash(demo_export: Path) -> None:
    listed = manifest_of(demo_export)
    present = {p.relative_to(demo_export).as_posix() for p in demo_export.rglob("*") if p.is_file()}
    assert set(listed) == present - {services.MANIFEST, services.SIGNATURE}
    for name, entry in listed.items():
        data = (demo_export / name).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        assert entry == {"path": name, "size": len(data), "sha256": digest}


def test_openssl_checks_the_seal_of_the_manifest(demo_export: Path) -> None:
    openssl = require_tool("openssl")
    ca = Path(settings.DATA_DIR) / "pki" / "ca" / "root.pem"
    command = [
        openssl, "cms", "-verify", "-binary", "-inform", "DER",
        "-in", str(demo_export / services.SIGNATURE),
        "-content", str(demo_export / services.MANIFEST),
        "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    # and refuses a manifest changed by one byte
    changed = demo_export.parent / "changed-manifest.json"
    changed.write_bytes((demo_export / services.MANIFEST).read_bytes().replace(b"1", b"2", 1))
    command[command.index("-content") + 1] = str(changed)
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0


def test_the_schema_in_the_docs_is_the_schema_of_the_models() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "handover.md").read_text()
    assert tables.with_generated(doc) == doc, (
        "docs/handover.md is out of date: run `hocba handover schema --update-doc docs/handover.md`"
    )


# --- loading into an empty instance ---------------------------------------------------------


def test_an_empty_instance_loads_the_export_and_its_audit_chain_continues(
    demo_export: Path, empty_instance: Path
) -> None:
    # the sealing certificate named on the command line, as the export printed it
    env = trusting_env(empty_instance, HOCBA_HANDOVER_SIGNER_SHA256="")
    done = hocba(env, "handover", "import", str(demo_export), "--signer", operator_sha256())
    assert done.returncode == 0, done.stderr
    counts = rows_in(empty_instance)
    for model in tables.carried_models():
        written = json.loads((demo_export / tables.file_of(model)).read_text())
        extra = 1 if model._meta.label_lower == "audit.auditevent" else 0  # the import's event
        assert counts[tables.label_of(model)] == len(written) + extra, model._meta.label
    verified = hocba(env, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    events = json.loads((demo_export / "tables/audit.auditevent.json").read_text())
    connection = sqlite3.connect(empty_instance / "hocba.sqlite3")
    last = connection.execute(
        "SELECT id, action, prev_hash FROM audit_auditevent ORDER BY id DESC LIMIT 1"
    ).fetchone()
    connection.close()
    assert events[-1]["action"] == "handover.export"
    assert last == (events[-1]["id"] + 1, "handover.import", events[-1]["hash"])


def _refused(export: Path, data: Path, code: str, named: str = "", *args: str, **env: str) -> None:
    done = hocba(trusting_env(data, **env), "handover", "import", str(export), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert code in done.stderr
    if named:
        assert named in done.stderr
    assert set(rows_in(data).values()) == {0}, "nothing may be written"
    assert stored_files(data) == []


def test_a_changed_file_is_refused_and_named_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    version_file = sorted((export / "files").iterdir())[0]
    version_file.write_bytes(version_file.read_bytes() + b" ")
    _refused(export, empty_instance, "HANDOVER_FILE_CHANGED", f"files/{version_file.name}")


def test_a_changed_row_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    users = export / "tables/auth.user.json"
    users.write_text(users.read_text().replace('"is_superuser":false', '"is_superuser":true', 1))
    _refused(export, empty_instance, "HANDOVER_FILE_CHANGED", "tables/auth.user.json")


def test_a_removed_file_is_refused_and_named_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    (export / "tables/records.recordversion.json").unlink()
    _refused(export, empty_instance, "HANDOVER_FILE_MISSING", "tables/records.recordversion.json")


def test_an_added_file_is_refused_and_named_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    (export / "tables/extra.json").write_text("[]\n")
    _refused(export, empty_instance, "HANDOVER_FILE_UNEXPECTED", "tables/extra.json")


def test_a_manifest_sealed_by_another_key_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    stranger = make_kit(tmp_path / "other-pki").signers["KY_PHAT_HANH"]
    manifest = (export / services.MANIFEST).read_bytes()
    (export / services.SIGNATURE).write_bytes(seal.seal(manifest, stranger))
    _refused(export, empty_instance, "MANIFEST_SIGNER_UNTRUSTED")


def test_a_manifest_sealed_by_a_trusted_teachers_key_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    from hocba.signing import config
    from hocba.signing.dev.pki import DevPki
    from hocba.signing.signers import Pkcs12Signer

    # a teacher's signing key, trusted for records, seals a changed list of accounts
    teacher = Pkcs12Signer(*DevPki.load(config.pki_dir()).issue_person("001190000001", "Giáo viên"))
    export = copy_of(demo_export, tmp_path)
    users = export / "tables/auth.user.json"
    users.write_text(users.read_text().replace('"is_superuser":false', '"is_superuser":true', 1))
    listed = json.loads((export / services.MANIFEST).read_bytes())
    for entry in listed["files"]:
        if entry["path"] == "tables/auth.user.json":
            entry.update(
                size=users.stat().st_size, sha256=hashlib.sha256(users.read_bytes()).hexdigest()
            )
    manifest = services._json(listed)
    (export / services.MANIFEST).write_bytes(manifest)
    (export / services.SIGNATURE).write_bytes(seal.seal(manifest, teacher))
    assert seal.check(manifest, (export / services.SIGNATURE).read_bytes())  # trusted
    _refused(export, empty_instance, "SIGNER_NOT_EXPECTED", seal.fingerprint(teacher.certificate))
    # nor when the teacher's own certificate is named and the operator's is configured
    named = seal.fingerprint(teacher.certificate)
    _refused(export, empty_instance, "SIGNER_NOT_EXPECTED", "", "--signer", named)


def test_an_import_naming_no_sealing_certificate_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path
) -> None:
    _refused(demo_export, empty_instance, "SIGNER_NOT_NAMED", HOCBA_HANDOVER_SIGNER_SHA256="")


def test_the_export_prints_the_fingerprint_of_the_sealing_certificate(
    demo: object, tmp_path: Path
) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with transaction.atomic():
        call_command("handover", "export", str(tmp_path / "export"), stdout=out)
        transaction.set_rollback(True)
    assert f"certificate sha256 {operator_sha256()}" in out.getvalue()


def resealed(export: Path) -> None:
    """`export`'s manifest rewritten for its files as they now are and sealed again by the
    operator's key: an export as a careless or dishonest exporter holding that key writes it."""
    manifest = services._json(services._manifest(export))
    (export / services.MANIFEST).write_bytes(manifest)
    operator = seal._development_operator()
    try:
        (export / services.SIGNATURE).write_bytes(seal.seal(manifest, operator))
    finally:
        operator.close()


@pytest.mark.parametrize(
    ("name", "digest", "code"),
    [
        # a host file read into the store through the hash
        ("records/x.xml", "../../../../../../etc/hostname", "HANDOVER_FILE_HASH_INVALID"),
        ("records/x.xml", "A" * 64, "HANDOVER_FILE_HASH_INVALID"),
        # a stored file written outside the store
        ("../../outside.xml", "", "HANDOVER_FILE_NAME_INVALID"),
        ("/var/hocba-outside.xml", "", "HANDOVER_FILE_NAME_INVALID"),
        ("records/./x.xml", "", "HANDOVER_FILE_NAME_INVALID"),
        # bytes that do not hash to their name
        ("records/x.xml", "0" * 64, "HANDOVER_FILE_CHANGED"),
        ("records/x.xml", "1" * 64, "HANDOVER_FILE_MISSING"),
    ],
)
def test_a_stored_file_listed_wrongly_in_files_json_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path, name: str, digest: str, code: str
) -> None:
    export = copy_of(demo_export, tmp_path)
    listed = json.loads((export / "files.json").read_text())
    if digest == "0" * 64:
        (export / "files" / digest).write_bytes(b"not the bytes of this hash")
    entry = {"name": name, "sha256": digest or listed[0]["sha256"], "size": 1}
    (export / "files.json").write_bytes(services._json([*listed, entry]))
    resealed(export)
    _refused(export, empty_instance, code)
    assert not (empty_instance.parent / "outside.xml").exists()


def test_a_row_naming_a_permission_this_instance_lacks_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    granted = export / "tables/auth.user_user_permissions.json"
    row = {"id": 1, "user_id": 1, "permission_id": ["no_such_permission", "auth", "user"]}
    granted.write_text("[\n" + json.dumps(row, separators=(",", ":")) + "\n]\n")
    resealed(export)
    _refused(
        export,
        empty_instance,
        "HANDOVER_NATURAL_KEY_UNKNOWN",
        "tables/auth.user_user_permissions.json",
    )


def test_a_manifest_changed_after_sealing_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path, tmp_path: Path
) -> None:
    export = copy_of(demo_export, tmp_path)
    # a file slipped in and listed in the manifest, under the original seal
    (export / "tables/extra.json").write_text("[]\n")
    listed = json.loads((export / services.MANIFEST).read_bytes())
    listed["files"].append({"path": "tables/extra.json", "size": 3, "sha256": "0" * 64})
    (export / services.MANIFEST).write_bytes(services._json(listed))
    _refused(export, empty_instance, "MANIFEST_SIGNATURE_INVALID")


def test_an_instance_that_holds_data_is_refused_with_nothing_written(
    demo_export: Path, empty_instance: Path
) -> None:
    env = trusting_env(empty_instance)
    assert hocba(env, "handover", "import", str(demo_export)).returncode == 0
    before = rows_in(empty_instance)
    files = stored_files(empty_instance)
    done = hocba(env, "handover", "import", str(demo_export))
    assert done.returncode == 2
    assert "TARGET_NOT_EMPTY" in done.stderr
    assert rows_in(empty_instance) == before
    assert stored_files(empty_instance) == files


def test_an_export_is_refused_when_a_row_names_a_stored_file_that_is_gone(
    demo: object, tmp_path: Path
) -> None:
    from hocba.exchange.models import OutboxItem

    gone = "ab" * 32
    OutboxItem.objects.create(
        record_id=uuid.uuid4(), version=1, event="NEW", xml_sha256=gone,
        sender_code="X", school_code="X", school_year="2024-2025",
    )  # fmt: skip
    with pytest.raises(services.HandoverError) as refused:
        services.export_instance(tmp_path / "export")
    assert refused.value.code == "EXPORT_FILE_MISSING"
    assert refused.value.path == gone
    assert not (tmp_path / "export").exists()


def test_an_export_into_a_directory_that_holds_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "something").write_text("kept")
    with pytest.raises(services.HandoverError) as refused:
        services.export_instance(tmp_path)
    assert refused.value.code == "EXPORT_DIR_NOT_EMPTY"
    assert [p.name for p in tmp_path.iterdir()] == ["something"]


def test_a_manifest_sealed_by_a_revoked_certificate_is_refused(demo: object) -> None:
    from hocba.signing import config
    from hocba.signing.dev.pki import DevPki
    from hocba.signing.signers import Pkcs12Signer

    pki = DevPki.load(config.pki_dir())
    operator = Pkcs12Signer(*pki.issue_org("0100000001", "Đơn vị vận hành đã thôi việc"))
    manifest = b'{"files": [], "format": "hocba-handover/1"}\n'
    signature = seal.seal(manifest, operator)
    assert seal.check(manifest, signature) == operator.certificate
    pki.revoke(operator.certificate)
    config.reset()
    with pytest.raises(seal.SealError) as refused:
        seal.check(manifest, signature)
    assert refused.value.code == "MANIFEST_SIGNER_REVOKED"
