from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarehouseConfig(AppConfig):
    name = "hocba.warehouse"
    verbose_name = _("Record warehouse")

    def ready(self) -> None:
        from hocba.jobs.services import register_sweep
        from hocba.warehouse.services import enqueue_forgotten

        register_sweep("warehouse.packages", enqueue_forgotten)
