"""Weak connections and no JavaScript: the pages people read work without scripts, are small on
the wire, and every form field has a label a keyboard or screen-reader user can reach."""

from __future__ import annotations

import gzip
from html.parser import HTMLParser

import pytest

from hocba.family.models import StudentAccess
from hocba.gradebook.models import ClassSubject
from hocba.records.models import RecordVersion, State
from tests.e2e.test_login import demo_data  # noqa: F401 - fixture
from tests.e2e.test_signing_path import browser  # noqa: F401 - fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCHOOL = "25000201"
#: What one page may weigh on the wire (HTML and everything it loads, as transferred): a few
#: seconds on a 2G/EDGE connection.
PAGE_BUDGET = 60_000


def _pages(live_server) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(user, address, text the reader must see) for the pages read most."""
    book = ClassSubject.objects.get(
        class_group__school__code=SCHOOL, class_group__name="7A",
        class_group__school_year__name="2024-2025", subject_code="TOAN",
    )  # fmt: skip
    version = RecordVersion.objects.filter(
        record__school__code=SCHOOL, state=State.ISSUED
    ).select_related("record__student")[0]  # fmt: skip
    student = StudentAccess.objects.filter(
        relation="SELF", student__records__school__code=SCHOOL
    ).select_related("user", "student")[0]  # fmt: skip
    record = version.record
    qr = f"/xac-minh/{record.record_id}/{version.version}?h={version.xml_sha256[:12]}"
    return [
        ("ht.chuvanan", f"/schools/{SCHOOL}/", "Trường THCS Chu Văn An"),
        ("ht.chuvanan", f"/records/{record.record_id}/", record.student.full_name),
        ("ht.chuvanan", f"/signing/schools/{SCHOOL}/", "7A"),
        ("gv.chuvanan.toan.k7", f"/gradebook/subjects/{book.pk}/", book.class_group.name),
        ("gv.chuvanan.toan.k7", "/signing/", "Toán"),
        ("vt.chuvanan", f"/exchange/schools/{SCHOOL}/", "Trường THCS Chu Văn An"),
        ("so.phutho", "/exchange/stats/", "Phú Thọ"),
        (student.user.username, "/my/", student.student.full_name),
        ("", qr, "Hợp lệ"),
        ("", "/xac-minh/", "Kiểm tra"),
    ]


def _sign_in(context, live_server, username: str):  # type: ignore[no-untyped-def]
    page = context.new_page()
    if username:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "hocba-demo")
        page.get_by_role("button", name="Đăng nhập").click()
        page.wait_for_load_state()
    return page


def test_the_pages_read_most_work_without_javascript(live_server, demo_data, browser):  # noqa: F811
    for username, address, text in _pages(live_server):
        context = browser.new_context(locale="vi-VN", java_script_enabled=False)
        page = _sign_in(context, live_server, username)
        response = page.goto(live_server.url + address)
        assert response is not None and response.status == 200, address
        assert text in page.inner_text("main"), (address, text)
        context.close()


class _Fields(HTMLParser):
    """Form fields and the labels that name them."""

    def __init__(self) -> None:
        super().__init__()
        self.unnamed: list[str] = []
        self.label_for: set[str] = set()
        self.fields: list[tuple[dict[str, str], bool]] = []
        self._in_label = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "label":
            self._in_label += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea") and a.get("type") not in (
            "hidden", "submit", "button",
        ):  # fmt: skip
            self.fields.append((a, self._in_label > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._in_label -= 1

    def unlabelled(self) -> list[str]:
        return [
            a.get("name", "?")
            for a, wrapped in self.fields
            if not (
                wrapped or a.get("aria-label") or a.get("title") or a.get("id") in self.label_for
            )
        ]


def test_pages_are_small_and_every_field_has_a_label(live_server, demo_data, browser):  # noqa: F811
    weights = {}
    for username, address, _text in _pages(live_server):
        context = browser.new_context(locale="vi-VN")
        page = _sign_in(context, live_server, username)
        sizes: list[int] = []

        def count(request, sizes=sizes):  # type: ignore[no-untyped-def]
            wire = request.sizes()  # pages as transferred (GZipMiddleware compresses them)
            body = wire["responseBodySize"]
            if "/static/" in request.url:
                # the test server sends static files plain; `hocba serve` sends the gzip copy
                # collectstatic made (tests/web/test_serve.py)
                body = len(gzip.compress(request.response().body(), 9))
            sizes.append(body + wire["responseHeadersSize"])

        page.on("requestfinished", count)
        page.goto(live_server.url + address)
        page.wait_for_load_state("networkidle")
        weights[address] = sum(sizes)
        fields = _Fields()
        fields.feed(page.content())
        assert fields.unlabelled() == [], (address, fields.unlabelled())
        context.close()
    heavy = {a: w for a, w in weights.items() if w > PAGE_BUDGET}
    assert heavy == {}, weights
