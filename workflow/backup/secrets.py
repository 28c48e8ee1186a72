"""Keys and secrets in a backup, only when asked, encrypted with a passphrase.

The bundle is a JSON object of files (name → base64 bytes) encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from ``cryptography``) under a key derived from the
passphrase with scrypt; the salt and scrypt cost are stored in the manifest so a later
version can raise the cost and still read older backups. A wrong passphrase or a
changed byte fails the HMAC: nothing is written.

Names inside the bundle say where a file goes back:

* ``secret_key`` → ``MTTQ_VAR_DIR/secret_key`` (only when the key came from that file);
* ``signing-kek`` → ``SIGNING_KEK_FILE``;
* ``signing-pki/<path>`` → the DEMO PKI folder (keys of the demo CA, TSA and signers);
* ``media/signing/keys/<path>`` → PKCS#12 key files uploaded for signing keys.
"""

from __future__ import annotations

import base64
import json
import os
import secrets as random
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from django.utils.translation import gettext as _

from .archive import BackupError, safe_relative

# scrypt cost: 2**17 × 8 × 128 bytes = 128 MiB and about half a second, once per run.
SCRYPT_N = 2 ** 17
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSPHRASE = 12
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
KEY_MEDIA = "signing/keys"
PREFIXES = ("signing-pki/", "media/")
SINGLE = ("secret_key", "signing-kek")


def _key(passphrase: str, kdf: dict) -> bytes:
    scrypt = Scrypt(salt=base64.b64decode(kdf["salt"]), length=32, n=int(kdf["n"]),
                    r=int(kdf["r"]), p=int(kdf["p"]))
    return base64.urlsafe_b64encode(scrypt.derive(passphrase.encode("utf-8")))


def check_passphrase(passphrase: str | None) -> str:
    if not passphrase or len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(_("Keys and secrets are only backed up encrypted: give a passphrase "
                            "of at least %(n)d characters (--passphrase-file or "
                            "BACKUP_PASSPHRASE_FILE).") % {"n": MIN_PASSPHRASE})
    return passphrase


def encrypt(files: dict[str, bytes], passphrase: str) -> tuple[bytes, dict]:
    """The encrypted bundle and its key-derivation parameters (for the manifest)."""
    check_passphrase(passphrase)
    kdf = {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
           "salt": base64.b64encode(random.token_bytes(16)).decode()}
    payload = json.dumps({name: base64.b64encode(data).decode()
                          for name, data in files.items()}).encode()
    return Fernet(_key(passphrase, kdf)).encrypt(payload), {**kdf, "cipher": "fernet"}


def decrypt(token: bytes, kdf: dict, passphrase: str) -> dict[str, bytes]:
    if len(token) > MAX_BUNDLE_BYTES:
        raise BackupError(_("The encrypted secrets are larger than any backup writes: "
                            "refused."))
    if not isinstance(kdf, dict) or kdf.get("name") != "scrypt" or int(kdf.get("n", 0)) > 2 ** 20:
        raise BackupError(_("The secrets' key derivation is not one this program reads."))
    try:
        payload = Fernet(_key(passphrase, kdf)).decrypt(token)
    except (InvalidToken, ValueError, KeyError):
        raise BackupError(_("The passphrase is wrong or the encrypted secrets were "
                            "altered: nothing was restored from them.")) from None
    files = {name: base64.b64decode(data) for name, data in json.loads(payload).items()}
    for name in files:
        if name not in SINGLE and not (name.startswith(PREFIXES) and safe_relative(name)):
            raise BackupError(_("The encrypted secrets hold %(name)s, which a backup never "
                                "writes: refused.") % {"name": name})
    return files


def _walk(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def collect(*, var_dir: Path, kek_file: Path, pki_dir: Path, media_root: Path,
            secret_key_from_file: bool, include_secrets: bool,
            include_keys: bool) -> dict[str, bytes]:
    """The files to encrypt, read now; absent ones are simply not there."""
    files: dict[str, bytes] = {}
    if include_secrets:
        if secret_key_from_file and (var_dir / "secret_key").is_file():
            files["secret_key"] = (var_dir / "secret_key").read_bytes()
        if kek_file.is_file():
            files["signing-kek"] = kek_file.read_bytes()
    if include_keys:
        for path in _walk(pki_dir):
            files["signing-pki/" + path.relative_to(pki_dir).as_posix()] = path.read_bytes()
        keys = media_root / KEY_MEDIA
        for path in _walk(keys):
            files["media/" + path.relative_to(media_root).as_posix()] = path.read_bytes()
    return files


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".restoring")
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(data)
    os.replace(partial, path)


def restore(files: dict[str, bytes], *, var_dir: Path, kek_file: Path, pki_dir: Path,
            media_root: Path) -> list[str]:
    """Write the bundle's files back (mode 600); return where each went."""
    from .archive import inside

    written = []
    for name, data in sorted(files.items()):
        if name == "secret_key":
            target = var_dir / "secret_key"
        elif name == "signing-kek":
            target = kek_file
        elif name.startswith("signing-pki/"):
            target = inside(pki_dir, safe_relative(name.removeprefix("signing-pki/")))
        else:
            target = inside(media_root, safe_relative(name.removeprefix("media/")))
        _write_secret(target, data)
        written.append(str(target))
    return written


def read_passphrase(path: str | Path | None, *, ask: bool = False, confirm: bool = False
                    ) -> str | None:
    """The passphrase from a file (its first line; keep it mode 600) or typed at a prompt.

    Never an argument on the command line: it would show in ``ps`` and shell history.
    """
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise BackupError(_("The passphrase file cannot be read: %(error)s")
                              % {"error": exc}) from None
        return lines[0].strip() if lines else ""
    if not ask:
        return None
    import getpass

    first = getpass.getpass(_("Passphrase: "))
    if confirm and getpass.getpass(_("Passphrase again: ")) != first:
        raise BackupError(_("The two passphrases differ."))
    return first
