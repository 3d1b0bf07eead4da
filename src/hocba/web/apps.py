from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """The shared cache's table (hocba.cache) exists after every `migrate`: deployments,
    the demo and the test databases get it without a step of their own."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class WebConfig(AppConfig):
    name = "hocba.web"
    verbose_name = _("Web")

    def ready(self) -> None:
        # sent once per app with models (this one has none); creating an existing table is a
        # look at the table list
        post_migrate.connect(create_cache_table, dispatch_uid="hocba-cache-table")
