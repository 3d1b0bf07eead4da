from django.urls import path

from hocba.warehouse import views

urlpatterns = [
    # under exchange/, next to the outbox pages (hocba.exchange.urls)
    path("stats/", views.statistics, name="exchange-stats"),
]
