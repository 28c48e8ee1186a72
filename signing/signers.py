"""Signers: where a key lives and how pyHanko reaches it.

* PKCS#12 file — the passphrase is stored encrypted (Fernet, with a key-encryption
  key of its own: ``SIGNING_KEK`` or the file ``SIGNING_KEK_FILE``, not ``SECRET_KEY``),
  never in plain text;
* PKCS#11 token or HSM — pyHanko's PKCS#11 signer (SoftHSM2 in tests);
* two-step remote signing — see :mod:`signing.remote` and ``signing/client``;
* CSC API remote signing services — pyHanko's CSC signer.
"""

from __future__ import annotations

import base64
import contextvars
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers import csc_signer as csc
from pyhanko.sign.signers.pdf_cms import Signer

from .models import KeyKind, SigningKey


class SignerError(Exception):
    """A translated reason why signing is refused; nothing has been signed."""


# --- secrets ------------------------------------------------------------------------------


def _legacy_fernet() -> Fernet:
    """The key of earlier releases, derived from SECRET_KEY: read only, until rotated."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"mttq-signing-secrets",
               info=b"signing key passphrases").derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def kek_keys() -> list[str]:
    """The key-encryption keys, newest first: ``SIGNING_KEK`` (comma-separated) or the
    lines of ``SIGNING_KEK_FILE`` (made with one random key on first use, mode 600)."""
    from config.keyfiles import read_or_create

    configured = str(getattr(settings, "SIGNING_KEK", "") or "")
    if configured:
        keys = [k.strip() for k in configured.split(",") if k.strip()]
    else:
        text = read_or_create(settings.SIGNING_KEK_FILE,
                              make=lambda: Fernet.generate_key().decode("ascii"))
        keys = [line.strip() for line in text.splitlines()
                if line.strip() and not line.startswith("#")]
    if not keys:
        raise SignerError(_("No key-encryption key for stored key secrets is configured."))
    return keys


def _fernet(*, legacy: bool = True) -> MultiFernet:
    """Encrypts with the newest key; decrypts with any listed key and, while old rows
    remain (``manage.py rotate_signing_secrets``), with the SECRET_KEY-derived one."""
    try:
        keys = [Fernet(k.encode("ascii")) for k in kek_keys()]
    except (ValueError, UnicodeEncodeError):
        raise SignerError(_("The key-encryption key for stored key secrets is not a valid "
                            "Fernet key.")) from None
    return MultiFernet(keys + ([_legacy_fernet()] if legacy else []))


def encrypt_secret(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SignerError(_("The stored key secret cannot be decrypted (was the "
                            "key-encryption key changed?).")) from None


def rotate_secret(token: str) -> str:
    """The same secret encrypted with the newest key (raises InvalidToken if unreadable)."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


@dataclass
class Rotation:
    rotated: int
    unreadable: list[int]
    keys_kept: int


def _write_key_file(path, keys: list[str]) -> None:
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".signing-kek-")  # mode 600
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(keys) + "\n")
    os.replace(tmp, path)


def rotate_secrets(*, new_key: bool = False, drop_old: bool = False) -> Rotation:
    """Re-encrypt every stored key secret with the newest key-encryption key.

    ``new_key`` first puts a fresh random key at the top of ``SIGNING_KEK_FILE`` (the
    old ones stay below it to decrypt); ``drop_old`` then keeps only the newest key,
    and only when every secret could be re-encrypted. Secrets still encrypted with
    the key earlier releases derived from ``SECRET_KEY`` are moved over as well.
    """
    from django.db import transaction

    from config.keyfiles import read_or_create
    from workflow.audit.services import record

    path = settings.SIGNING_KEK_FILE
    from_env = bool(getattr(settings, "SIGNING_KEK", ""))
    if (new_key or drop_old) and from_env:
        raise SignerError(_("The key-encryption key comes from SIGNING_KEK: change that "
                            "variable (new key first, old ones after it) instead."))
    if new_key:
        read_or_create(path, make=lambda: Fernet.generate_key().decode("ascii"))
        _write_key_file(path, [Fernet.generate_key().decode("ascii"), *kek_keys()])
    rotated, unreadable = 0, []
    with transaction.atomic():
        for key in SigningKey.objects.select_for_update().exclude(secret_encrypted=""):
            try:
                token = rotate_secret(key.secret_encrypted)
            except InvalidToken:
                unreadable.append(key.pk)
                continue
            SigningKey.objects.filter(pk=key.pk).update(secret_encrypted=token)
            record(key, "signing.key.secret_rotated")
            rotated += 1
    keys = kek_keys()
    if drop_old and not unreadable and len(keys) > 1:
        _write_key_file(path, keys[:1])
        keys = keys[:1]
    return Rotation(rotated, unreadable, len(keys))


def set_secret(key: SigningKey, value: str) -> None:
    key.secret_encrypted = encrypt_secret(value)


# --- opening signers ------------------------------------------------------------------------


class KeyInMemorySigner(SimpleSigner):
    """pyHanko's SimpleSigner, keeping the parsed private key between signatures.

    SimpleSigner parses (and, for RSA, fully validates) the key again for every
    raw signature, including the dry run that only sizes the signature
    container; that is most of the CPU a signature costs. Here the key is
    parsed once and the dry run returns a placeholder of the exact size.
    """

    def __init__(self, base: SimpleSigner):
        super().__init__(signing_key=base.signing_key, signing_cert=base.signing_cert,
                         cert_registry=base.cert_registry)
        from cryptography.hazmat.primitives import serialization

        self._key = serialization.load_der_private_key(base.signing_key.dump(), password=None)

    async def async_sign_raw(self, data: bytes, digest_algorithm: str,
                             dry_run: bool = False) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
        from pyhanko.sign.general import get_pyca_cryptography_hash

        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            algo = mechanism.signature_algo
        except ValueError:
            algo = mechanism["algorithm"].native
        if algo == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            if dry_run:
                return bytes(self._key.key_size // 8)
            return self._key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            if dry_run:
                # The longest DER encoding of (r, s) for this curve.
                size = (self._key.curve.key_size + 7) // 8 + 1
                return bytes(2 * (size + 2) + 3)
            return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return await super().async_sign_raw(data, digest_algorithm, dry_run=dry_run)


# A batch (issue_many) opens each PKCS#12 key once instead of once per document.
_batch_signers: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "signing_batch_signers", default=None)


@contextmanager
def reuse_signers():
    """Within this block, a PKCS#12 key opened once is reused; forgotten afterwards."""
    token = _batch_signers.set({})
    try:
        yield
    finally:
        _batch_signers.reset(token)


def _pkcs12_signer(key: SigningKey) -> SimpleSigner:
    cache = _batch_signers.get()
    cache_key = (key.pk, key.pkcs12_file.name, key.secret_encrypted)
    if cache is not None and cache_key in cache:
        return cache[cache_key]
    with key.pkcs12_file.open("rb") as handle:
        data = handle.read()
    loaded = SimpleSigner.load_pkcs12_data(
        data, other_certs=None, passphrase=decrypt_secret(key.secret_encrypted).encode()
    )
    if loaded is None:
        raise SignerError(_("The PKCS#12 file or its passphrase is wrong."))
    signer = KeyInMemorySigner(loaded)
    if cache is not None:
        cache[cache_key] = signer
    return signer


@contextmanager
def open_signer(key: SigningKey):
    """Yield a pyHanko signer for ``key``; sessions are closed afterwards."""
    if key.kind == KeyKind.PKCS12:
        yield _pkcs12_signer(key)
    elif key.kind == KeyKind.PKCS11:
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign import pkcs11 as p11

        try:
            session = p11.open_pkcs11_session(
                key.pkcs11_module,
                token_criteria=TokenCriteria(label=key.token_label or None),
                user_pin=decrypt_secret(key.secret_encrypted) or None,
            )
        except Exception as exc:  # noqa: BLE001 - token errors come in many types
            raise SignerError(_("The signing token cannot be opened: %(error)s")
                              % {"error": exc}) from exc
        try:
            # other_certs_to_pull=None: the CA certificates stored next to the key
            # go into the signature, so validators need not fetch them.
            signer = p11.PKCS11Signer(session, key_label=key.key_label or None,
                                      cert_label=key.cert_label or key.key_label or None,
                                      other_certs_to_pull=None)
            try:
                signer.signing_cert  # noqa: B018 - loads the objects, errors surface here
            except Exception as exc:  # noqa: BLE001
                raise SignerError(_("The key or certificate was not found on the token: "
                                    "%(error)s") % {"error": exc}) from exc
            yield signer
        finally:
            session.close()
    elif key.kind == KeyKind.CSC:
        yield csc_signer(key)
    else:
        raise SignerError(_("This key signs in two steps on the signer's own device; use the "
                            "signing client."))


def _csc_secrets(key: SigningKey) -> tuple[str | None, str | None]:
    """The stored CSC secret: an OAuth token, or JSON {"token": ..., "pin": ...}."""
    import json

    raw = decrypt_secret(key.secret_encrypted)
    if raw.startswith("{"):
        data = json.loads(raw)
        return data.get("token") or None, data.get("pin") or None
    return raw or None, None


def csc_signer(key: SigningKey):
    """A signer for a remote signing service speaking the CSC API v1.

    The credential's certificates are read once from ``credentials/info``; each
    signature then asks ``credentials/authorize`` for a SAD bound to the hash
    (with the stored PIN, if any) and calls ``signatures/signHash`` through
    pyHanko's :class:`CSCSigner`. Every network call runs in the event loop of
    the signing operation itself, with its own HTTP session. Services that need
    an interactive confirmation per signature (an OTP on a phone) use the
    two-step flow instead.
    """
    import asyncio

    token, pin = _csc_secrets(key)
    session_info = csc.CSCServiceSessionInfo(service_url=key.csc_url.rstrip("/"),
                                             credential_id=key.csc_credential_id,
                                             oauth_token=token)

    async def fetch():
        async with aiohttp.ClientSession() as http:
            return await csc.fetch_certs_in_csc_credential(http, session_info)

    try:
        credential = asyncio.run(fetch())
    except Exception as exc:  # noqa: BLE001 - network and protocol errors alike
        raise SignerError(_("The remote signing service did not answer: %(error)s")
                          % {"error": exc}) from exc
    return CscSigner(session_info, credential, pin=pin)


class _CscAuthorize(csc.CSCAuthorizationManager):
    """Asks ``credentials/authorize`` for a SAD bound to exactly the hashes to sign."""

    def __init__(self, session_info, credential, http, pin: str | None):
        super().__init__(session_info, credential)
        self.http = http
        self.pin = pin

    async def authorize_signature(self, hash_b64s: list[str]) -> csc.CSCAuthorizationInfo:
        body = self.format_csc_auth_request(pin=self.pin, hash_b64s=hash_b64s)
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        async with self.http.post(url, json=body, headers=self.csc_session_info.auth_headers,
                                  raise_for_status=True) as response:
            return self.parse_csc_auth_response(await response.json())


class CscSigner(Signer):
    """pyHanko's CSCSigner, with an HTTP session opened in the loop that signs."""

    def __init__(self, session_info, credential, *, pin: str | None = None):
        self.session_info = session_info
        self.credential = credential
        self.pin = pin
        super().__init__(signing_cert=credential.signing_cert,
                         cert_registry=credential.as_cert_store())

    async def async_sign_raw(self, data: bytes, digest_algorithm: str,
                             dry_run: bool = False) -> bytes:
        if dry_run:
            # Only sizes the signature container: no call, no SAD spent.
            return bytes(512)
        async with aiohttp.ClientSession() as http:
            auth = _CscAuthorize(self.session_info, self.credential, http, self.pin)
            return await csc.CSCSigner(http, auth_manager=auth).async_sign_raw(
                data, digest_algorithm)


# --- certificate checks ---------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


def check_certificate(cert, *, expected_name: str, validation_context=None,
                      intermediates=()) -> None:
    """Refuse expired, not-yet-valid, revoked, misnamed or non-signing certificates."""
    now = timezone.now()
    validity = cert["tbs_certificate"]["validity"]
    if validity["not_after"].native < now:
        raise SignerError(_("The signing certificate expired on %(date)s.")
                          % {"date": validity["not_after"].native.date().isoformat()})
    if validity["not_before"].native > now:
        raise SignerError(_("The signing certificate is not valid yet."))
    usage = cert.key_usage_value
    if usage is None or not ({"digital_signature", "non_repudiation"} & set(usage.native)):
        raise SignerError(_("The certificate's key may not be used for signing."))
    name = cert.subject.native.get("common_name", "")
    if expected_name and _norm(name) != _norm(expected_name):
        raise SignerError(
            _("The certificate belongs to “%(cert)s”, not to “%(name)s”.")
            % {"cert": name, "name": expected_name}
        )
    if validation_context is not None:
        import asyncio

        from pyhanko_certvalidator import CertificateValidator

        validator = CertificateValidator(cert, intermediate_certs=list(intermediates),
                                         validation_context=validation_context)
        try:
            asyncio.run(validator.async_validate_usage({"digital_signature"},
                                                       extended_optional=True))
        except Exception as exc:
            refusal = path_refusal(exc)
            if refusal is None:
                raise
            raise refusal from None


def path_refusal(exc: BaseException, *, signing: bool = False) -> SignerError | None:
    """The refusal for a certificate path that failed validation (revoked, untrusted),
    wherever it is in ``exc``'s chain; else None.

    With ``signing`` the chain comes from pyHanko signing, which also validates the
    time-stamping authority's certificates: only a path error under pyHanko's "signer's
    certificate could not be validated" is the signing certificate's; any other is the
    time-stamping service's.
    """
    from pyhanko.sign.general import SigningError
    from pyhanko_certvalidator.errors import (
        InvalidCertificateError,
        PathBuildingError,
        PathValidationError,
        RevokedError,
    )

    path_errors = (PathBuildingError, PathValidationError, InvalidCertificateError)
    signer_path = not signing
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, SigningError) and "signer's certificate" in str(exc):
            signer_path = True
        if isinstance(exc, (RevokedError, *path_errors)) and not signer_path:
            return SignerError(_("The time-stamping service's certificate could not be "
                                 "validated; nothing was signed: %(error)s") % {"error": exc})
        if isinstance(exc, RevokedError) or (
                isinstance(exc, path_errors) and "revoked" in str(exc).lower()):
            return SignerError(_("The signing certificate has been revoked."))
        if isinstance(exc, path_errors):
            return SignerError(_("The signing certificate is not trusted: %(error)s")
                               % {"error": exc})
        exc = exc.__cause__ or exc.__context__
    return None
