from django.urls import path

from hocba.family import views

urlpatterns = [
    path("my/", views.home, name="family-home"),
    path(
        "my/records/<str:record_id>/v<int:version>.pdf",
        views.download,
        {"kind": "pdf"},
        name="family-pdf",
    ),
    path(
        "my/records/<str:record_id>/v<int:version>.xml",
        views.download,
        {"kind": "xml"},
        name="family-xml",
    ),
    path("my/external/<int:pk>.xml", views.external_download, name="family-external-xml"),
    path("my/records/<str:record_id>/share/", views.share, name="family-share"),
    path("my/shares/<int:pk>/revoke/", views.revoke, name="family-revoke"),
    path("chia-se/<str:token>/", views.shared, name="family-shared"),
    path("chia-se/<str:token>/hoc-ba.pdf", views.shared_pdf, name="family-shared-pdf"),
]
