"""Back up an installation to one archive and restore it into an empty one.

:func:`create_backup` writes the database, every stored file, the settings a restore
needs (never a secret) and, only when asked, the secrets and signing keys encrypted with
a passphrase (:mod:`.secrets`). :func:`restore_backup` refuses a damaged or foreign
archive before touching anything (:func:`.archive.validate`), refuses an installation
that already holds work unless forced, loads the database, writes the files, compares
every table's row count with the manifest, migrates, then checks stored files, issued
PDFs and the search index (:mod:`.checks`) and reports what it found.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django.utils.translation import gettext as _

from . import archive, checks, database, secrets
from .archive import BackupError, Limits

NAME_PREFIX = "mttq-backup-"
SUFFIX = ".tar"


def limits() -> Limits:
    return Limits(max_bytes=int(getattr(settings, "BACKUP_MAX_GB", 500)) * 1024 ** 3,
                  max_members=int(getattr(settings, "BACKUP_MAX_MEMBERS", 5_000_000)))


def _pki_dir() -> Path:
    from signing import conf

    return conf.pki_dir()


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ("configured" if url else "none")


def settings_snapshot() -> dict:
    """What a restore must set the same way (no secret, no password, no key)."""
    from signing import conf

    roots = []
    for path in conf.trust_root_files():
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        roots.append({"path": str(path), "sha256": digest})
    return {
        "database_engine": database.engine(),
        "search_backend": "elasticsearch" if settings.SEARCH_URL else "embedded",
        "search_es_index": settings.SEARCH_ES_INDEX,
        "celery_broker": _scheme(settings.CELERY_BROKER_URL or ""),
        "cache": _scheme(getattr(settings, "CACHE_URL", "") or ""),
        "time_zone": settings.TIME_ZONE,
        "allowed_hosts": list(settings.ALLOWED_HOSTS),
        "production": bool(os.environ.get("MTTQ_PRODUCTION")),
        "media_root": str(settings.MEDIA_ROOT),
        "var_dir": str(settings.VAR_DIR),
        "max_upload_mb": settings.MTTQ_MAX_UPLOAD_BYTES // (1024 * 1024),
        "signing_demo_pki": conf.demo_enabled(),
        "signing_demo_root_sha256": _demo_root_sha256(),
        "signing_trust_roots": roots,
        "secret_key_source": "file" if _secret_key_from_file() else "environment",
        "signing_kek_source": "environment" if settings.SIGNING_KEK else "file",
    }


def _secret_key_from_file() -> bool:
    return not (os.environ.get("SECRET_KEY") or os.environ.get("DJANGO_SECRET_KEY"))


def media_files(media_root: Path) -> tuple[list[Path], int]:
    """Every stored file under MEDIA_ROOT but signing keys; and how many were left out.

    Left out: symbolic links and special files, and names a restore would refuse (a
    backslash, say): the application never writes those, so they are strays.
    """
    files, skipped = [], 0
    keys = media_root / secrets.KEY_MEDIA
    for directory, dirnames, names in os.walk(media_root):
        here = Path(directory)
        if here == keys:
            dirnames[:] = []
            continue
        dirnames.sort()
        for name in sorted(names):
            path = here / name
            relative = path.relative_to(media_root).as_posix()
            if (path.is_symlink() or not path.is_file()
                    or not archive.allowed_name(archive.MEDIA_PREFIX + relative)):
                skipped += 1
            elif not name.endswith(".restoring"):
                files.append(path)
    return files, skipped


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    media_files: int
    tables: int
    rows: int
    secrets: list[str] = field(default_factory=list)
    skipped: int = 0

    def as_dict(self) -> dict:
        return {"path": str(self.path), "size": self.size, "seconds": round(self.seconds, 2),
                "media_files": self.media_files, "tables": self.tables, "rows": self.rows,
                "secrets": self.secrets, "skipped": self.skipped}


def archive_name(now=None) -> str:
    return f"{NAME_PREFIX}{(now or timezone.now()):%Y%m%d-%H%M%S}{SUFFIX}"


def create_backup(dest: Path, *, include_secrets: bool = False, include_keys: bool = False,
                  passphrase: str | None = None) -> BackupResult:
    """Write a backup archive; ``dest`` is a folder (a dated name is made) or a ``.tar`` path."""
    started = time.monotonic()
    if include_secrets or include_keys:
        secrets.check_passphrase(passphrase)
    dest = Path(dest)
    if dest.suffix != SUFFIX:
        dest.mkdir(parents=True, exist_ok=True)
        dest = dest / archive_name()
    if dest.exists():
        raise BackupError(_("%(path)s exists already.") % {"path": dest})
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    media_root = Path(settings.MEDIA_ROOT)
    kind = database.engine()
    writer = archive.Writer(partial)
    try:
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".mttq-backup-") as tmp:
            dump_path = Path(tmp) / archive.DATABASE_MEMBERS[kind]
            counts = database.dump(dump_path)
            writer.add_file(archive.DATABASE_MEMBERS[kind], dump_path)
        files, skipped = media_files(media_root)
        for path in files:
            writer.add_file(archive.MEDIA_PREFIX + path.relative_to(media_root).as_posix(), path)
        bundle_names: list[str] = []
        kdf = None
        if include_secrets or include_keys:
            bundle = secrets.collect(
                var_dir=Path(settings.VAR_DIR), kek_file=Path(settings.SIGNING_KEK_FILE),
                pki_dir=_pki_dir(), media_root=media_root,
                secret_key_from_file=_secret_key_from_file(), include_secrets=include_secrets,
                include_keys=include_keys)
            token, kdf = secrets.encrypt(bundle, passphrase)
            writer.add_bytes(archive.SECRETS, token)
            bundle_names = sorted(bundle)
        writer.finish({
            "format": archive.FORMAT, "version": archive.VERSION,
            "created_at": timezone.now().isoformat(),
            "database": {"engine": kind, "member": archive.DATABASE_MEMBERS[kind],
                         "counts": counts, "migrations": database.applied_migrations()},
            "settings": settings_snapshot(),
            "secrets": {"included": bool(kdf), "names": bundle_names, "kdf": kdf},
        })
    except BaseException:
        writer.abort()
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, dest)
    return BackupResult(dest, dest.stat().st_size, time.monotonic() - started, len(files),
                        len(counts), sum(counts.values()), bundle_names, skipped)


@dataclass
class RestoreReport:
    archive: str
    created_at: str = ""
    tables: int = 0
    rows: int = 0
    count_mismatches: list[str] = field(default_factory=list)
    media_files: int = 0
    secrets: list[str] = field(default_factory=list)
    secrets_skipped: bool = False
    warnings: list[str] = field(default_factory=list)
    files: checks.FileCheck | None = None
    pdfs: checks.PdfCheck | None = None
    index: checks.IndexCheck | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """The data came back whole: counts, stored files, no FAILED PDF, a complete index."""
        return (not self.count_mismatches and (self.files is None or self.files.ok)
                and (self.pdfs is None or not self.pdfs.verdicts.get("FAILED"))
                and (self.index is None or self.index.ok))

    def as_dict(self) -> dict:
        return {"archive": self.archive, "created_at": self.created_at, "ok": self.ok,
                "tables": self.tables, "rows": self.rows,
                "count_mismatches": self.count_mismatches, "media_files": self.media_files,
                "secrets_restored": self.secrets, "secrets_skipped": self.secrets_skipped,
                "warnings": self.warnings,
                "stored_files": self.files.as_dict() if self.files else None,
                "issued_pdfs": self.pdfs.as_dict() if self.pdfs else None,
                "search_index": self.index.as_dict() if self.index else None,
                "seconds": round(self.seconds, 2)}


def _media_is_empty(media_root: Path) -> bool:
    if not media_root.is_dir():
        return True
    return not any(p.is_file() for p in media_root.rglob("*"))


def _check_target(validated: archive.Validated, *, force: bool) -> None:
    engine = validated.manifest["database"]["engine"]
    if engine != database.engine():
        raise BackupError(_("This backup holds a %(theirs)s database; this installation uses "
                            "%(ours)s. Restore it into an installation with the same "
                            "database engine.") % {"theirs": engine, "ours": database.engine()})
    unknown = database.unknown_migrations(validated.manifest["database"].get("migrations", []))
    if unknown:
        raise BackupError(_("The backup was made by a newer version of this program "
                            "(migration %(name)s is unknown here): update the program first.")
                          % {"name": unknown[0]})
    if force:
        return
    if not database.is_empty() or not _media_is_empty(Path(settings.MEDIA_ROOT)):
        raise BackupError(_("This installation is not empty (people, units, documents or "
                            "stored files exist). Restore into a new, empty installation, or "
                            "use --force to replace everything here."))
    needed = validated.total_bytes
    free = shutil.disk_usage(_existing_parent(Path(settings.MEDIA_ROOT))).free
    if needed > free:
        raise BackupError(_("Not enough free disk space: the backup needs %(need)d MB, "
                            "%(free)d MB are free.") % {"need": needed // 2 ** 20,
                                                        "free": free // 2 ** 20})


def _existing_parent(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _compare_settings(report: RestoreReport, saved: dict) -> None:
    here = settings_snapshot()
    for key in ("search_backend", "signing_demo_pki", "time_zone"):
        if saved.get(key) != here.get(key):
            report.warnings.append(_("Setting %(key)s was %(then)s in the backed-up "
                                     "installation and is %(now)s here.")
                                   % {"key": key, "then": saved.get(key), "now": here.get(key)})
    if saved.get("signing_demo_root_sha256") and (
            saved["signing_demo_root_sha256"] != here["signing_demo_root_sha256"]):
        report.warnings.append(_("The backed-up installation used a DEMO PKI that is not "
                                 "here (restore the keys from a backup made with "
                                 "--include-keys): its PDFs verify as INDETERMINATE."))
    ours = {r["sha256"] for r in here["signing_trust_roots"]}
    for root in saved.get("signing_trust_roots", []):
        if root.get("sha256") not in ours:
            report.warnings.append(_("Trust root %(path)s of the backed-up installation is not "
                                     "configured here (SIGNING_TRUST_ROOTS): signatures under it "
                                     "verify as INDETERMINATE.") % {"path": root.get("path")})


def restore_backup(src: Path, *, force: bool = False, passphrase: str | None = None,
                   verify_pdfs: bool = True, pdf_sample: int | None = None) -> RestoreReport:
    """Restore ``src`` into this installation and check the result (see the module note)."""
    started = time.monotonic()
    src = Path(src)
    validated = archive.validate(src, limits())
    manifest = validated.manifest
    report = RestoreReport(archive=str(src), created_at=manifest.get("created_at", ""))
    bundle = _open_secrets(src, validated, passphrase, report)
    _check_target(validated, force=force)
    media_root = Path(settings.MEDIA_ROOT)
    kind = manifest["database"]["engine"]
    tmp_parent = _existing_parent(Path(settings.VAR_DIR))
    with tempfile.TemporaryDirectory(dir=tmp_parent, prefix=".mttq-restore-") as tmp:
        for name, handle in archive.iter_members(src):
            expected = validated.members[name]
            if name == archive.DATABASE_MEMBERS[kind]:
                target = Path(tmp) / name
            elif name.startswith(archive.MEDIA_PREFIX):
                relative = archive.safe_relative(name.removeprefix(archive.MEDIA_PREFIX))
                target = archive.inside(media_root, relative)
                report.media_files += 1
            else:
                continue
            try:
                archive.copy_member(handle, target, expected, overwrite=force)
            except OSError as exc:
                raise BackupError(_("%(name)s cannot be written: %(error)s")
                                  % {"name": name, "error": exc}) from None
        database.load(Path(tmp) / archive.DATABASE_MEMBERS[kind])
    if bundle:
        report.secrets = secrets.restore(
            bundle, var_dir=Path(settings.VAR_DIR), kek_file=Path(settings.SIGNING_KEK_FILE),
            pki_dir=_pki_dir(), media_root=media_root)
    saved_counts = manifest["database"]["counts"]
    now = database.current_counts()
    report.tables, report.rows = len(saved_counts), sum(saved_counts.values())
    report.count_mismatches = [f"{t}: {n} → {now.get(t)}" for t, n in sorted(saved_counts.items())
                               if now.get(t) != n]
    call_command("migrate", interactive=False, verbosity=0)
    _compare_settings(report, manifest.get("settings", {}))
    report.files = checks.stored_files()
    if verify_pdfs:
        _forget_demo_material()
        report.pdfs = checks.issued_pdfs(pdf_sample)
    report.index = checks.rebuild_index()
    report.seconds = time.monotonic() - started
    return report


def _demo_root_sha256() -> str | None:
    from signing.trust import demo_root_path

    path = demo_root_path()
    return hashlib.sha256(path.read_bytes()).hexdigest() if path else None


def _forget_demo_material() -> None:
    # The demo CA's CRLs are cached per PKI folder; a restored folder must be read afresh.
    from signing import trust

    trust._demo_crl_cache.clear()


def _open_secrets(src: Path, validated: archive.Validated, passphrase: str | None,
                  report: RestoreReport) -> dict[str, bytes]:
    """Decrypt the secrets before anything is written, so a wrong passphrase costs nothing."""
    info = validated.manifest.get("secrets") or {}
    if archive.SECRETS not in validated.members:
        return {}
    if not passphrase:
        report.secrets_skipped = True
        report.warnings.append(_("The backup holds encrypted keys and secrets; without "
                                 "--passphrase-file they were not restored."))
        return {}
    token = next(h.read() for n, h in archive.iter_members(src) if n == archive.SECRETS)
    if hashlib.sha256(token).hexdigest() != validated.members[archive.SECRETS].sha256:
        raise BackupError(_("The encrypted secrets changed while they were read."))
    return secrets.decrypt(token, info.get("kdf") or {}, passphrase)
