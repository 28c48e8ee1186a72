"""Issue #23, finding 3: no guessable secret key, paper links bound to their paper, and key
passphrases encrypted with a key of their own (not derived from SECRET_KEY)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from signing import signers
from signing.models import KeyKind, SigningKey
from tests.meeting_helpers import people, published
from workflow.meetings.services.links import (
    paper_file_version,
    paper_link_token,
    paper_link_version,
)

ROOT = Path(__file__).resolve().parent.parent
CONFIG_VARS = ("DEBUG", "SECRET_KEY", "DJANGO_SECRET_KEY", "MTTQ_PRODUCTION",
               "DJANGO_SETTINGS_MODULE", "MTTQ_VAR_DIR", "DATABASE_URL")
SHOW_KEY = ("import os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
            "from django.conf import settings as s; print(s.SECRET_KEY)")


def _settings_run(var_dir: Path, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    base.update(MTTQ_VAR_DIR=str(var_dir), **env)
    return subprocess.run([sys.executable, "-c", SHOW_KEY], cwd=ROOT, env=base,
                          capture_output=True, text=True, timeout=120)


# --- SECRET_KEY -----------------------------------------------------------------------------


def test_first_run_makes_a_random_key_in_var(tmp_path):
    first = _settings_run(tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and "insecure" not in key and str(ROOT) not in key
    path = tmp_path / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == key
    # Every later start (every worker) uses the same key.
    assert _settings_run(tmp_path).stdout.strip() == key
    # Another installation gets another key.
    assert _settings_run(tmp_path / "other").stdout.strip() != key


@pytest.mark.parametrize("value", ["insecure-local-" + str(ROOT), "django-insecure-abc",
                                   "short"])
@pytest.mark.parametrize("production", ["0", "1"])
def test_known_default_keys_are_refused(tmp_path, value, production):
    result = _settings_run(tmp_path, SECRET_KEY=value, MTTQ_PRODUCTION=production)
    assert result.returncode != 0
    assert "known default" in result.stderr


# --- paper links: a forged token opens nothing that is not that paper's -----------------------


@pytest.fixture
def room(org):
    meeting = published(org)
    cast = people(org)
    client = Client()
    client.force_login(cast["commune_delegate"])
    client.get(reverse("meetings:room_state", args=[meeting.pk]))
    return meeting, client


def _forged(paper_id: int, version_id: int, session_key: str) -> str:
    # What anyone holding SECRET_KEY can make (the quick-start key was guessable).
    return paper_link_token(paper_id, version_id, session_key, time.time())


@pytest.mark.django_db
def test_forged_link_to_a_paper_that_does_not_exist_is_refused(org, room):
    meeting, client = room
    session = client.session.session_key
    # A province draft (not a paper): its file must not be reachable through a paper link.
    from tests.factories import draft, pdf_bytes, upload
    from workflow.documents import services as documents

    secret = draft(org, "province", subject="Dự thảo của tỉnh")
    documents.add_file(secret.drafter, secret.pk, upload=upload("du-thao.pdf",
                                                                 pdf_bytes("MAT")),
                       kind="main")
    version = secret.files.get().current_version
    token = _forged(999_999, version.pk, session)
    assert paper_link_version(token, 999_999, session) is None
    response = client.get(reverse("meetings:paper_file", args=[999_999]), {"t": token})
    assert response.status_code == 404


@pytest.mark.django_db
def test_forged_link_with_another_documents_version_is_refused(org, room):
    meeting, client = room
    session = client.session.session_key
    paper, other = list(meeting.papers.order_by("pk"))
    foreign = paper_file_version(other)
    # A token for paper 1 naming paper 2's file version, and one for an unrelated draft.
    from tests.factories import draft, pdf_bytes, upload
    from workflow.documents import services as documents

    secret = draft(org, "province", subject="Dự thảo của tỉnh")
    documents.add_file(secret.drafter, secret.pk, upload=upload("du-thao.pdf",
                                                                 pdf_bytes("MAT")),
                       kind="main")
    unrelated = secret.files.get().current_version
    for version in (foreign, unrelated):
        token = _forged(paper.pk, version.pk, session)
        assert paper_link_version(token, paper.pk, session) is None
    response = client.get(reverse("meetings:paper_file", args=[paper.pk]),
                          {"t": _forged(paper.pk, unrelated.pk, session)})
    # Falls back to the full check, which serves the paper's own file, never the draft.
    assert response.status_code == 200
    assert b"".join(response.streaming_content) != unrelated.blob.open("rb").read()
    # The paper's own version still opens by link.
    own = paper_file_version(paper)
    assert paper_link_version(_forged(paper.pk, own.pk, session), paper.pk,
                              session).pk == own.pk


# --- the key-encryption key of stored passphrases ----------------------------------------------


@pytest.fixture
def kek_file(settings, tmp_path):
    settings.SIGNING_KEK = ""
    settings.SIGNING_KEK_FILE = tmp_path / "kek" / "signing-kek"
    return settings.SIGNING_KEK_FILE


def test_passphrases_are_not_encrypted_with_secret_key(kek_file, settings):
    token = signers.encrypt_secret("mat-khau-p12")
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    # Whoever knows SECRET_KEY cannot read it...
    with pytest.raises(InvalidToken):
        signers._legacy_fernet().decrypt(token.encode())
    # ...and changing SECRET_KEY does not lose it.
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 50
    assert signers.decrypt_secret(token) == "mat-khau-p12"


def test_kek_from_the_environment(settings, tmp_path):
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SIGNING_KEK_FILE = tmp_path / "unused"
    settings.SIGNING_KEK = old
    token = signers.encrypt_secret("pin")
    settings.SIGNING_KEK = f"{new},{old}"
    assert signers.decrypt_secret(token) == "pin"
    assert Fernet(new.encode()).decrypt(signers.encrypt_secret("pin").encode()) == b"pin"
    assert not (tmp_path / "unused").exists()


@pytest.mark.django_db
def test_rotation_moves_old_secrets_and_new_keys(kek_file):
    legacy = SigningKey.objects.create(
        label="PKCS#12 cũ", kind=KeyKind.PKCS12,
        secret_encrypted=signers._legacy_fernet().encrypt(b"p12-cu").decode())
    # Still readable during the migration.
    assert signers.decrypt_secret(legacy.secret_encrypted) == "p12-cu"
    call_command("rotate_signing_secrets", stdout=open(os.devnull, "w"))  # noqa: SIM115
    legacy.refresh_from_db()
    with pytest.raises(InvalidToken):
        signers._legacy_fernet().decrypt(legacy.secret_encrypted.encode())
    assert signers.decrypt_secret(legacy.secret_encrypted) == "p12-cu"

    first = kek_file.read_text().split()
    call_command("rotate_signing_secrets", "--new-key", "--drop-old",
                 stdout=open(os.devnull, "w"))  # noqa: SIM115
    keys = kek_file.read_text().split()
    assert len(keys) == 1 and keys != first
    assert stat.S_IMODE(kek_file.stat().st_mode) == 0o600
    legacy.refresh_from_db()
    assert Fernet(keys[0].encode()).decrypt(legacy.secret_encrypted.encode()) == b"p12-cu"
    with pytest.raises(InvalidToken):
        Fernet(first[0].encode()).decrypt(legacy.secret_encrypted.encode())
