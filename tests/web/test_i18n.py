import re
import subprocess
from pathlib import Path

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import translation

import hocba
from hocba.family.models import StudentAccess
from hocba.records.models import Record, RecordVersion, State
from hocba.records.services import read_xml
from tests.conftest import require_tool
from tests.factories.database import issued_version

CATALOGUE = Path(hocba.__file__).parent / "locale" / "vi" / "LC_MESSAGES"


def test_every_message_has_a_vietnamese_translation():
    msgfmt = require_tool("msgfmt")
    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", CATALOGUE / "django.po"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr


def test_compiled_catalogue_matches_its_source(tmp_path):
    msgfmt = require_tool("msgfmt")
    compiled = tmp_path / "django.mo"
    subprocess.run([msgfmt, "-o", compiled, CATALOGUE / "django.po"], check=True)
    assert compiled.read_bytes() == (CATALOGUE / "django.mo").read_bytes(), (
        "run: msgfmt -o src/hocba/locale/vi/LC_MESSAGES/django.mo "
        "src/hocba/locale/vi/LC_MESSAGES/django.po"
    )


# --- the public verification, student and signing pages in both languages --------------------


@pytest.fixture
def fresh(demo):  # type: ignore[no-untyped-def]
    """A clean cache (rate limits, kept pages), and the default language again afterwards (the
    test client leaves the last request's language active in this thread)."""
    cache.clear()
    yield demo
    cache.clear()
    translation.deactivate()


def english(client: Client) -> Client:
    """The language switch, as the page's form does it."""
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 302
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def address(version: RecordVersion) -> str:
    return f"/xac-minh/{version.record.record_id}/{version.version}?h={version.xml_sha256[:12]}"


def tampered(version: RecordVersion) -> bytes:
    xml = read_xml(version)
    score = re.search(rb"<DIEM_CA_NAM>([0-9])\.([0-9])</DIEM_CA_NAM>", xml)
    assert score is not None
    other = b"9" if score.group(1) != b"9" else b"8"
    return xml.replace(score.group(0), b"<DIEM_CA_NAM>" + other + b".0</DIEM_CA_NAM>", 1)


@pytest.mark.django_db
def test_the_verification_pages_in_vietnamese_and_in_english(client, fresh):
    version = issued_version()
    portal = text(client.get("/xac-minh/"))
    assert '<html lang="vi">' in portal and "Xác minh học bạ số" in portal
    assert "Theo mã học bạ" in portal and "Kiểm tra tệp" in portal
    page = text(client.get(address(version)))
    assert "Hợp lệ" in page and "Chữ ký số của giáo viên bộ môn" in page and "<td>Đạt</td>" in page

    english(client)
    portal = text(client.get("/xac-minh/"))
    assert '<html lang="en">' in portal
    assert "Digital student record verification" in portal and "Check the file" in portal
    assert "Xác minh học bạ số" not in portal and "Kiểm tra tệp" not in portal
    page = text(client.get(address(version)))
    assert 'data-verdict="VALID"' in page and ">Valid<" in page and "Hợp lệ" not in page
    assert "Digital signature of the subject teacher" in page and "<td>Passed</td>" in page
    assert "Chữ ký số của" not in page and "<td>Đạt</td>" not in page
    assert version.record.student.full_name in page  # the data stays as it is

    upload = SimpleUploadedFile("hb.xml", tampered(version))
    bad = text(client.post("/xac-minh/", {"file": upload}))
    assert 'data-verdict="TAMPERED"' in bad and "Tampered with" in bad
    assert "The content was changed after signing" in bad and "DIGEST_MISMATCH" in bad
    assert "Đã bị sửa đổi" not in bad and "Nội dung đã bị thay đổi" not in bad
    assert "Choose a record file" in client.post("/xac-minh/", {}).content.decode()


@pytest.mark.django_db
def test_the_api_keeps_its_codes_and_vietnamese_messages_in_any_language(client, fresh):
    english(client)
    version = issued_version()
    report = client.post("/api/v1/verify", tampered(version), content_type="application/xml").json()
    assert report["verdict"] == "TAMPERED"
    messages = {c.get("message") for c in report["checks"]}
    assert "Nội dung đã bị thay đổi sau khi ký" in messages
    assert "The content was changed after signing" not in messages


@pytest.mark.django_db
def test_the_kept_verification_page_is_kept_per_language(fresh):
    """The WSGI fast path answers a drawn page again only to a reader of the same language."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    from hocba.config.wsgi import django_application
    from hocba.verification.fastpath import FastPath

    calls = []

    def django(environ, start_response):  # type: ignore[no-untyped-def]
        calls.append(environ.get("HTTP_COOKIE"))
        return django_application(environ, start_response)

    app = FastPath(django)
    url = address(issued_version())

    def get(cookie: str = "") -> str:
        environ = EnvironBuilder(
            path=url, environ_base={"REMOTE_ADDR": "192.0.2.44", "HTTP_HOST": "127.0.0.1"}
        ).get_environ()
        if cookie:
            environ["HTTP_COOKIE"] = cookie
        body, status, _headers = run_wsgi_app(app, environ, buffered=True)
        assert status.startswith("200"), status
        return b"".join(body).decode()

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        for _ in range(2):  # drawn, then answered from the kept page
            vi, en = get(), get("django_language=en")
            assert "Hợp lệ" in vi and ">Valid<" not in vi
            assert ">Valid<" in en and "Hợp lệ" not in en
        assert len(calls) == 2  # once per language
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_the_student_page_and_a_share_link_in_vietnamese_and_in_english(client, fresh, login):
    access = StudentAccess.objects.select_related("user").filter(relation="SELF")[0]
    record = Record.objects.get(student=access.student, versions__state=State.ISSUED)
    student = login(access.user.username)
    page = text(student.get("/my/"))
    assert "Học bạ của tôi" in page and "Tạo liên kết" in page

    english(student)
    page = text(student.get("/my/"))
    assert "My records" in page and "Create link" in page and "Download" in page
    assert "Học bạ của tôi" not in page and "Tạo liên kết" not in page
    shared = student.post(
        f"/my/records/{record.record_id}/share/", {"recipient": "Admissions", "days": "7"}
    )
    message = " ".join(str(m) for m in get_messages(shared.wsgi_request))
    assert "copy it now" in message and "hãy sao chép" not in message
    token = re.search(r"/chia-se/([A-Za-z0-9_-]+)/", message).group(1)  # type: ignore[union-attr]
    opened = text(student.get(f"/chia-se/{token}/"))
    assert "Shared record" in opened and ">Valid<" in opened
    assert "Học bạ được chia sẻ" not in opened and "Hợp lệ" not in opened


@pytest.mark.django_db
def test_the_signing_page_in_vietnamese_and_in_english(client, fresh, login):
    from tests.workflow.test_browser_signing import drafts, teacher_with_work

    drafts(1)
    teacher = login(teacher_with_work())
    page = text(teacher.get("/signing/"))
    assert "Học bạ chờ ký" in page and "Ký bằng USB token" in page
    assert 'data-text-done="Hoàn tất {percent}: đã ký {signed} học bạ"' in page

    english(teacher)
    page = text(teacher.get("/signing/"))
    assert "Records waiting for signature" in page and "Sign with a USB token" in page
    assert 'data-text-done="Done {percent}: signed {signed} records"' in page
    assert " — class " in page
    assert "Học bạ chờ ký" not in page and "Ký bằng USB token" not in page
    assert "Hoàn tất" not in page and " — lớp " not in page


def test_the_words_kept_in_python_read_in_vietnamese_as_their_sources_say():
    """The page's words for texts that other modules keep in Vietnamese (the signing steps)
    translate back to exactly those texts. (The verifier's check messages carry both languages
    themselves: `hocba.formats.report`; the grade book's words: `hocba.rules.labels`.)"""
    from hocba.signing.services import SLOT_NAMES
    from hocba.verification import services as verification

    with translation.override("vi"):
        assert {k: str(v) for k, v in verification.SLOTS.items()} == SLOT_NAMES
