from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "hocba.documents"
    verbose_name = _("Printable views")

    def ready(self) -> None:
        from hocba.documents.for_records import PDF_VIEW
        from hocba.records import hooks

        hooks.register(PDF_VIEW)
