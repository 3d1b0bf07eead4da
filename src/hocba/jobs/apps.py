from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JobsConfig(AppConfig):
    name = "hocba.jobs"
    verbose_name = _("Background jobs")

    def ready(self) -> None:
        from hocba.jobs import services

        services.connect_signals()
