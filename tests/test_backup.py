"""Backup and restore (issue 17 #5): a real round trip into a fresh installation.

The backup runs in this process against the test database (PostgreSQL through pg_dump
when DATABASE_URL says so, else SQLite's backup API). The restore runs as
``manage.py restore`` in a child process pointed at a NEW installation: a fresh database
(a new PostgreSQL database, or a new SQLite file), its own var/ and media folders. The
test then reads the restored database and files directly and compares them with the
originals.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from signing.models import PdfStage, SignedPdf
from tests.factories import advance, draft, pdf_bytes
from workflow.backup import archive, secrets, service, tasks
from workflow.backup.archive import BackupError
from workflow.documents import services
from workflow.documents.models import Document, FileVersion

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "mật khẩu sao lưu đủ dài"


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch):
    # The cost is stored with each bundle; tests need not pay 128 MiB and a second a run.
    monkeypatch.setattr(secrets, "SCRYPT_N", 2 ** 12)


# --- a little real data: an issued, signed document and a draft with an uploaded file ----


@pytest.fixture
def var_dir(settings, tmp_path):
    """This installation's var/: its SECRET_KEY file and key-encryption key (before keys)."""
    from cryptography.fernet import Fernet

    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()
    (settings.VAR_DIR / "secret_key").write_text("k" * 64 + "\n")
    settings.SIGNING_KEK = ""
    settings.SIGNING_KEK_FILE = settings.VAR_DIR / "signing-kek"
    settings.SIGNING_KEK_FILE.write_text(Fernet.generate_key().decode() + "\n")
    return settings.VAR_DIR


@pytest.fixture
def installation(var_dir, signing_env):
    org, leader, clerk = signing_env["org"], signing_env["leader"], signing_env["clerk"]
    doc = advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch sao lưu"), "approved")
    services.perform(leader, doc.pk, "sign", expected_state="approved")
    services.perform(clerk, doc.pk, "issue", expected_state="signed")
    other = draft(org, subject="Công văn có tệp đính kèm")
    services.add_file(other.drafter, other.pk,
                      upload=SimpleUploadedFile("Tờ trình số 1.pdf", pdf_bytes("Tệp", 2)))
    return signing_env


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stored_hashes() -> dict[str, str]:
    media = Path(settings.MEDIA_ROOT)
    return {p.relative_to(media).as_posix(): _sha(p) for p in media.rglob("*")
            if p.is_file() and "signing/keys" not in p.as_posix()}


# --- a fresh installation for the child process ------------------------------------------


class Target:
    """A new installation: empty database, empty var/ (media, search index inside)."""

    def __init__(self, tmp_path: Path):
        self.var = tmp_path / "target-var"
        self.var.mkdir()
        self.media = self.var / "media"
        self.pg_name = None
        if connection.vendor == "postgresql":
            self.pg_name = f"{connection.settings_dict['NAME']}_restored"[:63]
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            self._admin(f'CREATE DATABASE "{self.pg_name}"')
            params = connection.settings_dict
            password = f":{quote(params['PASSWORD'], safe='')}" if params["PASSWORD"] else ""
            self.url = (f"postgres://{params['USER']}{password}@"
                        f"{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}/{self.pg_name}")
        else:
            self.url = f"sqlite:///{self.var / 'db.sqlite3'}"

    def _admin(self, sql: str) -> None:
        import psycopg

        params = connection.settings_dict
        with psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                             user=params["USER"], password=params["PASSWORD"] or None,
                             dbname="postgres", autocommit=True) as admin:
            admin.execute(sql)

    def drop(self) -> None:
        if self.pg_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}"')

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("DATABASE_URL", "CELERY_", "BROKER_URL", "SEARCH_URL",
                                     "ES_URL", "CACHE_URL", "MEDIA_ROOT", "SEARCH_INDEX_DIR",
                                     "SECRET_KEY", "SIGNING_KEK", "MTTQ_", "PYTEST"))}
        return {**keep, "DATABASE_URL": self.url, "MTTQ_VAR_DIR": str(self.var),
                "DJANGO_SETTINGS_MODULE": "config.settings", "LANGUAGE_CODE": "en"}

    def restore(self, src: Path, *extra: str) -> tuple[int, dict | None, str]:
        done = subprocess.run(  # noqa: S603 - this project's manage.py
            [sys.executable, str(ROOT / "manage.py"), "restore", str(src), "--json", *extra],
            env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=300)
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        return done.returncode, (json.loads(lines[-1]) if lines else None), done.stderr

    def query(self, sql: str):
        if self.pg_name:
            import psycopg

            params = connection.settings_dict
            with psycopg.connect(host=params["HOST"] or "127.0.0.1",
                                 port=params["PORT"] or 5432, user=params["USER"],
                                 password=params["PASSWORD"] or None,
                                 dbname=self.pg_name) as conn:
                return conn.execute(sql).fetchall()
        with sqlite3.connect(self.var / "db.sqlite3") as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def target(tmp_path):
    made = Target(tmp_path)
    yield made
    made.drop()


def _check_restored(report: dict, target: Target, originals: dict[str, str],
                    issued: int, documents: int) -> None:
    assert report["ok"], report
    assert report["count_mismatches"] == [] and report["rows"] > 0
    assert report["stored_files"]["checked"] >= len(originals) - 2
    assert report["stored_files"]["mismatched"] == report["stored_files"]["missing"] == 0
    assert report["issued_pdfs"]["checked"] == issued
    assert report["issued_pdfs"]["PASSED"] == issued, report["issued_pdfs"]
    assert report["search_index"]["missing"] == report["search_index"]["extra"] == 0
    assert report["search_index"]["indexed"] >= documents
    # Read back directly, not through the command's own report.
    assert target.query("SELECT COUNT(*) FROM documents_document")[0][0] == documents
    restored = {p.relative_to(target.media).as_posix(): _sha(p)
                for p in target.media.rglob("*") if p.is_file()}
    assert {k: v for k, v in restored.items() if "signing/keys" not in k} == originals


# --- the round trips ---------------------------------------------------------------------


ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="DATABASE_URL does not point at PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_round_trip_on_postgresql(installation, target, tmp_path, settings):
    _round_trip(target, tmp_path, settings)


@pytest.mark.slow
@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite round trip runs without DATABASE_URL")
@pytest.mark.django_db(transaction=True)
def test_round_trip_on_sqlite(installation, target, tmp_path, settings):
    _round_trip(target, tmp_path, settings)


def _round_trip(target: Target, tmp_path: Path, settings) -> None:
    originals = _stored_hashes()
    documents = Document.objects.count()
    issued = SignedPdf.objects.filter(stage=PdfStage.ISSUED).count()
    assert issued == 1 and FileVersion.objects.exists()
    # Through the scheduled task (what beat runs when BACKUP_DIR and BACKUP_SCHEDULE are set).
    settings.BACKUP_DIR = str(tmp_path / "backups")
    made = tasks.scheduled_backup()
    path = Path(made["path"])
    assert path.name.startswith("mttq-backup-") and path.suffix == ".tar"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert made["media_files"] == len(originals) and made["removed"] == []
    with tarfile.open(path) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert names[-1] == "manifest.json"
    assert archive.DATABASE_MEMBERS[connection.vendor] in names
    assert manifest["database"]["counts"]["documents_document"] == documents
    assert manifest["settings"]["search_backend"] == "embedded"
    assert not manifest["secrets"]["included"] and archive.SECRETS not in names
    assert all(not n.startswith("media/signing/keys/") for n in names)  # keys: only if asked
    # The fresh installation trusts the same (DEMO) root, as a real one configures its roots.
    shutil.copytree(settings.SIGNING_PKI_DIR, target.var / "signing-pki")
    code, report, stderr = target.restore(path)
    assert code == 0, stderr
    _check_restored(report, target, originals, issued, documents)
    assert report["secrets_restored"] == [] and report["warnings"] == []


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_encrypted_secrets_and_keys_round_trip(installation, target, tmp_path):
    originals = _stored_hashes()
    result = service.create_backup(tmp_path / "b.tar", include_secrets=True,
                                   include_keys=True, passphrase=PASSPHRASE)
    raw = result.path.read_bytes()
    kek = (tmp_path / "var" / "signing-kek").read_text()
    assert kek.strip().encode() not in raw and b"k" * 64 not in raw
    assert "secret_key" in result.secrets and "signing-kek" in result.secrets
    assert any(n.startswith("signing-pki/") for n in result.secrets)
    assert any(n.startswith("media/signing/keys/") for n in result.secrets)
    # A wrong passphrase stops the restore before anything is looked at or written.
    before = Document.objects.count()
    with pytest.raises(BackupError, match="passphrase is wrong"):
        service.restore_backup(result.path, passphrase="not the passphrase at all")
    assert Document.objects.count() == before
    right = tmp_path / "right"
    right.write_text(PASSPHRASE + "\n")
    code, report, stderr = target.restore(result.path, "--passphrase-file", str(right))
    assert code == 0, stderr
    # The DEMO PKI came back from the encrypted bundle: the PDFs verify without a copy.
    _check_restored(report, target, originals, 1, Document.objects.count())
    assert (target.var / "secret_key").read_text() == "k" * 64 + "\n"
    assert (target.var / "signing-kek").read_text() == kek
    assert oct((target.var / "signing-kek").stat().st_mode & 0o777) == "0o600"
    keys = list((target.media / "signing" / "keys").rglob("*"))
    assert keys and all(p.stat().st_mode & 0o077 == 0 for p in keys if p.is_file())


# --- refusals: nothing is written -------------------------------------------------------


def _archive(path: Path, members: dict[str, bytes], *, manifest_extra=None,
             engine: str | None = None) -> Path:
    writer = archive.Writer(path)
    for name, data in members.items():
        writer.add_bytes(name, data)
    writer.finish({"format": archive.FORMAT, "version": archive.VERSION,
                   "database": {"engine": engine or connection.vendor, "counts": {},
                                "migrations": []}, **(manifest_extra or {})})
    return path


def _db_member() -> str:
    return archive.DATABASE_MEMBERS[connection.vendor]


def _limits() -> archive.Limits:
    return archive.Limits(max_bytes=10 * 2 ** 20, max_members=100)


def test_corrupt_member_is_refused(tmp_path):
    path = _archive(tmp_path / "a.tar", {_db_member(): b"dump", "media/x.pdf": b"%PDF-1.7 abc"})
    data = bytearray(path.read_bytes())
    at = data.index(b"%PDF-1.7 abc")
    data[at + 9] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="does not match the SHA-256"):
        archive.validate(path, _limits())


def test_truncated_and_foreign_archives_are_refused(tmp_path):
    path = _archive(tmp_path / "a.tar", {_db_member(): b"dump" * 5000})
    cut = tmp_path / "cut.tar"
    cut.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(BackupError):
        archive.validate(cut, _limits())
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(BackupError, match="cannot be read"):
        archive.validate(junk, _limits())
    missing = _archive(tmp_path / "m.tar", {_db_member(): b"d"},
                       manifest_extra={"format": "something-else"})
    with pytest.raises(BackupError, match="not an MTTQ"):
        archive.validate(missing, _limits())


def _raw_tar(path: Path, entries: list[tarfile.TarInfo], datas: list[bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in zip(entries, datas, strict=True):
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


@pytest.mark.parametrize("name", ["media/../../etc/passwd", "/etc/passwd", "media//x",
                                  "../x", "media/a/../../x", "other.txt", "media\\..\\x"])
def test_members_outside_the_target_are_refused(tmp_path, name):
    info = tarfile.TarInfo(name)
    info.size = 3
    path = _raw_tar(tmp_path / "t.tar", [info], [b"abc"])
    with pytest.raises(BackupError, match="outside what a backup contains"):
        archive.validate(path, _limits())


def test_links_and_oversized_archives_are_refused(tmp_path):
    link = tarfile.TarInfo("media/link.pdf")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    with pytest.raises(BackupError, match="not a plain file"):
        archive.validate(_raw_tar(tmp_path / "l.tar", [link], [b""]), _limits())
    big = _archive(tmp_path / "b.tar", {_db_member(): b"x" * 4096, "media/a": b"y" * 4096})
    with pytest.raises(BackupError, match="larger than the limit"):
        archive.validate(big, archive.Limits(max_bytes=5000, max_members=100))
    with pytest.raises(BackupError, match="more than 1 files"):
        archive.validate(big, archive.Limits(max_bytes=10 ** 9, max_members=1))


def test_a_member_not_in_the_manifest_is_refused(tmp_path):
    path = _archive(tmp_path / "a.tar", {_db_member(): b"dump"})
    with tarfile.open(path, "a") as tar:
        info = tarfile.TarInfo("media/smuggled.pdf")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"%PDF"))
    with pytest.raises(BackupError, match="not in its manifest"):
        archive.validate(path, _limits())


def test_inside_refuses_an_escaping_symlink(tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(BackupError, match="outside"):
        archive.inside(root, archive.safe_relative("out/x.pdf"))
    assert archive.inside(root, archive.safe_relative("a/b.pdf")) == root.resolve() / "a/b.pdf"


@pytest.mark.django_db
def test_restore_refuses_a_non_empty_installation(org, tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    path = _archive(tmp_path / "a.tar", {_db_member(): b"dump"})
    with pytest.raises(BackupError, match="not empty"):
        service.restore_backup(path)
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    path = _archive(tmp_path / "b.tar", {archive.DATABASE_MEMBERS[other]: b"dump"},
                    engine=other)
    with pytest.raises(BackupError, match="same database engine"):
        service.restore_backup(path)
    assert Document.objects.count() == 0 and org.units  # nothing replaced


def test_secrets_need_a_long_passphrase_and_the_right_one(tmp_path):
    with pytest.raises(BackupError, match="at least"):
        secrets.encrypt({"secret_key": b"x"}, "short")
    token, kdf = secrets.encrypt({"secret_key": b"abc", "signing-pki/root.pem": b"pem"},
                                 PASSPHRASE)
    assert b"abc" not in token
    assert secrets.decrypt(token, kdf, PASSPHRASE)["signing-pki/root.pem"] == b"pem"
    with pytest.raises(BackupError, match="passphrase is wrong"):
        secrets.decrypt(token, kdf, PASSPHRASE + "!")
    tampered = token[:-5] + (b"A" if token[-5:-4] != b"A" else b"B") + token[-4:]
    with pytest.raises(BackupError, match="passphrase is wrong"):
        secrets.decrypt(tampered, kdf, PASSPHRASE)
    evil, kdf = secrets.encrypt({"signing-pki/../../x": b"x"}, PASSPHRASE)
    with pytest.raises(BackupError, match="never writes"):
        secrets.decrypt(evil, kdf, PASSPHRASE)


def test_scheduled_backup_is_off_by_default_and_prunes(tmp_path):
    assert "backup-scheduled" not in settings.CELERY_BEAT_SCHEDULE
    for stamp in ("20260101-010000", "20260102-010000", "20260103-010000"):
        (tmp_path / f"mttq-backup-{stamp}.tar").write_bytes(b"x")
    (tmp_path / "mttq-backup-20260104-010000.tar.partial").write_bytes(b"x")
    removed = tasks.prune(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mttq-backup-20260102-010000.tar", "mttq-backup-20260103-010000.tar"]
    assert len(removed) == 2


def test_scheduled_backup_is_in_beat_when_configured():
    code = ("from django.conf import settings; "
            "e = settings.CELERY_BEAT_SCHEDULE['backup-scheduled']; "
            "print(e['task'], e['schedule'])")
    env = {**os.environ, "BACKUP_DIR": "/tmp/mttq-backups", "BACKUP_SCHEDULE": "30 1 * * *",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"],  # noqa: S603
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "backup.scheduled" in done.stdout and "30" in done.stdout


def test_commands_turn_refusals_into_clear_errors(tmp_path):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="at least 12 characters"):
        call_command("backup", str(tmp_path), "--include-secrets")
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "missing.tar"))
    short = tmp_path / "short"
    short.write_text("too short\n")
    with pytest.raises(CommandError, match="at least 12 characters"):
        call_command("backup", str(tmp_path), "--include-keys", "--passphrase-file", str(short))
    assert list(tmp_path.glob("*.tar*")) == []


@pytest.mark.django_db
def test_backup_refuses_to_run_inside_a_transaction(tmp_path):
    with pytest.raises(BackupError, match="inside a database transaction"):
        service.create_backup(tmp_path)
    assert list(tmp_path.glob("*.tar*")) == []


def test_stray_links_and_names_in_media_are_left_out(tmp_path):
    media = tmp_path / "media"
    (media / "documents").mkdir(parents=True)
    (media / "documents" / "a.pdf").write_bytes(b"%PDF")
    (media / "documents" / "link.pdf").symlink_to("/etc/passwd")
    (media / "documents" / "odd\\name.pdf").write_bytes(b"x")
    (media / "signing" / "keys").mkdir(parents=True)
    (media / "signing" / "keys" / "k.p12").write_bytes(b"secret")
    files, skipped = service.media_files(media)
    assert [p.name for p in files] == ["a.pdf"] and skipped == 2
