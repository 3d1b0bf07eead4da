"""Grade-book pages and API: what each user sees, and 403 for everyone else."""

import pytest

from hocba.gradebook.models import Assessment, ClassSubject, YearResult
from tests.factories.database import current_class

pytestmark = pytest.mark.django_db


def test_teacher_sees_an_editable_grade_book(toan_7a, login):
    page = login("gv.chuvanan.toan.k7").get(f"/gradebook/subjects/{toan_7a.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "HK I TX4" in body and "HK I CK" in body
    assert 'hx-post="/gradebook/subjects/' in body and "readonly" not in body


def test_homeroom_teacher_reads_but_cannot_edit(toan_7a, login):
    client = login("gvcn.chuvanan.7a")
    body = client.get(f"/gradebook/subjects/{toan_7a.pk}/").content.decode()
    assert "readonly" in body
    student = toan_7a.class_group.enrolments.first().student
    post = client.post(f"/gradebook/subjects/{toan_7a.pk}/",
                       {"term": "HK1", f"c-{student.pk}-HK1-TX-1": "1"})  # fmt: skip
    assert post.status_code == 403


@pytest.mark.parametrize(
    "username", ["gv.chuvanan.nguvan.k7", "gv.chuvanan.toan.k8", "gvcn.chuvanan.8a", "ht.hungvuong"]
)
def test_the_wrong_teacher_gets_403_on_page_and_api(toan_7a, login, username):
    client = login(username)
    student = toan_7a.class_group.enrolments.first().student
    name = f"c-{student.pk}-HK1-TX-1"
    before = list(Assessment.objects.filter(class_subject=toan_7a).values_list("score", flat=True))
    write = client.post(f"/gradebook/subjects/{toan_7a.pk}/cell/", {"cell": name, name: "1"})
    assert write.status_code == 403
    cells = [{"student_id": student.pk, "term": "HK1", "kind": "TX", "seq": 1, "value": "1"}]
    api = client.put(f"/api/v1/gradebook/subjects/{toan_7a.pk}", {"cells": cells},
                     content_type="application/json")  # fmt: skip
    assert api.status_code == 403
    after = list(Assessment.objects.filter(class_subject=toan_7a).values_list("score", flat=True))
    assert before == after


def test_teachers_of_other_classes_cannot_read_the_book(toan_7a, login):
    for username in ("gv.chuvanan.toan.k8", "gvcn.chuvanan.8a", "ht.hungvuong"):
        client = login(username)
        assert client.get(f"/gradebook/subjects/{toan_7a.pk}/").status_code == 403
        assert client.get(f"/api/v1/gradebook/subjects/{toan_7a.pk}").status_code == 403
        assert client.get(f"/gradebook/classes/{toan_7a.class_group.pk}/").status_code == 403


def test_htmx_cell_save_answers_with_the_new_averages(toan_7a, login):
    student = toan_7a.class_group.enrolments.first().student
    name = f"c-{student.pk}-HK1-CK-1"
    response = login("gv.chuvanan.toan.k7").post(
        f"/gradebook/subjects/{toan_7a.pk}/cell/", {"cell": name, name: "10"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    result = YearResult.objects.get(class_group=toan_7a.class_group, student=student)
    hk1 = result.year_outcome.subject("TOAN").shown("hk1").replace(".", ",")
    assert f'id="term-{student.pk}" hx-swap-oob="true">{hk1}<' in body


def test_htmx_cell_save_explains_a_bad_value(toan_7a, login):
    student = toan_7a.class_group.enrolments.first().student
    name = f"c-{student.pk}-HK1-CK-1"
    body = (
        login("gv.chuvanan.toan.k7")
        .post(f"/gradebook/subjects/{toan_7a.pk}/cell/", {"cell": name, name: "12"})
        .content.decode()
    )
    assert "điểm 12 ngoài khoảng 0–10" in body


def test_api_reads_and_writes_for_the_assigned_teacher(toan_7a, login):
    client = login("gv.chuvanan.toan.k7")
    book = client.get(f"/api/v1/gradebook/subjects/{toan_7a.pk}").json()
    assert book["subject_code"] == "TOAN" and book["cells"]
    student = toan_7a.class_group.enrolments.first().student
    cells = [{"student_id": student.pk, "term": "HK1", "kind": "GK", "seq": 1, "value": "7,5"}]
    saved = client.put(f"/api/v1/gradebook/subjects/{toan_7a.pk}", {"cells": cells},
                       content_type="application/json")  # fmt: skip
    assert saved.status_code == 200
    wrong = {"cells": [dict(cells[0], value="10.5")]}
    url = f"/api/v1/gradebook/subjects/{toan_7a.pk}"
    bad = client.put(url, wrong, content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"] == ["cells[0]: điểm 10.5 ngoài khoảng 0–10"]


def test_class_summary_shows_levels_outcomes_and_summer_work(demo, login):
    body = (
        login("gvcn.chuvanan.7a")
        .get(f"/gradebook/classes/{current_class('7A').pk}/")
        .content.decode()
    )
    assert "Được lên lớp" in body or "Không được lên lớp" in body
    assert "Học tập" in body and "Rèn luyện" in body
    principal = login("ht.chuvanan")
    pages = [principal.get(f"/gradebook/classes/{current_class(n).pk}/").content.decode()
             for n in ("6A", "7A", "8A", "9A")]  # fmt: skip
    text = " ".join(pages)
    assert "Kiểm tra lại" in text or "Rèn luyện hè" in text or "Rèn luyện trong hè" in text


def test_chart_shows_the_distribution(toan_7a, login):
    body = (
        login("gv.chuvanan.toan.k7")
        .get(f"/gradebook/subjects/{toan_7a.pk}/chart/")
        .content.decode()
    )
    assert "<svg" in body and "<rect" in body
    assert "9–10" in body


def test_primary_grade_book_uses_levels_and_tests(demo, login):
    toan = ClassSubject.objects.get(
        class_group=current_class("3A", "25000101"), subject_code="TOAN"
    )
    body = login("gvcn.kimdong.3a").get(f"/gradebook/subjects/{toan.pk}/?term=HK2").content.decode()
    assert "HK II Mức" in body and "HK II KTĐK" in body
