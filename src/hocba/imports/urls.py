from django.urls import path

from hocba.imports import views

urlpatterns = [
    path("schools/<str:code>/", views.school_page, name="imports-school"),
    path("schools/<str:code>/preview/", views.preview_page, name="imports-preview"),
    path("schools/<str:code>/apply/", views.apply_page, name="imports-apply"),
    path("schools/<str:code>/jobs/<int:pk>/", views.job_page, name="imports-job"),
    path("schools/<str:code>/export/<str:kind>.xlsx", views.export_page, name="imports-export"),
]
