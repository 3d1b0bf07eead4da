"""A subject teacher types scores into the grade book in Chromium; averages follow."""

from __future__ import annotations

import pytest

from hocba.gradebook.models import Assessment, ClassSubject
from tests.e2e.test_login import browser_page, demo_data  # noqa: F401 - fixtures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_teacher_enters_a_score_and_sees_the_average_change(live_server, demo_data, browser_page):  # noqa: F811
    page = browser_page
    cs = ClassSubject.objects.get(
        class_group__school__code="25000201", class_group__name="7A",
        class_group__school_year__name="2024-2025", subject_code="TOAN",
    )  # fmt: skip
    student = cs.class_group.enrolments.order_by("student__full_name").first().student
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "gv.chuvanan.toan.k7")
    page.fill("#id_password", "hocba-demo")
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{live_server.url}/gradebook/subjects/{cs.pk}/?term=HK1")
    average = page.locator(f"#term-{student.pk}")
    before = average.inner_text()
    cell = page.locator(f'input[name="c-{student.pk}-HK1-CK-1"]')
    cell.fill("0")
    cell.press("Enter")  # saves through htmx and moves to the cell below
    page.wait_for_function(
        "([id, old]) => document.getElementById(id).innerText !== old",
        arg=[f"term-{student.pk}", before],
    )
    assert average.inner_text() != before
    stored = Assessment.objects.get(class_subject=cs, student=student, term="HK1", kind="CK")
    assert stored.score == 0
    focused = page.evaluate("document.activeElement.name")
    assert focused.endswith("-HK1-CK-1") and not focused.startswith(f"c-{student.pk}-")
    cell.fill("11")
    cell.dispatch_event("change")
    page.wait_for_selector(f"#err-{student.pk}:has-text('ngoài khoảng 0–10')")
