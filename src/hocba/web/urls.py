from django.contrib.auth import views as auth_views
from django.urls import include, path

from hocba.config.api import api
from hocba.documents.urls import record_urlpatterns as record_pdf_urlpatterns
from hocba.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("national/", views.national, name="national"),
    path("provinces/<str:code>/", views.province_detail, name="province"),
    path("districts/<int:pk>/", views.district_detail, name="district"),
    path("communes/<int:pk>/", views.commune_detail, name="commune"),
    path("schools/<str:code>/", views.school_detail, name="school"),
    path("schools/<str:code>/review/", views.school_review, name="school-review"),
    path("classes/<int:pk>/", views.class_detail, name="class"),
    path("students/<int:pk>/", views.student_detail, name="student"),
    path("gradebook/", include("hocba.gradebook.urls")),
    path("records/", include("hocba.records.urls")),
    path("records/", include(record_pdf_urlpatterns)),
    path("documents/", include("hocba.documents.urls")),
    path("exchange/", include("hocba.exchange.urls")),
    path("exchange/", include("hocba.warehouse.urls")),
    path("xac-minh/", include("hocba.verification.urls")),
    path("signing/", include("hocba.workflow.urls")),
    path("external/", include("hocba.external.urls")),
    path("imports/", include("hocba.imports.urls")),
    path("", include("hocba.family.urls")),
    path("", include("hocba.people.urls")),
    path("api/v1/", api.urls),
]
