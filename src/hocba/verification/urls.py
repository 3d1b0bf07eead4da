from django.urls import path

from hocba.verification import views

urlpatterns = [
    path("", views.portal, name="verify"),
    path("<str:record_id>/<int:version>", views.lookup, name="verify-lookup"),
]
