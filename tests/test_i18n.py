"""Every user-facing string has a Vietnamese translation, and Vietnamese is what people see."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


@pytest.fixture(scope="module", autouse=True)
def compiled():
    from workflow.organisation.management.commands.compile_translations import compile_catalogue

    compile_catalogue(PO)
    translation.trans_real._translations = {}
    translation.trans_real._default = None


def test_every_message_is_translated():
    catalogue = polib.pofile(str(PO))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert not untranslated, untranslated[:20]
    assert not fuzzy, fuzzy[:20]


def test_placeholders_survive_translation():
    broken = []
    for entry in polib.pofile(str(PO)).translated_entries():
        targets = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for target in targets:
            if sorted(PLACEHOLDER.findall(entry.msgid)) != sorted(PLACEHOLDER.findall(target)):
                broken.append(entry.msgid)
    assert not broken, broken[:20]


def test_login_page_is_vietnamese_first(client, settings):
    settings.LANGUAGE_CODE = "vi"
    translation.activate("vi")
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="vi"' in page
    assert "Đăng nhập" in page
    with translation.override("vi"):
        assert translation.gettext("Submit") == "Trình"


def test_english_is_available(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    with translation.override("en"):
        assert translation.gettext("Submit") == "Submit"


def test_pages_ignore_an_english_browser_until_the_person_switches(client, settings):
    settings.LANGUAGE_CODE = "vi"
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert 'lang="vi"' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="vi")
    assert 'lang="en"' in page.content.decode()
