"""The backup archive: a plain tar whose last member is a manifest of every other one.

Layout (names inside the tar)::

    database.pgdump | database.sqlite3   the database (pg_dump custom format / SQLite copy)
    media/<path>                         every stored file, as under MEDIA_ROOT
    secrets.enc                          only if asked: keys and secrets, passphrase-encrypted
    manifest.json                        last: format, settings, row counts, SHA-256 and size
                                         of every member above

Nothing is compressed: PDFs and the custom-format dump are compressed already, and a
plain tar streams in and out without a temporary copy. Reading never calls
``extractall``: every member is checked (regular file, a name this format writes, no
``..``, no absolute path, size and count limits) and hashed in a first pass before
anything is written (:func:`validate`), and each file is written by :func:`copy_member`
under a root it cannot leave.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from django.utils.translation import gettext as _

FORMAT = "mttq-backup"
VERSION = 1
MANIFEST = "manifest.json"
SECRETS = "secrets.enc"
DATABASE_MEMBERS = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}
MEDIA_PREFIX = "media/"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MAX_NAME_CHARS = 1024
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore refused or failed; the message is translated and says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Limits:
    """What a restore accepts at most (settings ``BACKUP_MAX_GB``, ``BACKUP_MAX_MEMBERS``)."""

    max_bytes: int
    max_members: int


@dataclass
class Member:
    size: int
    sha256: str


@dataclass
class Validated:
    """What the first pass over an archive found: the manifest and every member's hash."""

    manifest: dict
    members: dict[str, Member] = field(default_factory=dict)

    @property
    def media(self) -> list[str]:
        return sorted(name for name in self.members if name.startswith(MEDIA_PREFIX))

    @property
    def total_bytes(self) -> int:
        return sum(m.size for m in self.members.values())


def safe_relative(name: str) -> PurePosixPath | None:
    """``name`` as a relative path with no ``..``/absolute/empty part, else None."""
    if not name or len(name) > MAX_NAME_CHARS or "\x00" in name or "\\" in name:
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return path


def allowed_name(name: str) -> bool:
    if name in (MANIFEST, SECRETS) or name in DATABASE_MEMBERS.values():
        return True
    return (name.startswith(MEDIA_PREFIX) and len(name) > len(MEDIA_PREFIX)
            and safe_relative(name) is not None)


class _HashingReader:
    """A file read through once, its SHA-256 taken on the way (tarfile copies from it)."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


class Writer:
    """Adds members to a new archive and records their hashes for the manifest."""

    def __init__(self, path: Path):
        self.path = path
        # Mode 600 from the first byte: the dump holds password hashes and TOTP keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._tar = tarfile.open(  # noqa: SIM115 - closed by finish() or abort()
            fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)
        self.members: dict[str, dict] = {}

    def add_file(self, name: str, source: Path) -> None:
        assert allowed_name(name), name
        with open(source, "rb") as handle:
            info = tarfile.TarInfo(name)
            info.size = os.fstat(handle.fileno()).st_size
            info.mode = 0o600
            info.mtime = int(os.fstat(handle.fileno()).st_mtime)
            reader = _HashingReader(handle)
            self._tar.addfile(info, reader)
        self.members[name] = {"size": reader.size, "sha256": reader.digest.hexdigest()}

    def add_bytes(self, name: str, data: bytes) -> None:
        import io

        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o600
        self._tar.addfile(info, io.BytesIO(data))
        if name != MANIFEST:
            self.members[name] = {"size": len(data),
                                  "sha256": hashlib.sha256(data).hexdigest()}

    def finish(self, manifest: dict) -> None:
        manifest = {**manifest, "members": self.members}
        self.add_bytes(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abort(self) -> None:
        try:
            self._tar.close()
        finally:
            self._file.close()


def _open(path: Path) -> tarfile.TarFile:
    try:
        # "r:" only: a compressed stream is not what this format writes.
        return tarfile.open(path, mode="r:")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(_("The backup cannot be read as an archive: %(error)s")
                          % {"error": exc}) from None


def validate(path: Path, limits: Limits) -> Validated:
    """First pass: every member allowed, within limits and matching the manifest's SHA-256.

    Raises :class:`BackupError` naming the first problem; nothing is written anywhere.
    """
    if not path.is_file():
        raise BackupError(_("No backup file at %(path)s.") % {"path": path})
    seen: dict[str, Member] = {}
    manifest_bytes = None
    total = 0
    with _open(path) as tar:
        try:
            for info in tar:
                name = info.name
                if not info.isreg():
                    raise BackupError(_("The archive holds %(name)s, which is not a plain "
                                        "file (link, device or folder): refused.")
                                      % {"name": name})
                if not allowed_name(name):
                    raise BackupError(_("The archive holds %(name)s, outside what a backup "
                                        "contains (path traversal or a foreign file): "
                                        "refused.") % {"name": name})
                if name in seen or (name == MANIFEST and manifest_bytes is not None):
                    raise BackupError(_("The archive holds %(name)s twice: refused.")
                                      % {"name": name})
                total += info.size
                if total > limits.max_bytes:
                    raise BackupError(_("The archive is larger than the limit of %(gb)d GB "
                                        "(BACKUP_MAX_GB): refused.")
                                      % {"gb": limits.max_bytes // 1024 ** 3})
                if len(seen) >= limits.max_members:
                    raise BackupError(_("The archive holds more than %(n)d files "
                                        "(BACKUP_MAX_MEMBERS): refused.")
                                      % {"n": limits.max_members})
                handle = tar.extractfile(info)
                if name == MANIFEST:
                    if info.size > MAX_MANIFEST_BYTES:
                        raise BackupError(_("The archive's manifest is too large: refused."))
                    manifest_bytes = handle.read()
                    continue
                digest = hashlib.sha256()
                for chunk in iter(lambda h=handle: h.read(_CHUNK), b""):
                    digest.update(chunk)
                seen[name] = Member(info.size, digest.hexdigest())
        except (OSError, EOFError, tarfile.TarError) as exc:
            raise BackupError(_("The archive is damaged or cut short: %(error)s")
                              % {"error": exc}) from None
    manifest = _parse_manifest(manifest_bytes)
    _compare(manifest, seen)
    return Validated(manifest, seen)


def _parse_manifest(data: bytes | None) -> dict:
    if data is None:
        raise BackupError(_("The archive has no manifest: it is not a complete backup."))
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BackupError(_("The archive's manifest is not valid JSON.")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("This archive is not an MTTQ e-Office backup."))
    if manifest.get("version") != VERSION:
        raise BackupError(_("This backup has format version %(v)s; this program reads "
                            "version %(ours)d.") % {"v": manifest.get("version"), "ours": VERSION})
    if not isinstance(manifest.get("members"), dict):
        raise BackupError(_("The archive's manifest lists no members."))
    return manifest


def _compare(manifest: dict, seen: dict[str, Member]) -> None:
    listed = manifest["members"]
    for name, member in seen.items():
        entry = listed.get(name)
        if not isinstance(entry, dict):
            raise BackupError(_("%(name)s is in the archive but not in its manifest: "
                                "refused.") % {"name": name})
        if entry.get("size") != member.size or entry.get("sha256") != member.sha256:
            raise BackupError(_("%(name)s does not match the SHA-256 in the manifest: the "
                                "archive is corrupt.") % {"name": name})
    missing = sorted(set(listed) - set(seen))
    if missing:
        raise BackupError(_("%(n)d files listed in the manifest are missing from the archive "
                            "(first: %(name)s).") % {"n": len(missing), "name": missing[0]})
    engine = manifest.get("database", {}).get("engine")
    if DATABASE_MEMBERS.get(engine) not in seen:
        raise BackupError(_("The archive holds no database."))


def inside(root: Path, relative: PurePosixPath) -> Path:
    """``root/relative``, refusing anything that resolves outside ``root`` (symlinks too)."""
    root = root.resolve()
    target = (root / Path(*relative.parts)).resolve()
    if target != root and root not in target.parents:
        raise BackupError(_("%(name)s would be written outside %(root)s: refused.")
                          % {"name": relative, "root": root})
    return target


def iter_members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """Second pass: ``(name, file object)`` of every member but the manifest."""
    with _open(path) as tar:
        for info in tar:
            if info.isreg() and info.name != MANIFEST:
                yield info.name, tar.extractfile(info)


def copy_member(handle: IO[bytes], target: Path, expected: Member, *, overwrite: bool) -> None:
    """Write one member to ``target`` (mode 640), checking its SHA-256 again on the way."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    digest = hashlib.sha256()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with os.fdopen(os.open(partial, flags, 0o640), "wb") as out:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != expected.sha256:
        partial.unlink()
        raise BackupError(_("%(name)s changed while it was restored: the archive is being "
                            "modified or the disk is failing.") % {"name": target.name})
    if target.exists() and not overwrite:
        partial.unlink()
        raise BackupError(_("%(path)s exists already: restore into an empty installation or "
                            "use --force.") % {"path": target})
    os.replace(partial, target)
