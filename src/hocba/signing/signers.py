"""Who holds the key: a PKCS#12 file, a PKCS#11 token (USB token; SoftHSM2 in tests), or a remote
signing service speaking the CSC API v2. All of them sign SHA-256 digests, in batches, so the
server computes what is signed and the key never leaves its holder (two-step signing)."""

from __future__ import annotations

import base64
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.hazmat.primitives.serialization import pkcs12

SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"


class SignerError(RuntimeError):
    """The key holder refused or failed; `code` is stable, the message Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def algorithm_of(cert: x509.Certificate) -> str:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return RSA_SHA256
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ECDSA_SHA256
    raise SignerError("KEY_UNSUPPORTED", "Loại khóa không được hỗ trợ (chỉ RSA và ECDSA P-256)")


def raw_ecdsa(der: bytes, size: int = 32) -> bytes:
    """XMLDSig wants ECDSA signatures as r‖s, not DER."""
    r, s = utils.decode_dss_signature(der)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


class Signer(ABC):
    """Signs SHA-256 digests with one certificate's key."""

    certificate: x509.Certificate

    @property
    def algorithm(self) -> str:
        return algorithm_of(self.certificate)

    @abstractmethod
    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        """XMLDSig signature values (RSA PKCS#1 v1.5, or ECDSA r‖s) of the digests, in order."""

    def close(self) -> None:  # noqa: B027 - most signers hold nothing to release
        """Release the session or authorisation."""


class Pkcs12Signer(Signer):
    """A key in a PKCS#12 file, loaded once and kept."""

    def __init__(self, key: Any, certificate: x509.Certificate) -> None:
        self.key = key
        self.certificate = certificate

    @classmethod
    def from_file(cls, path: Path, password: str) -> Pkcs12Signer:
        try:
            key, cert, _ = pkcs12.load_key_and_certificates(path.read_bytes(), password.encode())
        except ValueError:
            raise SignerError("WRONG_PIN", "Sai mật khẩu tệp chứng thư số") from None
        if key is None or cert is None:
            raise SignerError("NO_KEY", "Tệp không chứa khóa và chứng thư số")
        return cls(key, cert)

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        prehashed = utils.Prehashed(hashes.SHA256())
        if isinstance(self.key, rsa.RSAPrivateKey):
            return [self.key.sign(d, padding.PKCS1v15(), prehashed) for d in digests]
        return [raw_ecdsa(self.key.sign(d, ec.ECDSA(prehashed))) for d in digests]


_LIBRARIES: dict[str, Any] = {}
_LIB_LOCK = threading.Lock()


def pkcs11_library(path: str, softhsm_conf: str | None = None, locked: bool = False) -> Any:
    """The PKCS#11 module, loaded once per process (`locked`: the caller holds the lock)."""
    import pkcs11

    with nullcontext() if locked else _LIB_LOCK:
        if path not in _LIBRARIES:
            if softhsm_conf:
                os.environ["SOFTHSM2_CONF"] = softhsm_conf
            _LIBRARIES[path] = pkcs11.lib(path)
        return _LIBRARIES[path]


class Pkcs11Signer(Signer):
    """A key on a PKCS#11 token (a USB token; SoftHSM2 in tests and the demo). The session is
    opened and the PIN entered once for the whole batch."""

    def __init__(
        self,
        library: str,
        token_label: str,
        pin: str,
        key_label: str,
        softhsm_conf: str | None = None,
    ) -> None:
        import pkcs11
        from pkcs11 import Attribute, ObjectClass

        self.session = _login(library, token_label, pin, softhsm_conf)
        self._library = library
        try:
            self.key = self.session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=key_label)
            query = {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: key_label}
            certs = list(self.session.get_objects(query))
        except (pkcs11.exceptions.NoSuchKey, pkcs11.exceptions.MultipleObjectsReturned):
            self.close()
            raise SignerError(
                "KEY_NOT_FOUND", f"Không thấy khóa “{key_label}” trên token"
            ) from None
        if not certs:
            self.close()
            raise SignerError("CERT_NOT_FOUND", f"Không thấy chứng thư số “{key_label}” trên token")
        self.certificate = x509.load_der_x509_certificate(certs[0][Attribute.VALUE])
        self._rsa = isinstance(self.certificate.public_key(), rsa.RSAPublicKey)

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        from pkcs11 import Mechanism

        if self._rsa:
            return [
                self.key.sign(SHA256_DIGEST_INFO + d, mechanism=Mechanism.RSA_PKCS) for d in digests
            ]
        return [self.key.sign(d, mechanism=Mechanism.ECDSA) for d in digests]

    def close(self) -> None:
        if self.session is None:
            return
        session, self.session = self.session, None
        with _LIB_LOCK:
            _OPEN[self._library] -= 1
        session.close()


def token_certificate(
    library: str, token_label: str, key_label: str, softhsm_conf: str | None = None
) -> x509.Certificate:
    """The certificate stored under `key_label` on the token, read without the PIN: certificate
    objects are public on a token (CKA_PRIVATE false), so a signing page can learn the signer's
    certificate before anything is signed or any PIN is typed."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    token = _token(library, token_label, softhsm_conf)
    with token.open() as session:
        query = {Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: key_label}
        try:
            certs = list(session.get_objects(query))
        except pkcs11.exceptions.PKCS11Error:
            certs = []
        if not certs:
            raise SignerError(
                "CERT_NOT_FOUND",
                f"Không đọc được chứng thư số “{key_label}” trên token khi chưa nhập mã PIN",
            )
        return x509.load_der_x509_certificate(certs[0][Attribute.VALUE])


_OPEN: dict[str, int] = {}
"""Sessions this process has open, by module (guarded by the modules' lock)."""

LOGIN_TRIES = 5


def _login(library: str, token_label: str, pin: str, softhsm_conf: str | None) -> Any:
    """A session on the token, logged in (and counted in `_OPEN`). A module reads its tokens
    when it starts, and one that found a token unreadable at that moment (a USB token plugged
    in again; SoftHSM2's files while another process logs in) does not see it again: when the
    token is missing, or the module fails for no stated reason, and this process has no session
    open, the module is started again and the login tried again, a few times with short
    waits. Logins of one process take turns, so none is cut off by a restart."""
    import pkcs11

    for attempt in range(LOGIN_TRIES):
        with _LIB_LOCK:
            try:
                token = _token(library, token_label, softhsm_conf, locked=True)
                session = token.open(user_pin=pin)
            except pkcs11.exceptions.PinIncorrect:
                raise SignerError("WRONG_PIN", "Sai mã PIN của USB token") from None
            except pkcs11.exceptions.UserAlreadyLoggedIn:
                raise SignerError(
                    "TOKEN_BUSY", "USB token đang được dùng ở một phiên ký khác"
                ) from None
            except pkcs11.exceptions.PinLocked:
                raise SignerError(
                    "PIN_LOCKED", "USB token đã bị khóa do nhập sai PIN nhiều lần"
                ) from None
            except (SignerError, pkcs11.exceptions.GeneralError) as error:
                if isinstance(error, SignerError) and error.code != "TOKEN_NOT_FOUND":
                    raise
                if attempt == LOGIN_TRIES - 1:
                    if isinstance(error, SignerError):
                        raise
                    raise SignerError(
                        "TOKEN_UNAVAILABLE", "USB token không trả lời; hãy thử lại"
                    ) from None
                if not _OPEN.get(library):
                    pkcs11_library(library, softhsm_conf, locked=True).reinitialize()
            else:
                _OPEN[library] = _OPEN.get(library, 0) + 1
                return session
        time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


def token_flags(library: str, token_label: str, softhsm_conf: str | None = None) -> int:
    """The token's flags as it reports them now (CKF_USER_PIN_COUNT_LOW, _FINAL_TRY, _LOCKED …;
    `pkcs11.TokenFlag`)."""
    return int(_token(library, token_label, softhsm_conf).flags)


def _token(library: str, token_label: str, softhsm_conf: str | None, locked: bool = False) -> Any:
    import pkcs11

    lib = pkcs11_library(library, softhsm_conf, locked=locked)
    try:
        return lib.get_token(token_label=token_label)
    except (pkcs11.NoSuchToken, pkcs11.exceptions.NoSuchToken):
        raise SignerError("TOKEN_NOT_FOUND", f"Không thấy USB token “{token_label}”") from None


def import_to_token(
    library: str,
    softhsm_conf: str,
    token_label: str,
    pin: str,
    items: Sequence[tuple[str, Any, x509.Certificate]],
) -> None:
    """Put keys and their certificates on a token under their labels (development PKI only)."""
    from pkcs11 import Attribute
    from pkcs11.util.ec import decode_ec_private_key
    from pkcs11.util.rsa import decode_rsa_private_key
    from pkcs11.util.x509 import decode_x509_certificate

    lib = pkcs11_library(library, softhsm_conf)
    lib.reinitialize()  # see tokens initialised since the library was loaded
    token = lib.get_token(token_label=token_label)
    with token.open(rw=True, user_pin=pin) as session:
        for label, key, certificate in items:
            der = key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
            if isinstance(key, rsa.RSAPrivateKey):
                attrs = decode_rsa_private_key(der)
            else:
                attrs = decode_ec_private_key(der)
                attrs[Attribute.SIGN] = True
            attrs.update(
                {
                    Attribute.TOKEN: True,
                    Attribute.LABEL: label,
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                }
            )
            session.create_object(attrs)
            cert_der = certificate.public_bytes(serialization.Encoding.DER)
            cert_attrs = decode_x509_certificate(cert_der)
            # public, like the certificates of a token from a CA: readable before the PIN
            cert_attrs.update(
                {Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.PRIVATE: False}
            )
            session.create_object(cert_attrs)


class CscSigner(Signer):
    """A key held by a remote signing service speaking the Cloud Signature Consortium API v2.

    One `sign_digests` call is one authorisation: credentials/authorize with the PIN, the OTP,
    numSignatures and the hashes, which yields a SAD; then signatures/signHash in chunks."""

    SHA256_OID = "2.16.840.1.101.3.4.2.1"
    RSA_SHA256_OID = "1.2.840.113549.1.1.11"
    ECDSA_SHA256_OID = "1.2.840.10045.4.3.2"

    def __init__(
        self,
        base_url: str,
        access_token: str,
        credential_id: str,
        pin: str,
        otp: str,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        self.client = httpx.Client(
            base_url=base_url.rstrip("/") + "/csc/v2",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
        )
        self.credential_id = credential_id
        self.pin = pin
        self.otp = otp
        info = self._call(
            "/credentials/info", {"credentialID": credential_id, "certificates": "chain"}
        )
        self.certificate = x509.load_der_x509_certificate(
            base64.b64decode(info["cert"]["certificates"][0])
        )
        self.batch = int(info.get("multisign", 1)) or 1

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            response = self.client.post(path, json=body)
        except httpx.HTTPError as error:
            raise SignerError(
                "CSC_UNREACHABLE", f"Không kết nối được dịch vụ ký số từ xa: {error}"
            ) from None
        data: dict[str, Any] = response.json() if response.content else {}
        if response.status_code != 200:
            code = {"invalid_pin": "WRONG_PIN", "invalid_otp": "WRONG_OTP"}.get(
                str(data.get("error")), "CSC_ERROR"
            )
            raise SignerError(code, str(data.get("error_description") or data.get("error")))
        return data

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        encoded = [base64.b64encode(d).decode() for d in digests]
        if not encoded:
            return []
        sad = self._call(
            "/credentials/authorize",
            {
                "credentialID": self.credential_id,
                "numSignatures": len(encoded),
                "hashes": encoded,
                "hashAlgorithmOID": self.SHA256_OID,
                "PIN": self.pin,
                "OTP": self.otp,
            },
        )["SAD"]
        algo = self.RSA_SHA256_OID if self.algorithm == RSA_SHA256 else self.ECDSA_SHA256_OID
        values: list[bytes] = []
        for start in range(0, len(encoded), self.batch):
            chunk = encoded[start : start + self.batch]
            answer = self._call(
                "/signatures/signHash",
                {
                    "credentialID": self.credential_id,
                    "SAD": sad,
                    "hashes": chunk,
                    "hashAlgorithmOID": self.SHA256_OID,
                    "signAlgo": algo,
                },
            )
            values += [base64.b64decode(v) for v in answer["signatures"]]
        return values

    def close(self) -> None:
        self.client.close()


class ProvidedSigner(Signer):
    """Signature values made outside the server (the browser through the local signer agent),
    handed back for the digests the server computed. Each value is checked against its digest
    with the certificate's public key before anything is embedded."""

    def __init__(self, certificate: x509.Certificate, values: dict[bytes, bytes]) -> None:
        self.certificate = certificate
        self._values = values

    def sign_digests(self, digests: Sequence[bytes]) -> list[bytes]:
        from cryptography.exceptions import InvalidSignature

        key = self.certificate.public_key()
        out = []
        for digest in digests:
            value = self._values.get(digest)
            if value is None:
                raise SignerError(
                    "DIGEST_CHANGED", "Học bạ đã thay đổi từ lúc chuẩn bị ký; hãy ký lại"
                )
            try:
                if isinstance(key, rsa.RSAPublicKey):
                    key.verify(value, digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
                elif isinstance(key, ec.EllipticCurvePublicKey):
                    half = len(value) // 2
                    der = utils.encode_dss_signature(
                        int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big")
                    )
                    key.verify(der, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
                else:
                    raise InvalidSignature
            except (InvalidSignature, ValueError):
                raise SignerError(
                    "BAD_SIGNATURE_VALUE", "Giá trị chữ ký không khớp với chứng thư số"
                ) from None
            out.append(value)
        return out
