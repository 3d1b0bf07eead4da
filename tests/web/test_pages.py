import pytest

pytestmark = pytest.mark.django_db


def test_login_page_is_vietnamese_by_default(client):
    page = client.get("/login/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Đăng nhập" in body and 'lang="vi"' in body


def test_english_is_available(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    body = client.get("/login/").content.decode()
    assert "Log in" in body and 'lang="en"' in body


def test_wrong_password_is_explained_in_vietnamese(client, demo):
    page = client.post("/login/", {"username": "ht.chuvanan", "password": "sai"})
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.content.decode()


def test_principal_lands_on_the_school_page(client, demo):
    client.post("/login/", {"username": "ht.chuvanan", "password": "hocba-demo"})
    landing = client.get("/", follow=True)
    assert landing.redirect_chain[-1][0] == "/schools/25000201/"
    body = landing.content.decode()
    assert "Trường THCS Chu Văn An" in body and "7A" in body


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("gvcn.chuvanan.7a", "/classes/"),
        ("so.phutho", "/provinces/25/"),
        ("xa.thanhmieu", "/communes/"),
        ("bo.gddt", "/national/"),
        ("quantri", "/admin/"),
    ],
)
def test_each_role_has_its_landing_page(login, username, landing):
    response = login(username).get("/")
    assert response.status_code == 302 and response["Location"].startswith(landing)


def test_teacher_with_several_roles_chooses_from_a_list(login, demo):
    response = login("gv.chuvanan.toan.k7").get("/")
    # one Toán teacher per grade: a single class in the small demo, so it redirects
    assert response.status_code in (200, 302)


def test_review_page_lists_the_school_problems(login, demo):
    body = login("ht.chuvanan").get("/schools/25000201/review/").content.decode()
    assert "PERSONAL_ID_SEX" in body and "PERSONAL_ID_BIRTH_YEAR" in body
    assert "Thiếu quê quán" in body
    assert "PERSONAL_ID_PROVINCE" not in body  # planted at the THPT school


def test_homeroom_review_covers_own_class_only(login, demo):
    body = login("gvcn.chuvanan.7a").get("/schools/25000201/review/").content.decode()
    assert "PERSONAL_ID_BIRTH_YEAR" in body  # planted in 7A
    assert "PERSONAL_ID_SEX" not in body  # planted in 6A


def test_student_page_shows_school_history(login, demo):
    from hocba.students.models import Student

    student = Student.objects.filter(
        enrolments__class_group__name="8A",
        enrolments__class_group__school__code="25000201",
        enrolments__class_group__school_year__name="2024-2025",
    ).first()
    body = login("ht.chuvanan").get(f"/students/{student.pk}/").content.decode()
    assert "2023-2024" in body and "7A" in body and "2024-2025" in body


def test_an_english_browser_still_gets_vietnamese_until_the_user_switches(client):
    body = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Đăng nhập" in body
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert "Log in" in client.get("/login/", HTTP_ACCEPT_LANGUAGE="vi").content.decode()


def test_a_refusal_says_why_in_vietnamese(login, demo):
    page = login("ht.hungvuong").get("/schools/25000201/")
    assert page.status_code == 403
    body = page.content.decode()
    assert "Không được phép" in body and 'lang="vi"' in body
    family = login("gvcn.chuvanan.6a").get("/my/")
    assert "Tài khoản này không gắn với học sinh nào" in family.content.decode()
