"""Building packages by hand for the warehouse tests."""

from __future__ import annotations

from collections.abc import Sequence

from hocba.formats import package as pkg
from hocba.organizations.models import School
from hocba.records.models import RecordVersion, State
from hocba.records.services import read_xml
from hocba.signing import package as sealing
from hocba.signing.dev.tokens import org_label, token_signer
from hocba.warehouse.auth import Caller
from hocba.warehouse.models import Account


def school(code: str) -> School:
    return School.objects.get(code=code)


def caller(client_id: str) -> Caller:
    account = Account.objects.get(client_id=client_id)
    return Caller(account, account.scope_set)


def issued(code: str) -> list[RecordVersion]:
    return list(
        RecordVersion.objects.filter(record__school__code=code, state=State.ISSUED)
        .select_related("record")
        .order_by("record__record_id")
    )


def entry(version: RecordVersion, content: bytes | None = None) -> pkg.Entry:
    return pkg.Entry(
        str(version.record.record_id),
        version.version,
        version.event,
        read_xml(version) if content is None else content,
    )


def sealed(code: str, entries: Sequence[pkg.Entry], key_of: str | None = None) -> bytes:
    """A package from school `code`, sealed with the organisation key of school `key_of`
    (its own by default)."""
    sender = school(code)
    holder = school(key_of or code)
    signer = token_signer(holder, org_label(holder))
    try:
        root = pkg.build(pkg.Sender("TRUONG", sender.code, sender.tax_code), entries)
        return sealing.seal(root, signer)
    finally:
        signer.close()
