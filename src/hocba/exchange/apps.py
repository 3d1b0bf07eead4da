from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


def package_size_fits(**kwargs: Any) -> list[checks.CheckMessage]:
    """The packages a sender builds fit what a warehouse takes (docs/limits.md)."""
    from django.conf import settings

    from hocba import limits

    problems: list[checks.CheckMessage] = []
    if not 0 < settings.EXCHANGE_PACKAGE_BYTES <= limits.PACKAGE_BYTES:
        problems.append(
            checks.Error(
                f"HOCBA_PACKAGE_BYTES={settings.EXCHANGE_PACKAGE_BYTES}: phải từ 1 đến "
                f"{limits.PACKAGE_BYTES} byte (giới hạn gói tin của kho học bạ)",
                id="hocba.E101",
            )
        )
    if not 0 < settings.EXCHANGE_PACKAGE_RECORDS <= limits.PACKAGE_RECORDS:
        problems.append(
            checks.Error(
                f"HOCBA_PACKAGE_RECORDS={settings.EXCHANGE_PACKAGE_RECORDS}: phải từ 1 đến "
                f"{limits.PACKAGE_RECORDS} học bạ một gói",
                id="hocba.E102",
            )
        )
    return problems


def upstream_is_private(**kwargs: Any) -> list[checks.CheckMessage]:
    """The way to the upstream warehouse cannot be read or answered by someone on the network:
    https, or plain http only to this machine or with HOCBA_UPSTREAM_ALLOW_HTTP."""
    from django.conf import settings

    from hocba.exchange.client import upstream_problem

    problem = upstream_problem(settings.UPSTREAM_URL, settings.UPSTREAM_ALLOW_HTTP)
    return [] if problem is None else [checks.Error(problem, id="hocba.E103")]


class ExchangeConfig(AppConfig):
    name = "hocba.exchange"
    verbose_name = _("Exchange with the warehouse")

    def ready(self) -> None:
        checks.register(package_size_fits)
        checks.register(upstream_is_private)
        from hocba.exchange.services import enqueue_issued
        from hocba.records.signals import record_issued

        record_issued.connect(enqueue_issued, dispatch_uid="hocba.exchange.outbox")
        from hocba.exchange.services import enqueue_forgotten_round
        from hocba.jobs.services import register_sweep

        register_sweep("exchange.rounds", enqueue_forgotten_round)
