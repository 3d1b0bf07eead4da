from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FamilyConfig(AppConfig):
    name = "hocba.family"
    verbose_name = _("Students and parents")
