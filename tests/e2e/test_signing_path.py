"""The whole path in Chromium: a subject teacher corrects a score in the grade book and the
principal starts the corrections on the record pages; then the subject teacher, the homeroom
teacher, the principal ("sign all", progress to 100%) and the seal keeper sign them with the USB
token through the local signer agent; the seal keeper sends them to the warehouse; the public
verification page says "Hợp lệ", "Đã bị sửa đổi" for a tampered upload, and "Đã thu hồi" after a
revocation.

With HOCBA_SCREENSHOTS=DIR the pages are saved there (docs/screenshots/ holds the committed set).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from hocba.exchange.models import OutboxItem
from hocba.formats.parser import parse
from hocba.gradebook.models import ClassSubject
from hocba.organizations.models import Role, RoleAssignment
from hocba.records.models import Record, RecordVersion, State
from hocba.records.services import correct_record, read_xml, revoke_record
from hocba.signing import config
from hocba.signing.agent import SignerAgent
from hocba.signing.dev.tokens import token_signer
from hocba.signing.services import sign_records
from tests.conftest import require_tool
from tests.e2e.test_login import CHROMIUM_ARGS, demo_data  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ["HOCBA_SCREENSHOTS"]) if os.environ.get("HOCBA_SCREENSHOTS") else None
SCHOOL, CLASS, YEAR = "25000201", "7A", "2024-2025"
PIN = "123456"  # the development tokens' PIN


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    chromium = require_tool("chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def agent(live_server, demo_data, settings):  # type: ignore[no-untyped-def]  # noqa: F811
    """The signer agent on loopback, serving the site's pages only."""
    config.reset()
    agent = SignerAgent(config.pkcs11_library(), config.softhsm_conf(), [live_server.url])
    with agent.serve() as server:
        settings.SIGNER_AGENT_URL = server.url
        yield agent


@dataclass
class Sent:
    """A request the browser sent, as recorded while it was sent."""

    request: Any
    from_site_page: bool
    """Sent by a page of the hocba site (not by the agent's window)."""


def record_requests(context, site_pages) -> list[Sent]:  # type: ignore[no-untyped-def]
    sent: list[Sent] = []

    def on_request(request) -> None:  # type: ignore[no-untyped-def]
        try:
            page = request.frame.page
        except PlaywrightError:  # a request of no page (a service worker)
            page = None
        sent.append(Sent(request, page in site_pages))

    context.on("request", on_request)
    return sent


def carries(request, secret: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether the request carries the secret in its address, a header or its body."""
    try:
        headers = request.all_headers()
    except PlaywrightError:  # its page is gone: the headers recorded when it was sent
        headers = request.headers
    texts = [request.url, *headers.keys(), *headers.values()]
    body = request.post_data_buffer or b""
    return any(secret in t for t in texts) or secret.encode() in body


def signed_in(browser, live_server, username: str):  # type: ignore[no-untyped-def]
    page = browser.new_context(locale="vi-VN", viewport={"width": 1200, "height": 900}).new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "hocba-demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state()
    return page


def year_score(xml: bytes, subject: str) -> str:
    return next(s.year for s in parse(xml).subjects if s.code == subject)


def sign_in_page(page, live_server, slot_prefix: str, name: str, pin: str = PIN):  # type: ignore[no-untyped-def]
    """Sign a group from the signing page: the agent's window opens, the teacher reads the batch
    there and types the PIN; the page finishes with a progress bar. What the window showed."""
    page.goto(f"{live_server.url}/signing/")
    form = page.locator(f'form.agent-sign[data-group^="{slot_prefix}"]').first
    assert form.locator('input[name="pin"]').count() == 0  # no PIN on the site's page
    shot(page, f"sign-{name}-before")
    with page.expect_popup() as opened:
        form.get_by_role("button").click()
    window = opened.value
    window.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/batches/"))
    shown = window.locator("body").text_content() or ""
    assert "Xác nhận ký số" in shown and live_server.url in shown, shown
    window.locator('input[name="pin"]').fill(pin)
    shot(window, f"sign-{name}-agent")
    window.get_by_role("button", name=re.compile(r"^Ký \d+ học bạ$")).click(no_wait_after=True)
    status = form.locator(".sign-status")
    page.wait_for_function(
        "el => /^(Hoàn tất|Không ký được)/.test(el.textContent)",
        arg=status.element_handle(),
        timeout=60_000,
    )
    assert status.inner_text().startswith("Hoàn tất 100%"), status.inner_text()
    assert int(form.locator("progress").get_attribute("value") or 0) > 0
    shot(page, f"sign-{name}-done")
    for _ in range(100):  # the page closed the agent's window once it had the values
        if window.is_closed():
            break
        page.wait_for_timeout(100)
    assert window.is_closed()
    return shown


def test_the_signing_path_to_the_warehouse_and_the_verification_page(
    live_server, agent, browser, settings, tmp_path
):
    settings.UPSTREAM_URL = "embedded"
    principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school__code=SCHOOL).staff.user
    records = list(
        Record.objects.filter(
            school__code=SCHOOL, class_group__name=CLASS, class_group__school_year__name=YEAR,
            versions__state=State.ISSUED,
        )[:3]
    )  # fmt: skip
    teachers = RoleAssignment.objects.filter(
        role=Role.SUBJECT_TEACHER, class_group=records[0].class_group
    ).select_related("staff__user")
    ui_teacher = next(a for a in teachers if a.subject_code == "TOAN").staff
    first = records[0]
    issued_score = year_score(read_xml(first.versions.get(state=State.ISSUED)), "TOAN")

    # the Toán teacher corrects a score in the grade book
    page = signed_in(browser, live_server, ui_teacher.user.username)
    book = ClassSubject.objects.get(class_group=first.class_group, subject_code="TOAN")
    page.goto(f"{live_server.url}/gradebook/subjects/{book.pk}/?term=HK2")
    average = page.locator(f"#term-{first.student_id}")
    shown = average.inner_text()
    cell = page.locator(f'input[name="c-{first.student_id}-HK2-CK-1"]')
    cell.fill("0" if cell.input_value() not in ("0", "0,0") else "10")
    cell.press("Enter")
    page.wait_for_function(
        "([id, old]) => document.getElementById(id).innerText !== old",
        arg=[f"term-{first.student_id}", shown],
    )
    shot(page, "gradebook-entry")

    # the principal starts the corrections on the record pages (a reason is required)
    head = signed_in(browser, live_server, principal.username)
    for record in records:
        head.goto(f"{live_server.url}/records/{record.record_id}/")
        head.get_by_role("button", name="Bắt đầu điều chỉnh").click()
        assert head.url.endswith(f"/records/{record.record_id}/")  # the browser asks for a reason
        head.fill('textarea[name="reason"]', "Đính chính điểm nhập nhầm")
        head.get_by_role("button", name="Bắt đầu điều chỉnh").click()
        head.wait_for_load_state()
    shot(head, "record-correction")
    drafts = [r.versions.get(state=State.DRAFT) for r in records]
    for assignment in teachers:  # the other subject teachers sign with their tokens directly
        person = assignment.staff
        if person == ui_teacher:
            continue
        signer = token_signer(records[0].school, person.personal_id)
        try:
            sign_records(person.user, drafts, "GVBM", signer)
        finally:
            signer.close()

    sign_in_page(page, live_server, "GVBM", "teacher")
    homeroom = RoleAssignment.objects.get(
        role=Role.HOMEROOM_TEACHER, class_group=records[0].class_group
    ).staff.user
    sign_in_page(
        signed_in(browser, live_server, homeroom.username), live_server, "GVCN", "homeroom"
    )
    sign_in_page(head, live_server, "CBQL", "principal")
    head.goto(f"{live_server.url}/signing/schools/{SCHOOL}/")
    assert head.locator("svg.chart").first.is_visible()
    shot(head, "principal-dashboard")
    keeper = signed_in(browser, live_server, "vt.chuvanan")
    sign_in_page(keeper, live_server, "KY-", "seal-keeper")
    for draft in drafts:
        draft.refresh_from_db()
        assert draft.state == State.ISSUED
    # the issued version carries the teacher's correction
    assert year_score(read_xml(drafts[0]), "TOAN") != issued_score

    # seal keeper: send to the warehouse and see the answers
    keeper.goto(f"{live_server.url}/exchange/schools/{SCHOOL}/")
    keeper.get_by_role("button", name="Gửi ngay").click()
    keeper.wait_for_load_state()
    shot(keeper, "exchange-outbox")
    for draft in drafts:
        item = OutboxItem.objects.get(record_id=draft.record.record_id, version=draft.version)
        assert item.state == OutboxItem.State.ACCEPTED, (item.code, item.message)

    # anyone: the verification page
    visitor = browser.new_context(
        locale="vi-VN", viewport={"width": 1200, "height": 900}
    ).new_page()
    version = RecordVersion.objects.get(pk=drafts[0].pk)
    address = f"/xac-minh/{version.record.record_id}/{version.version}?h={version.xml_sha256[:12]}"
    visitor.goto(live_server.url + address)
    assert visitor.locator(".verdict-word").inner_text() == "Hợp lệ"
    assert version.record.student.personal_id not in visitor.content()
    shot(visitor, "verify-valid")

    xml = read_xml(version)
    score = re.search(rb"<DIEM_CA_NAM>([0-9])\.([0-9])</DIEM_CA_NAM>", xml)
    assert score is not None
    other = b"9" if score.group(1) != b"9" else b"8"
    tampered = tmp_path / "hoc-ba.xml"
    tampered.write_bytes(
        xml.replace(score.group(0), b"<DIEM_CA_NAM>" + other + b".0</DIEM_CA_NAM>", 1)
    )
    visitor.goto(f"{live_server.url}/xac-minh/")
    shot(visitor, "verify-portal")
    visitor.set_input_files('input[name="file"]', str(tampered))
    visitor.get_by_role("button", name="Kiểm tra tệp").click()
    visitor.wait_for_load_state()
    assert visitor.locator(".verdict-word").inner_text() == "Đã bị sửa đổi"
    shot(visitor, "verify-tampered")

    cancel = revoke_record(principal, version.record, "Cấp nhầm học sinh")
    signer = token_signer(version.record.school, principal.staff.personal_id)
    try:
        sign_records(principal, [cancel], "CBQL", signer)
    finally:
        signer.close()
    visitor.goto(live_server.url + address)
    assert visitor.locator(".verdict-word").inner_text() == "Đã thu hồi"
    shot(visitor, "verify-revoked")


def test_the_pin_is_typed_in_the_agents_window_and_no_request_of_the_site_carries_it(
    live_server, agent, browser
):
    principal = RoleAssignment.objects.get(role=Role.PRINCIPAL, school__code=SCHOOL).staff.user
    records = list(
        Record.objects.filter(
            school__code=SCHOOL, class_group__name=CLASS, class_group__school_year__name=YEAR,
            versions__state=State.ISSUED,
        ).select_related("class_group", "school")[:3]
    )  # fmt: skip
    drafts = [correct_record(principal, r, "Đính chính điểm nhập nhầm") for r in records]
    teacher = RoleAssignment.objects.get(
        role=Role.SUBJECT_TEACHER, class_group=records[0].class_group, subject_code="TOAN"
    ).staff.user
    page = signed_in(browser, live_server, teacher.username)
    sent = record_requests(page.context, [page])

    shown = sign_in_page(page, live_server, "GVBM", "teacher-pin")

    # the teacher saw what is signed before typing the PIN
    for fact in [records[0].school.name, CLASS, "Toán", "Giáo viên bộ môn",
                 f"Ký {len(drafts)} học bạ", records[0].student.full_name]:  # fmt: skip
        assert fact in shown, fact
    for draft in drafts:
        draft.refresh_from_db()
        assert draft.state == State.SIGNING
    site = [s.request for s in sent if s.from_site_page]
    assert any(r.url.endswith("/signing/complete/") for r in site)
    assert any(r.url == f"{agent.url}/v1/batches" for r in site)
    assert not [r.url for r in site if carries(r, PIN)]
    assert not [r.url for r in (s.request for s in sent) if r.url.startswith(live_server.url)
                and carries(r, PIN)]  # fmt: skip
    # the PIN went once, from the agent's own window to the agent
    typed = [s.request for s in sent if carries(s.request, PIN)]
    assert [(r.method, r.url.rsplit("/", 1)[0]) for r in typed] == [
        ("POST", f"{agent.url}/batches")
    ]
    assert typed[0].headers.get("origin") == agent.url


def test_pages_of_the_student_the_sor_and_the_share_link(live_server, demo_data, browser):  # noqa: F811
    """The student's own page and a share link; the statistics page for the Sở (screenshots)."""
    from hocba.family.models import StudentAccess

    access = StudentAccess.objects.filter(relation="SELF").select_related("user", "student")[0]
    page = signed_in(browser, live_server, access.user.username)
    assert page.url.endswith("/my/")
    assert access.student.full_name in page.content()
    page.fill('input[name="recipient"]', "Trường THPT Việt Trì – hội đồng tuyển sinh")
    page.get_by_role("button", name="Tạo liên kết").click()
    page.wait_for_load_state()
    shot(page, "student-records")
    link = re.search(r"(https?://\S+/chia-se/[A-Za-z0-9_-]+/)", page.content())
    assert link is not None
    visitor = browser.new_context(
        locale="vi-VN", viewport={"width": 1200, "height": 900}
    ).new_page()
    visitor.goto(link.group(1))
    assert visitor.locator(".verdict-word").inner_text() == "Hợp lệ"
    shot(visitor, "share-link")
    officer = signed_in(browser, live_server, "so.phutho")
    officer.goto(f"{live_server.url}/exchange/stats/")
    assert officer.locator("svg.chart").is_visible()
    shot(officer, "statistics")
