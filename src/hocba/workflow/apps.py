from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "hocba.workflow"
    verbose_name = _("Signing from the browser")
