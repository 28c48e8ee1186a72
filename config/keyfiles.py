"""Secrets kept in files under ``var/`` when the environment gives none.

A quick start has no configured ``SECRET_KEY``; a key derived from something
guessable (the checkout path) let anyone forge signed tokens. Instead a random
key is made on first run and kept in a file only its owner may read (mode 600),
so every process and every restart of one installation uses the same key.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

# Values that were ever defaults or examples: never accepted where DEBUG is off.
KNOWN_DEFAULT_PREFIXES = ("insecure-local-", "insecure", "django-insecure", "change-me",
                          "changeme")


def is_known_default(value: str) -> bool:
    lowered = value.strip().lower()
    return len(lowered) < 32 or lowered.startswith(KNOWN_DEFAULT_PREFIXES)


def read_or_create(path: Path, make=lambda: secrets.token_urlsafe(64)) -> str:
    """The secret stored in ``path``; made (random) and written with mode 600 if missing.

    ``O_EXCL`` makes the first writer win when several processes start at once; the
    others read what it wrote. A file readable by others is narrowed to 600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        value = make()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(value + "\n")
            return value
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        with contextlib.suppress(OSError):
            path.chmod(0o600)
    for _attempt in range(50):  # a writer that has created but not yet filled the file
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
        import time

        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: remove it to make a new secret")
