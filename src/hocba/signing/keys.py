"""Where the keys that seal come from: each school's organisation key (its PDF views and the
packages it sends) and the Sở's key (the packages its warehouse forwards upward).

In production both come from settings, never from the development PKI:

- a key on a token or HSM, named by an RFC 7512 PKCS#11 URI (`pkcs11:token=…;object=…`), the
  module from `settings.PKCS11_LIBRARY` (or the URI's `module-path`), the PIN from the
  environment (`HOCBA_SEAL_PKCS11_PIN`, `HOCBA_UPSTREAM_PKCS11_PIN`; a PIN written in the URI
  is refused);
- or a PKCS#12 file, its password from the environment.

A school's setting may name each school's key with `{school}` (its Ministry code) and
`{tax_code}`, so one platform setting serves all its schools. The development PKI's SoftHSM2
tokens seal only with `settings.DEV_PKI` and no school key configured. The system checks here
stop a production start without a seal key (hocba.E104) or a forwarding key (hocba.E105), or
with a setting that cannot name a key (hocba.E106).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from django.conf import settings
from django.core import checks

from hocba.signing import config
from hocba.signing.signers import Pkcs11Signer, Pkcs12Signer, Signer, SignerError

URI_ATTRIBUTES = {"token", "object", "type"}
"""Path attributes of RFC 7512 this deployment reads; any other (serial, slot, id …) is refused
rather than ignored, so a URI never selects a key other than the one it names."""


class NoKey(SignerError):
    """No key is configured for this seal."""

    def __init__(self, message: str) -> None:
        super().__init__("NO_SEAL_KEY", message)


@dataclass(frozen=True)
class TokenKey:
    """A private key on a PKCS#11 token, as an RFC 7512 URI names it."""

    token: str
    """The token's label (`token=`)."""
    label: str
    """The key's and its certificate's label (`object=`)."""
    module: str
    """The PKCS#11 module (`module-path=`, else settings.PKCS11_LIBRARY)."""


def parse_pkcs11_uri(uri: str, default_module: str) -> TokenKey:
    """The token and key an RFC 7512 URI names (ValueError, in Vietnamese, for anything else)."""
    if not uri.startswith("pkcs11:"):
        raise ValueError(f"“{uri}” không phải URI PKCS#11 (phải bắt đầu bằng pkcs11:)")
    path, _, query = uri[len("pkcs11:") :].partition("?")
    found: dict[str, str] = {}
    for part in path.split(";"):
        if not part:
            continue
        name, equals, value = part.partition("=")
        if not equals or name not in URI_ATTRIBUTES:
            raise ValueError(f"thuộc tính “{name}” của URI PKCS#11 không được hỗ trợ")
        found[name] = unquote(value)
    module = default_module
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if name in ("pin-value", "pin-source"):
            raise ValueError("mã PIN không được ghi trong URI; hãy đặt nó trong biến môi trường")
        if name != "module-path":
            raise ValueError(f"thuộc tính “{name}” của URI PKCS#11 không được hỗ trợ")
        module = unquote(value)
    if found.get("type", "private") != "private":
        raise ValueError("URI PKCS#11 phải chỉ khóa bí mật (type=private)")
    if not found.get("token") or not found.get("object"):
        raise ValueError("URI PKCS#11 phải có token=… và object=…")
    return TokenKey(found["token"], found["object"], module)


@dataclass(frozen=True)
class KeySetting:
    """One key as configured: on a token or in a file, with its secret."""

    variable: str
    """The prefix of its environment variables (`HOCBA_SEAL`, `HOCBA_UPSTREAM`)."""
    pkcs11: str
    pkcs11_pin: str
    p12: str
    p12_password: str

    @property
    def configured(self) -> bool:
        return bool(self.pkcs11 or self.p12)

    def problem(self) -> str | None:
        """Why this setting cannot name a key (None when it can, or when it is empty)."""
        if self.pkcs11 and self.p12:
            return (
                f"{self.variable}_PKCS11 và {self.variable}_P12 đều được đặt; chỉ dùng một "
                "(both are set; use one)"
            )
        if self.pkcs11:
            try:
                parse_pkcs11_uri(_filled(self.pkcs11, "x", "x"), settings.PKCS11_LIBRARY)
            except ValueError as error:
                return f"{self.variable}_PKCS11: {error}"
        return None

    def open(self, school: str = "", tax_code: str = "") -> Signer:
        """A signer over the key (for a school's setting, that school's)."""
        if self.pkcs11:
            key = parse_pkcs11_uri(_filled(self.pkcs11, school, tax_code), settings.PKCS11_LIBRARY)
            return Pkcs11Signer(
                key.module, key.token, self.pkcs11_pin, key.label, config.softhsm_conf()
            )
        if self.p12:
            path = Path(_filled(self.p12, school, tax_code))
            if not path.is_file():
                raise NoKey(f"Không có tệp chứng thư số {path} ({self.variable}_P12)")
            return Pkcs12Signer.from_file(path, self.p12_password)
        raise NoKey(f"Chưa cấu hình khóa ({self.variable}_PKCS11 hoặc {self.variable}_P12)")


def _filled(template: str, school: str, tax_code: str) -> str:
    return template.replace("{school}", school).replace("{tax_code}", tax_code)


def seal_setting() -> KeySetting:
    return KeySetting(
        "HOCBA_SEAL",
        settings.SEAL_PKCS11,
        settings.SEAL_PKCS11_PIN,
        settings.SEAL_P12,
        settings.SEAL_P12_PASSWORD,
    )


def forwarding_setting() -> KeySetting:
    return KeySetting(
        "HOCBA_UPSTREAM",
        settings.UPSTREAM_PKCS11,
        settings.UPSTREAM_PKCS11_PIN,
        settings.UPSTREAM_P12,
        settings.UPSTREAM_P12_PASSWORD,
    )


def school_signer(school: Any) -> Signer:
    """The school's organisation key: from the settings; in development without them, the
    school's key on its development token."""
    setting = seal_setting()
    if setting.configured:
        return setting.open(school.code, school.tax_code)
    if settings.DEV_PKI:
        from hocba.signing.dev.tokens import org_label, token_signer

        return token_signer(school, org_label(school))
    raise NoKey(
        f"Chưa cấu hình khóa con dấu của trường {school.code} "
        "(HOCBA_SEAL_PKCS11 hoặc HOCBA_SEAL_P12)"
    )


def forwarding_signer() -> Signer:
    """The Sở's key that seals the packages its warehouse forwards."""
    setting = forwarding_setting()
    if not setting.configured:
        raise NoKey(
            "Chưa cấu hình chứng thư số của Sở để chuyển tiếp "
            "(HOCBA_UPSTREAM_PKCS11 hoặc HOCBA_UPSTREAM_P12)"
        )
    return setting.open()


# --- system checks ----------------------------------------------------------------------------


def keys_configured(**kwargs: Any) -> list[checks.CheckMessage]:
    """A production start needs the keys it will seal with (in development, the development
    PKI's tokens stand in for a school's)."""
    problems: list[checks.CheckMessage] = []
    seal, forwarding = seal_setting(), forwarding_setting()
    for setting in (seal, forwarding):
        problem = setting.problem()
        if problem is not None:
            problems.append(checks.Error(problem, id="hocba.E106"))
    if settings.DEV_PKI:
        return problems
    if not seal.configured and not settings.WAREHOUSE_ENABLED:
        problems.append(
            checks.Error(
                "Chưa cấu hình khóa con dấu của trường: đặt HOCBA_SEAL_PKCS11 (URI pkcs11:token=…;"
                "object=…, mã PIN trong HOCBA_SEAL_PKCS11_PIN) hoặc HOCBA_SEAL_P12 (mật khẩu "
                "trong HOCBA_SEAL_P12_PASSWORD); cho phát triển và bản demo: HOCBA_DEV_PKI=1 "
                "(no school seal key configured)",
                id="hocba.E104",
                hint="docs/signing.md#keys-in-production",
            )
        )
    forwards = settings.WAREHOUSE_CODE and settings.UPSTREAM_URL not in ("", "embedded")
    if forwards and not forwarding.configured:
        problems.append(
            checks.Error(
                f"Kho {settings.WAREHOUSE_CODE} chuyển tiếp lên {settings.UPSTREAM_URL} nhưng "
                "chưa cấu hình khóa của Sở: đặt HOCBA_UPSTREAM_PKCS11 (mã PIN trong "
                "HOCBA_UPSTREAM_PKCS11_PIN) hoặc HOCBA_UPSTREAM_P12 (mật khẩu trong "
                "HOCBA_UPSTREAM_P12_PASSWORD) (no forwarding key configured)",
                id="hocba.E105",
                hint="docs/signing.md#keys-in-production",
            )
        )
    return problems
