from django.urls import path

from hocba.documents import views

urlpatterns = [
    path("classes/<int:pk>/render/", views.render_class, name="documents-render-class"),
    path("jobs/<int:pk>/", views.job_page, name="documents-job"),
    path("jobs/<int:pk>/all.zip", views.job_file, {"kind": "zip"}, name="documents-job-zip"),
    path(
        "jobs/<int:pk>/merged/<str:name>.pdf",
        views.job_file,
        {"kind": "merged"},
        name="documents-job-merged",
    ),
]

record_urlpatterns = [
    # under records/, next to the version's XML (hocba.records.urls)
    path("<str:record_id>/v<int:version>.pdf", views.version_pdf, name="record-pdf"),
]
