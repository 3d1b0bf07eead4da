"""A principal adds a student to a class and prints the class's parent letters in Chromium; a
parent activates the account from a letter and sees the child's records."""

from __future__ import annotations

import io
import os
import re

import pytest
from pypdf import PdfReader

from hocba.family.models import StudentAccess
from hocba.records.models import Record, State
from hocba.students.models import Student
from tests.conftest import require_tool
from tests.e2e.test_login import CHROMIUM_ARGS, demo_data  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHOOL = "25000201"


def test_principal_adds_a_student_and_a_parent_activates_from_the_letter(
    live_server,
    demo_data,  # noqa: F811
):
    record = Record.objects.filter(
        school__code=SCHOOL, class_group__name="7A", versions__state=State.ISSUED
    ).select_related("student", "class_group")[0]
    child = record.student
    # this child's parent has no account yet: the class's letters will include one
    StudentAccess.objects.filter(student=child, relation=StudentAccess.Relation.PARENT).delete()
    chromium = require_tool("chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM reads beside Playwright
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        school_side = browser.new_context(locale="vi-VN", accept_downloads=True)
        page = school_side.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "ht.chuvanan")
        page.fill("#id_password", "hocba-demo")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_url(f"{live_server.url}/schools/{SCHOOL}/")
        page.get_by_role("link", name="Quản lý học sinh").click()
        page.get_by_role("link", name="Thêm học sinh").click()
        page.fill("#id_full_name", "trịnh thị thu trang")
        page.fill("#id_student_code", "HS7A9999")
        page.fill("#id_date_of_birth", "2012-08-20")
        page.select_option("#id_sex", label="Nữ")
        page.select_option("#id_ethnicity", label="Kinh")
        page.fill("#id_birthplace", "Việt Trì, Phú Thọ")
        page.fill("#id_mother_name", "Đặng Thị Hằng")
        page.select_option("#id_class_group", label="7A (2024-2025)")
        page.fill("#id_date_joined", "2024-10-07")
        page.select_option("#id_join_reason", label="Chuyển đến")
        page.get_by_role("button", name="Thêm", exact=True).click()
        page.wait_for_selector("h1:has-text('Trịnh Thị Thu Trang')")
        assert "Đang học lớp 7A (2024-2025)" in page.content()
        added = Student.objects.get(student_code="HS7A9999")
        assert added.enrolments.get().class_group_id == record.class_group_id

        page.goto(f"{live_server.url}/schools/{SCHOOL}/students/?q=trinh thi thu")
        assert page.get_by_role("link", name="Trịnh Thị Thu Trang").is_visible()

        page.goto(f"{live_server.url}/schools/{SCHOOL}/accounts/")
        page.select_option("#class_group", label="7A")
        with page.expect_download() as download:
            page.get_by_role("button", name="Tài khoản phụ huynh và thư").click()
        pdf = download.value.path().read_bytes()
        pages = [x.extract_text() for x in PdfReader(io.BytesIO(pdf)).pages]
        assert any("Phụ huynh học sinh Trịnh Thị Thu Trang" in text for text in pages)
        letter = next(text for text in pages if f"Phụ huynh học sinh {child.full_name}" in text)
        username = re.search(r"ph\.[a-z0-9]+", letter)
        code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", letter)
        assert username and code, letter

        home = browser.new_context(locale="vi-VN").new_page()  # the parent's phone
        home.goto(f"{live_server.url}/kich-hoat/?u={username.group(0)}&c={code.group(0)}")
        assert home.locator("#username").input_value() == username.group(0)
        home.fill("#password1", "Hoa-sen-2026!")
        home.fill("#password2", "Hoa-sen-2026!")
        home.get_by_role("button", name="Kích hoạt").click()
        home.wait_for_url(f"{live_server.url}/my/")
        assert "Tài khoản của bạn đã sẵn sàng" in home.content()
        heading = home.locator("h2").first.inner_text()
        assert child.full_name in heading and "7A" in heading
        browser.close()
