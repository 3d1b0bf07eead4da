from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExternalConfig(AppConfig):
    name = "hocba.external"
    verbose_name = _("Records from other systems")

    def ready(self) -> None:
        # `hocba records import-external`: the records command names no app above its own
        from hocba.external.command import IMPORT_EXTERNAL
        from hocba.records.hooks import register_subcommand

        register_subcommand(IMPORT_EXTERNAL)
