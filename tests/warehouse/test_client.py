"""The school's HTTP client against the warehouse API (Django's live server on loopback)."""

from __future__ import annotations

import uuid

import pytest

from hocba.exchange.client import HttpClient
from hocba.exchange.services import set_credential
from hocba.warehouse.auth import create_account
from hocba.warehouse.models import Account, ReceivedPackage

pytestmark = pytest.mark.django_db(transaction=True)

SCHOOL = "25000201"


def test_a_package_sent_under_a_renewed_account_is_sent_again(live_server, settings):
    """The school's account was replaced while a package was in flight: the new account may not
    read the old one's package (403 OUT_OF_REACH), so the client treats it as unknown and the
    sender submits it again, instead of retrying a refusal for ever."""
    settings.WAREHOUSE_ENABLED = True
    where = dict(kind=Account.Kind.SCHOOL, school_code=SCHOOL, province_code="25",
                 province_office_code="25", tax_code="2600000201")  # fmt: skip
    old = create_account("truong-cu", "bi-mat-cu", "cũ", **where)
    create_account("truong-moi", "bi-mat-moi", "mới", **where)
    package = ReceivedPackage.objects.create(
        account=old, package_id=uuid.uuid4(), sha256="0" * 64, size=1,
        status=ReceivedPackage.Status.DONE,
    )  # fmt: skip
    client = HttpClient(f"{live_server.url}/api/v1/warehouse")
    try:
        set_credential(SCHOOL, "truong-cu", "bi-mat-cu")
        assert client.status(SCHOOL, str(package.package_id))["status"] == "DONE"
        set_credential(SCHOOL, "truong-moi", "bi-mat-moi")
        renewed = HttpClient(f"{live_server.url}/api/v1/warehouse")
        try:
            assert renewed.status(SCHOOL, str(package.package_id)) is None
            assert renewed.status(SCHOOL, str(uuid.uuid4())) is None
        finally:
            renewed.close()
    finally:
        client.close()
