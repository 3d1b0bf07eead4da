from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "hocba.signing"
    verbose_name = _("Digital signatures")

    def ready(self) -> None:
        from django.core import checks

        from hocba.signing.keys import keys_configured

        checks.register(keys_configured)
