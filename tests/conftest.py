import pytest
from django.utils import translation

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
    translation.activate("en")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SEARCH_INDEX_DIR = tmp_path / "search-index"
    # seed_demo provisions DEMO keys: never into the working copy's var/.
    settings.SIGNING_PKI_DIR = str(tmp_path / "signing-pki")
