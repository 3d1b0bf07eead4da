from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportsConfig(AppConfig):
    name = "hocba.imports"
    verbose_name = _("Imports from the sector database and other systems")

    def ready(self) -> None:
        # each kind registers itself in hocba.imports.kinds.KINDS
        from hocba.imports import assignments, staff, students  # noqa: F401
