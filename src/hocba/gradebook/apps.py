from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GradebookConfig(AppConfig):
    name = "hocba.gradebook"
    verbose_name = _("Grade book")
