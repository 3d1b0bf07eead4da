"""Printable views of the demo's issued records: one per version, sealed with the school's
token key, readable with diacritics for every level, exported and bundled per class."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from hocba.documents.models import Document
from hocba.documents.services import new_batch, read_pdf, run_job
from hocba.formats import parse
from hocba.jobs.models import Job
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml
from tests.documents.test_pdf import text_of

pytestmark = pytest.mark.django_db


def test_every_issued_demo_record_has_a_sealed_view(demo):
    issued = RecordVersion.objects.filter(state=State.ISSUED)
    assert issued.exists()
    assert Document.objects.filter(version__in=issued).count() == issued.count()
    assert set(Document.objects.values_list("pades_level", flat=True)) == {"B-B"}


@pytest.mark.parametrize(
    ("level", "title"),
    [
        ("TH", "HỌC BẠ TIỂU HỌC"),
        ("THCS", "HỌC BẠ TRUNG HỌC CƠ SỞ"),
        ("THPT", "HỌC BẠ TRUNG HỌC PHỔ THÔNG"),
        ("GDTX", "HỌC BẠ HỌC VIÊN"),
    ],
)
def test_the_view_of_each_level_shows_the_name_and_every_year_result(demo, level, title, tmp_path):
    document = (
        Document.objects.filter(version__record__class_group__level=level)
        .select_related("version")
        .first()
    )
    assert document is not None, level
    record = parse(read_xml(document.version))
    text = text_of(read_pdf(document), tmp_path)
    assert title in text
    assert record.student.full_name in text
    lines = text.splitlines()
    for subject in record.subjects:
        shown = subject.level if level == "TH" else subject.year.replace(".", ",")
        # the subject's row: the line where its name starts and the next three (long names wrap)
        starts = [i for i, line in enumerate(lines) if line.strip().startswith(subject.name[:8])]
        rows = [" ".join(lines[i : i + 4]) for i in starts]
        assert any(f" {shown} " in f" {row} " for row in rows), (subject.name, shown)


def test_export_writes_xml_and_pdf_and_verify_accepts_the_pdf(demo, tmp_path, capsys):
    call_command("records", "export", "--out", str(tmp_path), "--school", "25000301",
                 "--status", "ISSUED", "--format", "xml,pdf")  # fmt: skip
    pdfs = sorted(tmp_path.glob("*.pdf"))
    assert pdfs and len(pdfs) == len(list(tmp_path.glob("*.xml")))
    capsys.readouterr()
    call_command("verify", str(pdfs[0]), "--json", "--no-ocsp")
    report = json.loads(capsys.readouterr().out)
    assert report["verdict"] == "VALID"
    assert [c["check"] for c in report["checks"][:3]] == [
        "pdf_signature",
        "embedded_xml",
        "view_matches_xml",
    ]


def test_verify_names_a_stripped_seal(demo, tmp_path):
    document = Document.objects.select_related("version").first()
    pdf = read_pdf(document)
    start = pdf.rfind(b"%%EOF", 0, len(pdf) - 10)  # the end of the unsealed revision
    path = tmp_path / "stripped.pdf"
    path.write_bytes(pdf[: start + len(b"%%EOF\n")])
    with pytest.raises(CommandError) as raised:
        call_command("verify", str(path), "--no-ocsp")
    assert raised.value.returncode == 1


def test_a_class_batch_leaves_a_zip_and_a_merged_pdf_for_printing(demo):
    version = (
        RecordVersion.objects.filter(state=State.ISSUED)
        .select_related("record__class_group", "record__school")
        .first()
    )
    class_group = version.record.class_group
    admin = get_user_model().objects.get(username="quantri")
    job = run_job(new_batch(admin, version.record.school, class_group))
    assert job.progress.state == Job.State.DONE and job.progress.percent == 100
    expected = RecordVersion.objects.filter(
        record__class_group=class_group, state__in=[State.ISSUED, State.SUPERSEDED]
    ).exclude(event="CANCEL")
    assert job.progress.total == expected.count() > 0
    with default_storage.open(job.outputs["zip"], "rb") as handle:
        names = zipfile.ZipFile(io.BytesIO(handle.read())).namelist()
    assert len(names) == job.progress.total and all(
        n.startswith(f"{class_group.name}/") for n in names
    )
    with default_storage.open(job.outputs["merged"][class_group.name], "rb") as handle:
        merged = PdfReader(io.BytesIO(handle.read()))
    singles = [
        len(PdfReader(io.BytesIO(read_pdf(d))).pages)
        for d in Document.objects.filter(version__in=expected)
    ]
    assert len(merged.pages) == sum(singles)
    # a print copy: no seal that a reader would call broken once the pages are merged
    assert not merged.get_fields() and all("/Annots" not in page for page in merged.pages)
