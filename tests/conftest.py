from pathlib import Path

import pytest
from django.utils import translation

from tests.exchange_helpers import coded  # noqa: F401 - fixture
from tests.factories import make_org
from tests.signing_fixtures import (  # noqa: F401 - fixtures
    csc_service,
    signing_env,
    signing_pki,
    softhsm,
)


@pytest.fixture
def org(db):
    return make_org()


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    # Assertions read English message ids; tests/test_i18n.py checks the Vietnamese side.
    settings.LANGUAGE_CODE = "en"
    # Paper reads written at once: a batch's timer thread would use its own connection.
    settings.ACCESS_LOG_BATCH_SECONDS = 0
    translation.activate("en")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SEARCH_INDEX_DIR = tmp_path / "search-index"
    # seed_demo provisions DEMO keys: never into the working copy's var/.
    settings.SIGNING_PKI_DIR = str(tmp_path / "signing-pki")


@pytest.fixture(autouse=True)
def _fresh_caches():
    # Ids come back after a test's rollback (SQLite), so nothing cached under an id
    # (a meeting room's state, a paper's file row) may outlive its test.
    from django.core.cache import cache

    from workflow.meetings.services.room import forget_process_caches

    cache.clear()
    forget_process_caches()


CHROMIUM = Path("/usr/bin/chromium")
# pdf.js is fetched by scripts/build_assets.sh; without it pages use the browser's viewer.
PDFJS_BUILT = (Path(__file__).resolve().parent.parent / "static" / "vendor" / "pdfjs"
               / "pdf.min.mjs").exists()


@pytest.fixture
def browser(monkeypatch):
    """Debian's Chromium through Playwright, for the tests marked ``browser``."""
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed at /usr/bin/chromium "
                    "(apt-get install chromium); browser tests need it.")
    # Playwright's sync API runs an event loop in this thread; the tests still need
    # plain ORM calls to check what the pages did.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Show the search quality figures (nDCG@10, MRR) in every run that measured them."""
    from tests.search_quality import SUMMARY

    lines = config.stash.get(SUMMARY, None)
    if lines:
        terminalreporter.section("search quality")
        for line in lines:
            terminalreporter.write_line(line)

@pytest.fixture(autouse=True)
def _second_factor_sessions(request, monkeypatch):
    """``Client.force_login`` opens a session as a full login does with two-factor on.

    Most tests are about documents, not logging in: their leaders and clerks get a TOTP
    device and a session verified (and freshly proved, for signing) by it. Tests of the
    login itself mark themselves ``real_login`` and get Django's plain force_login.
    """
    if request.node.get_closest_marker("real_login"):
        return
    from django.test import Client

    from tests.second_factor import verified_session

    original = Client.force_login
    original_login = Client.login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        verified_session(session, user)
        self.cookies[settings_session_cookie()] = session.session_key

    def login(self, **credentials):
        # django-axes counts logins per request (address): give authenticate() one, as the
        # login page does; then the second factor as above.
        from django.http import HttpRequest

        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        if not original_login(self, request=request, **credentials):
            return False
        from workflow.organisation.models import User

        user = User.objects.get(pk=self.session["_auth_user_id"])
        session = self.session
        verified_session(session, user)
        return True

    monkeypatch.setattr(Client, "force_login", force_login)
    monkeypatch.setattr(Client, "login", login)


def settings_session_cookie() -> str:
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME
