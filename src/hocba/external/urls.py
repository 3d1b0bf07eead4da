from django.urls import path

from hocba.external import views

urlpatterns = [
    path("schools/<str:code>/", views.school_imports, name="external-import"),
    path("<int:pk>/", views.detail, name="external-record"),
    path("<int:pk>.xml", views.download, name="external-xml"),
]
