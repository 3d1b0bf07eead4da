from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarehouseConfig(AppConfig):
    name = "hocba.warehouse"
    verbose_name = _("Record warehouse")
