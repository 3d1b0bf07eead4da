"""An upload that does not prove to be a stored version reveals nothing about any stored record.
Before, a small file naming a real record id and version (or a record signed elsewhere naming
them) showed the stored student's name, the school, the date of issue and the status, without the
check code. Now the answer to such a file is the same whether or not a stored record has that
id: the API JSON and the portal page are compared for an existing id and a random one. A file
that is the stored version (its bytes, or its signed content with intact signatures) still gets
the stored status."""

from __future__ import annotations

import dataclasses
import itertools
import uuid

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from hocba.documents.models import Document
from hocba.documents.services import read_pdf
from hocba.formats import build, parse
from hocba.formats.model import Slots
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml, revoke_record
from hocba.signing.dev.tokens import org_label, token_signer
from hocba.signing.services import sign_records
from tests.factories.database import user
from tests.factories.records import sign_step

pytestmark = pytest.mark.django_db
_ADDRESSES = (f"198.51.100.{n}" for n in itertools.count(1))


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def stored(code: str = "25000201") -> RecordVersion:
    return (
        RecordVersion.objects.filter(state=State.ISSUED, record__school__code=code)
        .select_related("record__student", "record__school")
        .order_by("record__record_id")
        .first()
    )


def api(client, content: bytes) -> dict:
    response = client.post(
        "/api/v1/verify", content, content_type="application/xml", REMOTE_ADDR=next(_ADDRESSES)
    )
    # a file that is not usable as a record answers 422 with its report; either way the status
    # and the report are what a caller learns
    assert response.status_code in (200, 422), response.content
    body = response.json()
    return {"http_status": response.status_code, **body.get("report", body)}


def page(client, content: bytes, name: str = "hb.xml") -> str:
    response = client.post(
        "/xac-minh/", {"file": SimpleUploadedFile(name, content)}, REMOTE_ADDR=next(_ADDRESSES)
    )
    assert response.status_code in (200, 422)
    return f"{response.status_code}\n{response.content.decode()}"


def minimal(record_id: str, version: int) -> bytes:
    return (
        '<HOC_BA xmlns="urn:hocba:xml:1" PhienBanDinhDang="1.0"><DU_LIEU_HOC_BA Id="data">'
        f'<THONG_TIN_HOC_BA Id="thongtinhocba"><MA_DINH_DANH_HOC_BA>{record_id}'
        f"</MA_DINH_DANH_HOC_BA><PHIEN_BAN>{version}</PHIEN_BAN></THONG_TIN_HOC_BA>"
        "</DU_LIEU_HOC_BA></HOC_BA>"
    ).encode()


def unsigned(record_id: str, version: int) -> bytes:
    """A well-formed record of a made-up student, naming `record_id`, signed by nobody."""
    model = parse(read_xml(stored("25000301")))
    envelope = dataclasses.replace(model.envelope, record_id=record_id, version=version)
    return build(dataclasses.replace(model, envelope=envelope, slots=Slots()))


def signed_elsewhere(record_id: str, version: int) -> bytes:
    """A record of another school, signed through all four steps with that school's keys (an
    insider there holds them), naming `record_id` and `version`."""
    other = stored("25000301")
    school = other.record.school
    model = parse(read_xml(other))
    envelope = dataclasses.replace(model.envelope, record_id=record_id, version=version)
    content = build(dataclasses.replace(model, envelope=envelope, slots=Slots()))
    steps = [("GVBM", s.code, s.teacher.personal_id) for s in model.subjects] + [
        ("GVCN", None, model.confirmation.homeroom_teacher.personal_id),
        ("CBQL", None, model.confirmation.principal.personal_id),
        ("KY_PHAT_HANH", None, org_label(school)),
    ]
    for slot, subject, label in steps:
        signer = token_signer(school, label)  # one session on the token at a time
        try:
            content = sign_step(content, slot, signer, subject)
        finally:
            signer.close()
    return content


FILES = {"minimal": minimal, "unsigned": unsigned, "signed elsewhere": signed_elsewhere}


@pytest.mark.parametrize("kind", list(FILES))
def test_a_file_naming_a_stored_record_answers_as_for_an_unknown_one(client, demo, kind):
    version = stored()
    known = str(version.record.record_id)
    unknown = str(uuid.uuid4())
    make = FILES[kind]
    for_known = make(known, version.version)
    for_unknown = make(unknown, version.version)
    if kind == "signed elsewhere":
        # the other school's keys sign it: the file alone is a valid record of that school
        assert api(client, for_unknown)["verdict"] == "VALID"

    answers = api(client, for_known), api(client, for_unknown)
    assert str(answers[0]).replace(known, "ID") == str(answers[1]).replace(unknown, "ID")
    pages = page(client, for_known), page(client, for_unknown)
    assert pages[0].replace(known, "ID") == pages[1].replace(unknown, "ID")

    student, school = version.record.student, version.record.school
    for shown in (str(answers[0]), pages[0]):
        assert student.full_name not in shown and school.name not in shown
        assert "online_status" not in shown and "SUPERSEDED" not in shown


def _revoked(demo) -> RecordVersion:
    version = stored()
    principal = user("ht.chuvanan")
    cancel = revoke_record(principal, version.record, "Cấp nhầm")
    signer = token_signer(version.record.school, principal.staff.personal_id)
    try:
        assert sign_records(principal, [cancel], "CBQL", signer).issued == [cancel]
    finally:
        signer.close()
    version.refresh_from_db()
    assert version.state == State.REVOKED
    return version


def test_the_stored_version_itself_still_gets_its_status_and_names(client, demo):
    version = stored()
    xml = read_xml(version)
    pdf = read_pdf(Document.objects.get(version=version))
    for content, name in ((xml, "hb.xml"), (pdf, "hb.pdf")):
        shown = page(client, content, name)
        assert 'data-verdict="VALID"' in shown
        assert version.record.student.full_name in shown
    revoked = _revoked(demo)
    answer = api(client, read_xml(revoked))
    assert answer["verdict"] == "RECORD_REVOKED" and answer["record"]["status"] == State.REVOKED


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda xml: xml.split(b"?>", 1)[1],  # no XML declaration
        lambda xml: b"\xef\xbb\xbf" + xml,  # a byte order mark
        lambda xml: xml.replace(b"version='1.0' encoding='UTF-8'", b'version="1.0"', 1),
        lambda xml: xml.replace(b'PhienBanDinhDang="1.0"', b"PhienBanDinhDang='1.0'", 1),
    ],
)
def test_a_copy_of_a_revoked_version_written_out_again_is_still_revoked(client, demo, rewrite):
    """Other bytes, the same signed content and intact signatures: the same version."""
    revoked = _revoked(demo)
    copy = rewrite(read_xml(revoked))
    assert copy != read_xml(revoked)
    answer = api(client, copy)
    assert answer["verdict"] == "RECORD_REVOKED", answer
    assert answer["checks"][-1]["check"] == "online_status"
