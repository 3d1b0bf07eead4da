"""Where trust comes from in this deployment: trust anchors, CRLs, OCSP, the PKCS#11 module.

`settings.TRUST_ANCHORS` / `TRUST_INTERMEDIATES` (PEM files) and `CRLS` name them
(`HOCBA_TRUST_ANCHORS`, `HOCBA_TRUST_INTERMEDIATES`, `HOCBA_CRLS`); without them, and only in
development (`settings.DEV_PKI`), the development PKI in `$HOCBA_DATA_DIR/pki` is trusted.
`settings.OCSP` (`HOCBA_OCSP=0` turns it off). `settings.PKCS11_LIBRARY` is the token's PKCS#11
module. `HOCBA_REVOCATION_REFRESH` (settings.REVOCATION_REFRESH_SECONDS) bounds how long a
revocation can go unseen: the process's one checker asks again and looks at the CRL files again
within it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings

from hocba.signing.certs import TrustStore
from hocba.signing.revocation import RevocationChecker
from hocba.signing.verify import Verifier


def pki_dir() -> Path:
    return Path(settings.DATA_DIR) / "pki"


def _paths(configured: list[str], development: list[Path]) -> list[Path]:
    if configured:
        return [Path(p) for p in configured]
    if not settings.DEV_PKI:
        return []
    return [p for p in development if p.exists()]


@cache
def trust_store() -> TrustStore:
    roots = _paths(settings.TRUST_ANCHORS, [pki_dir() / "ca" / "root.pem"])
    intermediates = _paths(settings.TRUST_INTERMEDIATES, [pki_dir() / "ca" / "issuing.pem"])
    return TrustStore.from_pem(
        [p.read_bytes() for p in roots], [p.read_bytes() for p in intermediates]
    )


def revocation_refresh() -> float:
    """Seconds within which a new revocation is seen; whatever keeps a result built from
    revocation answers keeps it no longer."""
    return float(settings.REVOCATION_REFRESH_SECONDS)


@cache
def revocation_checker() -> RevocationChecker:
    """One checker per process; its answers and CRL copies stay fresh by themselves."""
    crls = _paths(settings.CRLS, [pki_dir() / "crl" / "issuing.crl"])
    return RevocationChecker.from_files(
        [str(p) for p in crls], bool(settings.OCSP), refresh=revocation_refresh()
    )


def pkcs11_library() -> str:
    return str(settings.PKCS11_LIBRARY)


def softhsm_conf() -> str | None:
    conf = settings.SOFTHSM2_CONF or str(pki_dir() / "softhsm2.conf")
    return conf if Path(conf).exists() else None


@cache
def verifier() -> Verifier:
    """One verifier per process over the configured trust (it caches certificate facts)."""
    return Verifier(trust_store(), revocation_checker())


def reset() -> None:
    """Forget cached trust (after the PKI changed)."""
    trust_store.cache_clear()
    revocation_checker.cache_clear()
    verifier.cache_clear()
