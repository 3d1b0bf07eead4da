from django.urls import path

from hocba.records import views

urlpatterns = [
    path("classes/<int:pk>/", views.class_records, name="records-class"),
    path("classes/<int:pk>/build/", views.build_class, name="records-build"),
    path("<str:record_id>/", views.record_detail, name="record"),
    path("<str:record_id>/v<int:version>.xml", views.version_xml, name="record-xml"),
]
