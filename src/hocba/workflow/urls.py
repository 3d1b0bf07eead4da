from django.urls import path

from hocba.workflow import views

urlpatterns = [
    path("", views.to_sign, name="workflow-to-sign"),
    path("prepare/", views.prepare, name="workflow-prepare"),
    path("complete/", views.complete, name="workflow-complete"),
    path("csc/", views.csc_sign, name="workflow-csc"),
    path("schools/<str:code>/", views.school_progress, name="workflow-progress"),
    path("preview/<int:pk>.pdf", views.preview, name="workflow-preview"),
]
