"""The JSON that `hocba verify --json` and the verification API answer still has the shape
`docs/contracts/verify.md` documents: its keys, verdicts, check names and statuses, codes with a
Vietnamese message."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError

from hocba.documents.models import Document
from hocba.documents.services import read_pdf
from hocba.formats.report import MESSAGES, Code
from hocba.records.services import read_xml
from tests.factories.database import issued_version
from tests.web.test_i18n import tampered

pytestmark = pytest.mark.django_db

CONTRACT = (Path(__file__).parents[2] / "docs/contracts/verify.md").read_text(encoding="utf-8")


def _backticked(bullet_start: str) -> set[str]:
    """The `words` of the contract's bullet that starts with `bullet_start`."""
    bullet = re.search(rf"^- {re.escape(bullet_start)}.*?(?=^- |\Z)", CONTRACT, re.M | re.S)
    assert bullet is not None, bullet_start
    return set(re.findall(r"`([a-zA-Z_]+)`", bullet.group(0)))


EXAMPLE = json.loads(re.search(r"```json\n(.*?)```", CONTRACT, re.S).group(1))  # type: ignore[union-attr]
VERDICTS = _backticked("`verdict`, one word") - {"verdict"}
STATUSES = _backticked("`status` of a check") - {"status"}
CHECKS = (
    {c["check"] for c in EXAMPLE["checks"]}
    | _backticked("The PDF report adds")
    | (_backticked("A record XML that passes") & {"record_status", "online_status"})
)
WHERE = _backticked("A check may say more")


def assert_the_contracts_shape(report: dict[str, Any], produced: bool = True) -> None:
    assert set(report) == set(EXAMPLE), report.keys()
    assert report["verdict"] in VERDICTS
    assert report["valid"] is (report["verdict"] == "VALID")
    if report["record"] is not None:
        assert set(report["record"]) == set(EXAMPLE["record"])
    assert report["checks"]
    for check in report["checks"]:
        assert check["check"] in CHECKS, check
        assert check["status"] in STATUSES, check
        assert set(check) - {"check", "status", "code", "message"} <= WHERE, check
        if "code" in check:
            assert re.fullmatch(r"[A-Z][A-Z0-9_]+", check["code"]), check
            message = check.get("message", "" if produced else MESSAGES[Code(check["code"])].vi)
            assert message.startswith(MESSAGES[Code(check["code"])].vi), check
        else:
            assert check["status"] == "PASS" and "message" not in check, check


def test_the_contract_is_read_as_it_is_written():
    assert len(VERDICTS) == 9 and {"PASS", "FAIL", "UNKNOWN"} == STATUSES
    assert {"schema", "pdf_signature", "online_status"} <= CHECKS
    assert {"slot", "target", "signer", "address"} <= WHERE
    assert_the_contracts_shape(EXAMPLE, produced=False)  # the example leaves a message out


@pytest.fixture
def fresh():
    cache.clear()
    yield
    cache.clear()


def test_the_api_answers_the_contracts_report(client, demo, fresh):
    version = issued_version()
    looked_up = client.get(
        f"/api/v1/verify/{version.record.record_id}/{version.version}",
        {"h": version.xml_sha256[:12]},
    ).json()
    assert looked_up["verdict"] == "VALID"
    assert_the_contracts_shape(looked_up)
    bad = client.post("/api/v1/verify", tampered(version), content_type="application/xml").json()
    assert bad["verdict"] == "TAMPERED"
    assert_the_contracts_shape(bad)
    junk = client.post("/api/v1/verify", b"%PDF-1.7 nothing", content_type="application/pdf")
    assert junk.status_code == 422
    assert junk.json()["error"]["code"] == "PDF_UNREADABLE"
    assert_the_contracts_shape(junk.json()["report"])


def test_the_command_prints_the_contracts_report(demo, tmp_path, capsys):
    version = issued_version()
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(read_xml(version))
    bad.write_bytes(tampered(version))
    call_command("verify", str(good), "--json", "--no-ocsp")
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] in ("VALID", "INDETERMINATE")
    assert_the_contracts_shape(report)
    with pytest.raises(CommandError) as raised:
        call_command("verify", str(bad), "--json", "--no-ocsp")
    assert raised.value.returncode == 1
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "TAMPERED"
    assert_the_contracts_shape(report)
    document = Document.objects.filter(version__record__school__code="25000201").first()
    view = tmp_path / "view.pdf"
    view.write_bytes(read_pdf(document))
    call_command("verify", str(view), "--json", "--no-ocsp")
    report = json.loads(capsys.readouterr().out)
    assert [c["check"] for c in report["checks"][:3]] == [
        "pdf_signature",
        "embedded_xml",
        "view_matches_xml",
    ]
    assert_the_contracts_shape(report)
