"""Warehouse accounts: OAuth2 client credentials, bearer tokens, scopes, client address lists.

Secrets are stored hashed (Django's password hasher); tokens are random, stored as SHA-256 and
expire. Scopes:

- `packages:submit` — submit packages and read their acknowledgements (school, Sở);
- `records:read` — fetch a record's current version within the account's reach;
- `records:by-student` — list a student's records by personal ID (authorised parties only);
- `records:cancel` — request the cancellation of a record;
- `stats:read` — statistics within the account's reach.

Reach: a school account sees its own school, a Sở account its province, the Ministry account
everything.

Client secrets cannot be guessed by trying: failed attempts are counted per client id (of an
account that exists) and per client address in the shared cache (every process counts
together), with the sign-in limits (`SIGNIN_FAILURES_PER_ACCOUNT`, `SIGNIN_FAILURES_PER_ADDRESS`,
`SIGNIN_LOCK_MINUTES`); each attempt is counted before its secret is checked, so that past one
limit the endpoint answers 429 TOO_MANY_ATTEMPTS before any secret is checked, even for a burst
of parallel attempts. An account's address list is checked before all of this: from outside
it, 403 and nothing counted. The client's address is `ratelimit.client_address` (behind
trusted reverse proxies, the address they forward).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db.models import Q
from django.utils import timezone

from hocba import ratelimit
from hocba.warehouse.models import AccessToken, Account

SCOPES = (
    "packages:submit",
    "records:read",
    "records:by-student",
    "records:cancel",
    "stats:read",
)
DEFAULT_SCOPES = {
    Account.Kind.SCHOOL: "packages:submit records:read records:cancel stats:read",
    Account.Kind.PROVINCE: "packages:submit records:read records:by-student records:cancel "
    "stats:read",
    Account.Kind.MINISTRY: " ".join(SCOPES),
}
TOKEN_LIFETIME = dt.timedelta(hours=1)


class AuthError(Exception):
    """`code` follows RFC 6749 (`invalid_client`, `invalid_scope`, …); message Vietnamese."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class AccountError(ValueError):
    """An account that cannot be registered: a stable code and a Vietnamese message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


ACCOUNT_FIELDS = {
    "province_code": (re.compile(r"[0-9]{2}"), "mã tỉnh (--province, 2 chữ số)"),
    "province_office_code": (re.compile(r"[0-9A-Z]{2}"), "mã Sở GDĐT (--office, 2 ký tự)"),
    "school_code": (re.compile(r"[0-9A-Za-z]{1,20}"), "mã trường (--school)"),
    "tax_code": (re.compile(r"[0-9]{10}(-[0-9]{3})?"), "mã số thuế (--tax-code)"),
}
REQUIRED_FIELDS = {
    Account.Kind.SCHOOL: ("school_code", "province_code", "province_office_code", "tax_code"),
    Account.Kind.PROVINCE: ("province_code", "province_office_code", "tax_code"),
    Account.Kind.MINISTRY: (),
}


def create_account(
    client_id: str,
    secret: str,
    name: str,
    kind: str,
    *,
    province_code: str = "",
    province_office_code: str = "",
    school_code: str = "",
    tax_code: str = "",
    scopes: str | None = None,
    allowed_ips: str = "",
) -> Account:
    """Register (or update) a sender. A school's account holds every issuer field its records
    carry (school code, tax code, province, Sở code); a Sở's its province, its own Sở code and
    the tax code of its seal. The warehouse accepts from an account only records whose issuer
    fields are these."""
    fields = {
        "province_code": province_code,
        "province_office_code": province_office_code,
        "school_code": school_code,
        "tax_code": tax_code,
    }
    missing = [
        ACCOUNT_FIELDS[name][1] for name in REQUIRED_FIELDS[Account.Kind(kind)] if not fields[name]
    ]
    if missing:
        raise AccountError("ACCOUNT_FIELDS_MISSING", f"Tài khoản cần có {', '.join(missing)}")
    for name, value in fields.items():
        pattern, label = ACCOUNT_FIELDS[name]
        if value and not pattern.fullmatch(value):
            raise AccountError("ACCOUNT_FIELD_INVALID", f"Sai định dạng {label}: {value!r}")
    unknown = set((scopes or "").split()) - set(SCOPES)
    if unknown:
        raise AccountError("UNKNOWN_SCOPE", f"Phạm vi không tồn tại: {' '.join(sorted(unknown))}")
    for line in allowed_ips.split():
        try:
            ipaddress.ip_network(line, strict=False)
        except ValueError:
            raise AccountError(
                "ADDRESS_INVALID", f"Địa chỉ hoặc mạng không hợp lệ: {line!r}"
            ) from None
    account, _ = Account.objects.update_or_create(
        client_id=client_id,
        defaults={
            "secret_hash": make_password(secret),
            "name": name,
            "kind": kind,
            "province_code": province_code,
            "province_office_code": province_office_code,
            "school_code": school_code,
            "tax_code": tax_code,
            "scopes": scopes or DEFAULT_SCOPES[Account.Kind(kind)],
            "allowed_ips": allowed_ips,
        },
    )
    return account


def address_allowed(account: Account, address: str) -> bool:
    networks = account.allowed_ips.split()
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


def _count_attempt(account: Account | None, address: str) -> list[tuple[str, str]]:
    """Count an attempt as a failure before its secret is checked, then compare (a success
    takes it back): however many attempts arrive at once, no more than the limit are checked
    in a period. Per client address always; per client id only when the account exists, so
    that made-up ids cost nothing to store and an id's lock is about that account. Past either
    limit the attempt is refused unchecked (429) and not counted."""
    period = max(1, int(settings.SIGNIN_LOCK_MINUTES * 60))
    counters = [
        ("token-address", ratelimit.address_of(address), settings.SIGNIN_FAILURES_PER_ADDRESS)
    ]
    if account is not None:
        counters.append(("token-client", account.client_id, settings.SIGNIN_FAILURES_PER_ACCOUNT))
    over = [ratelimit.count_failure(kind, key, period) > limit for kind, key, limit in counters]
    counted = [(kind, key) for kind, key, _limit in counters]
    if any(over):
        _forgive(counted)
        minutes = max(1, math.ceil(settings.SIGNIN_LOCK_MINUTES))
        raise AuthError(
            "TOO_MANY_ATTEMPTS",
            f"Sai mật khẩu ứng dụng quá nhiều lần; tài khoản hoặc địa chỉ này tạm bị khóa, "
            f"hãy thử lại sau {minutes} phút",
            429,
        )
    return counted


def _forgive(counted: list[tuple[str, str]]) -> None:
    for kind, key in counted:
        ratelimit.forgive_failure(kind, key)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    client_id: str, secret: str, scope: str | None, address: str
) -> tuple[str, AccessToken]:
    """Client-credentials grant: a bearer token for the requested (or all granted) scopes.

    An account with an address list refuses every other address first (403), before any
    throttle or secret is looked at and without counting anything: nobody outside the list can
    lock its sender out. Then the attempt is counted and compared (`_count_attempt`), and only
    then is the secret checked."""
    account = Account.objects.filter(client_id=client_id, active=True).first()
    if account is not None and not address_allowed(account, address):
        raise AuthError(
            "access_denied", f"Địa chỉ {address} không được phép dùng tài khoản này", 403
        )
    counted = _count_attempt(account, address)
    if account is None or not check_password(secret, account.secret_hash):
        raise AuthError("invalid_client", "Sai mã tài khoản hoặc mật khẩu ứng dụng")
    _forgive(counted)
    wanted = set(scope.split()) if scope else set(account.scope_set)
    if not wanted <= account.scope_set:
        extra = " ".join(sorted(wanted - account.scope_set))
        raise AuthError("invalid_scope", f"Tài khoản không được cấp phạm vi: {extra}", 400)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    AccessToken.objects.filter(account=account, expires_at__lt=now).delete()
    row = AccessToken.objects.create(
        account=account,
        token_hash=_hash(token),
        scopes=" ".join(sorted(wanted)),
        expires_at=now + TOKEN_LIFETIME,
    )
    return token, row


@dataclass(frozen=True)
class Caller:
    account: Account
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise AuthError("insufficient_scope", f"Mã truy cập thiếu phạm vi {scope}", 403)

    def reach(self, prefix: str = "") -> Q:
        """A filter limiting stored rows (school_code, province_code) to this account."""
        account = self.account
        if account.kind == Account.Kind.MINISTRY:
            return Q()
        if account.kind == Account.Kind.PROVINCE:
            return Q(**{f"{prefix}province_code": account.province_code})
        return Q(**{f"{prefix}school_code": account.school_code})

    def reaches(self, school_code: str, province_code: str) -> bool:
        account = self.account
        if account.kind == Account.Kind.MINISTRY:
            return True
        if account.kind == Account.Kind.PROVINCE:
            return province_code == account.province_code
        return school_code == account.school_code


def caller_for(token: str, address: str) -> Caller | None:
    row = (
        AccessToken.objects.select_related("account")
        .filter(token_hash=_hash(token), expires_at__gt=timezone.now(), account__active=True)
        .first()
    )
    if row is None:
        return None
    if not address_allowed(row.account, address):
        raise AuthError("access_denied", f"Địa chỉ {address} không được phép", 403)
    return Caller(row.account, frozenset(row.scopes.split()))
