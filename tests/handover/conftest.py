"""The demo exported once per module, and empty instances to load it into (`hocba` processes on
a data directory of their own, trusting the test run's development PKI that sealed the export)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from hocba.handover import seal, services, tables
from tests.processes import HOCBA, clean_env


def exported(target: Path) -> services.Summary:
    """Export the demo to `target`, leaving the test database as it was (the export's audit
    event is rolled back with the rest)."""
    with transaction.atomic():
        summary = services.export_instance(target)
        transaction.set_rollback(True)
    return summary


@pytest.fixture(scope="module")
def demo_export(
    demo: object, django_db_blocker: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    target = tmp_path_factory.mktemp("handover") / "export"
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        exported(target)
    yield target


def operator_sha256() -> str:
    """The SHA-256 of the development operator's certificate, which seals the test exports."""
    signer = seal._development_operator()
    try:
        return seal.fingerprint(signer.certificate)
    finally:
        signer.close()


def trusting_env(data: Path, **extra: str) -> dict[str, str]:
    """A `hocba` process on `data` that trusts the test run's development PKI and expects
    hand-overs sealed by its operator key."""
    pki = Path(settings.DATA_DIR) / "pki" / "ca"
    given = {
        "HOCBA_TRUST_ANCHORS": str(pki / "root.pem"),
        "HOCBA_TRUST_INTERMEDIATES": str(pki / "issuing.pem"),
        "HOCBA_CRLS": str(Path(settings.DATA_DIR) / "pki" / "crl" / "issuing.crl"),
        "HOCBA_OCSP": "0",
        "HOCBA_HANDOVER_SIGNER_SHA256": operator_sha256(),
    }
    return clean_env(data, **{**given, **extra})


def hocba(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOCBA, *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding an empty, migrated SQLite instance (copied for each test)."""
    data = tmp_path_factory.mktemp("empty-instance")
    done = hocba(trusting_env(data), "migrate", "-v0")
    assert done.returncode == 0, done.stderr
    return data


@pytest.fixture
def empty_instance(migrated: Path, tmp_path: Path) -> Path:
    data = tmp_path / "instance"
    shutil.copytree(migrated, data)
    return data


def rows_in(data: Path) -> dict[str, int]:
    """Rows of every carried table in the SQLite instance on `data`."""
    connection = sqlite3.connect(f"file:{data / 'hocba.sqlite3'}?mode=ro", uri=True)
    try:
        return {
            tables.label_of(model): connection.execute(
                f'SELECT COUNT(*) FROM "{model._meta.db_table}"'  # noqa: S608 - model tables
            ).fetchone()[0]
            for model in tables.carried_models()
        }
    finally:
        connection.close()


def stored_files(data: Path) -> list[Path]:
    return sorted(p for p in (data / "files").rglob("*") if p.is_file())


def copy_of(export: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(export, target)
    return target
