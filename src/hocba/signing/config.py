"""Where trust comes from in this deployment: trust anchors, CRLs, OCSP, the PKCS#11 module.

`HOCBA_TRUST_ANCHORS` / `HOCBA_TRUST_INTERMEDIATES` (comma-separated PEM files) and
`HOCBA_CRLS` name them; without them the development PKI in `$HOCBA_DATA_DIR/pki` is trusted.
`HOCBA_OCSP=0` turns OCSP off. `HOCBA_PKCS11_LIBRARY` is the token's PKCS#11 module.
`HOCBA_REVOCATION_REFRESH` (settings.REVOCATION_REFRESH_SECONDS) bounds how long a revocation
can go unseen: the process's one checker asks again and looks at the CRL files again within it.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from django.conf import settings

from hocba.signing.certs import TrustStore
from hocba.signing.dev.pki import SOFTHSM_LIBRARY
from hocba.signing.revocation import RevocationChecker
from hocba.signing.verify import Verifier


def pki_dir() -> Path:
    return Path(settings.DATA_DIR) / "pki"


def _paths(variable: str, default: list[Path]) -> list[Path]:
    value = os.environ.get(variable, "")
    if value:
        return [Path(p) for p in value.split(",") if p]
    return [p for p in default if p.exists()]


@cache
def trust_store() -> TrustStore:
    roots = _paths("HOCBA_TRUST_ANCHORS", [pki_dir() / "ca" / "root.pem"])
    intermediates = _paths("HOCBA_TRUST_INTERMEDIATES", [pki_dir() / "ca" / "issuing.pem"])
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
    crls = _paths("HOCBA_CRLS", [pki_dir() / "crl" / "issuing.crl"])
    return RevocationChecker.from_files(
        [str(p) for p in crls],
        os.environ.get("HOCBA_OCSP", "1") != "0",
        refresh=revocation_refresh(),
    )


def pkcs11_library() -> str:
    return os.environ.get("HOCBA_PKCS11_LIBRARY", SOFTHSM_LIBRARY)


def softhsm_conf() -> str | None:
    conf = os.environ.get("SOFTHSM2_CONF") or str(pki_dir() / "softhsm2.conf")
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
