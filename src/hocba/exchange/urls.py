from django.urls import path

from hocba.exchange import views

urlpatterns = [
    path("schools/<str:code>/", views.outbox, name="exchange-outbox"),
    path("schools/<str:code>/resend/", views.resend, name="exchange-resend"),
    path("schools/<str:code>/send/", views.send_now, name="exchange-send"),
]
