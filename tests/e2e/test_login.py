"""Browser tests: Playwright driving Debian's Chromium against the live server."""

from __future__ import annotations

import os

import pytest

from hocba.demo.builder import build_demo
from hocba.organizations.models import School
from tests.conftest import require_tool

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    chromium = require_tool("chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(locale="vi-VN")
        yield page
        browser.close()


@pytest.fixture
def demo_data():
    # Transactional tests empty the database after them; rebuild the demo if an earlier one did.
    if not School.objects.filter(code="25000201").exists():
        build_demo(students_per_school=6, seed=3)


def test_principal_logs_in_and_sees_the_school(live_server, demo_data, browser_page):
    page = browser_page
    page.goto(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    page.fill("#id_username", "ht.chuvanan")
    page.fill("#id_password", "hocba-demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/schools/25000201/")
    assert page.locator("h1").inner_text() == "Trường THCS Chu Văn An"
    assert page.get_by_role("link", name="7A").is_visible()
    page.get_by_role("link", name="7A").click()
    assert "Lớp 7A" in page.locator("h1").inner_text()
