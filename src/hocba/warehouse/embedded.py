"""The warehouse of this same instance as the exchange's upstream (HOCBA_UPSTREAM_URL=embedded:
the demo, a platform that hosts its Sở's warehouse): the exchange's client interface, called
in-process under the sender's account. The exchange finds it through the setting
EXCHANGE_EMBEDDED_CLIENT (it never imports the warehouse)."""

from __future__ import annotations

from typing import Any

from hocba.exchange.client import Refused, TooLarge, credential_for
from hocba.warehouse.auth import AuthError, Caller
from hocba.warehouse.models import Account, ReceivedPackage
from hocba.warehouse.services import ReceiveError, acks_of, process, receive


class EmbeddedClient:
    """The warehouse of this same instance, called in-process under the sender's account."""

    def _caller(self, sender_code: str) -> Caller:
        secret = credential_for(sender_code)
        account = Account.objects.filter(client_id=secret.client_id, active=True).first()
        if account is None:
            raise Refused("invalid_client", "Tài khoản kho học bạ không tồn tại")
        return Caller(account, account.scope_set)

    def submit(self, sender_code: str, data: bytes) -> dict[str, Any]:
        try:
            row, _ = receive(self._caller(sender_code), data, inline=False)
        except ReceiveError as error:
            if error.status == 413:
                raise TooLarge(error.message) from None
            raise Refused(error.code, error.message) from None
        except AuthError as error:
            raise Refused(error.code, error.message) from None
        process(row.pk)  # embedded: answered at once
        row.refresh_from_db()
        return {"package_id": str(row.package_id), "status": row.status}

    def status(self, sender_code: str, package_id: str) -> dict[str, Any] | None:
        caller = self._caller(sender_code)
        row = ReceivedPackage.objects.filter(account=caller.account, package_id=package_id).first()
        if row is None:
            return None
        if row.status == ReceivedPackage.Status.RECEIVED:
            process(row.pk)  # embedded: an attempt that failed is made again once it is due
            row.refresh_from_db()
        return {
            "package_id": str(row.package_id),
            "status": row.status,
            "code": row.code,
            "message": row.message,
            "acks": acks_of(row),
        }

    def close(self) -> None:
        pass
