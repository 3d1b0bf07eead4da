from django.urls import path

from hocba.gradebook import views

urlpatterns = [
    path("subjects/<int:pk>/", views.subject_book, name="gradebook-subject"),
    path("subjects/<int:pk>/cell/", views.save_cell, name="gradebook-cell"),
    path("subjects/<int:pk>/template.xlsx", views.template_download, name="gradebook-template"),
    path("subjects/<int:pk>/import/", views.import_upload, name="gradebook-import"),
    path("subjects/<int:pk>/chart/", views.subject_chart, name="gradebook-chart"),
    path("classes/<int:pk>/", views.class_summary, name="gradebook-class"),
    path("classes/<int:pk>/export.xlsx", views.class_export, name="gradebook-export"),
    path("classes/<int:pk>/csdl.xlsx", views.class_csdl_export, name="gradebook-csdl"),
    path(
        "classes/<int:pk>/students/<int:student_id>/homeroom/",
        views.homeroom_form,
        name="gradebook-homeroom",
    ),
    path("schools/<str:code>/locks/", views.school_locks, name="gradebook-locks"),
]
