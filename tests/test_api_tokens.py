"""API tokens: hashed, expiring, listed and revoked by their owner (issue 23 #11)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD
from workflow.audit.services import history

pytestmark = pytest.mark.django_db


def login(username: str = "province-specialist", password: str = PASSWORD):
    return APIClient(HTTP_ACCEPT_LANGUAGE="en").post(
        "/api/auth/token/", {"username": username, "password": password})


def with_token(token: str) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_token_is_stored_only_as_a_digest_and_expires(org):
    response = login()
    assert response.status_code == 200
    body = response.json()
    token = body["token"]
    assert set(body) == {"token", "id", "created", "expiry"}
    expiry = dt.datetime.fromisoformat(body["expiry"])
    assert timezone.now() + dt.timedelta(days=29) < expiry < timezone.now() + dt.timedelta(days=31)
    # Nothing in the database holds the token: not the row, not any table's text.
    row = AuthToken.objects.get(user=org.person("province", "specialist"))
    assert token not in (row.digest, row.token_key) and token.startswith(row.token_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        assert token not in repr(cursor.fetchall())
    assert with_token(token).get("/api/inbox/").status_code == 200
    assert "api_token_issued" in [e.action for e in history(org.person("province",
                                                                       "specialist"))]


def test_expired_token_is_refused(org):
    token = login().json()["token"]
    AuthToken.objects.update(expiry=timezone.now() - dt.timedelta(seconds=1))
    response = with_token(token).get("/api/inbox/")
    assert response.status_code == 401
    assert not AuthToken.objects.exists()  # knox drops it


def test_owner_lists_and_revokes_tokens(org):
    first = login().json()
    second = login().json()
    other = login("district-specialist").json()
    client = with_token(second["token"])
    listed = client.get("/api/auth/tokens/").json()
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    assert listed[0]["current"] is True and listed[1]["current"] is False
    assert all("token" not in t for t in listed)
    # Someone else's token cannot be revoked through this list.
    assert client.delete(f"/api/auth/tokens/{other['id']}/").status_code == 404
    assert with_token(other["token"]).get("/api/inbox/").status_code == 200
    assert client.delete(f"/api/auth/tokens/{first['id']}/").status_code == 204
    assert with_token(first["token"]).get("/api/inbox/").status_code == 401
    assert client.delete("/api/auth/tokens/").status_code == 204
    assert with_token(second["token"]).get("/api/inbox/").status_code == 401
    assert AuthToken.objects.filter(user__username="district-specialist").count() == 1


@override_settings(API_TOKEN_LIMIT=2)
def test_a_new_token_past_the_limit_retires_the_oldest(org):
    tokens = [login().json()["token"] for _ in range(3)]
    assert AuthToken.objects.count() == 2
    assert with_token(tokens[0]).get("/api/inbox/").status_code == 401
    assert with_token(tokens[2]).get("/api/inbox/").status_code == 200


def test_admin_shows_no_secret(org, client, admin_user):
    token = login().json()["token"]
    row = AuthToken.objects.get()
    client.force_login(admin_user)
    listing = client.get("/admin/knox/authtoken/").content.decode()
    assert str(org.person("province", "specialist")) in listing
    page = client.get(f"/admin/knox/authtoken/{row.pk}/change/").content.decode()
    # The token is nowhere (its digest is the row's id in links: a SHA-512 of 256 random
    # bits, not a way in); only its first characters name it.
    assert token not in listing and token not in page
    assert row.token_key in listing and "Digest" not in listing
    assert client.get("/admin/knox/authtoken/add/").status_code == 403


def test_schema_documents_the_token_endpoints(org, client):
    client.force_login(org.person("province", "specialist"))
    schema = client.get("/api/schema/?format=json").json()
    assert "expiry" in schema["components"]["schemas"]["IssuedToken"]["properties"]
    assert "/api/auth/tokens/" in schema["paths"]
    assert "/api/auth/tokens/{token_id}/" in schema["paths"]


def test_login_throttle_still_applies(org, settings):
    from django.core.cache import cache

    cache.clear()
    codes = [login(password="wrong").status_code for _ in range(25)]
    assert codes[0] == 400 and 429 in codes


def test_old_plain_tokens_are_carried_over_hashed(org):
    """The migration: a plain-text DRF token keeps working as a hashed, expiring knox token,
    and the plain-text table is gone."""
    import importlib

    from django.apps import apps as global_apps

    migration = importlib.import_module(
        "workflow.organisation.migrations.0002_i23b_hashed_api_tokens")
    user = org.person("province", "clerk")
    plain = "0123456789abcdef0123456789abcdef01234567"

    class Editor:  # what RunPython hands over, minus SQLite's refusal inside a test's atomic
        def __init__(self):
            self.connection = connection

        def execute(self, sql, params=()):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

    editor = Editor()
    editor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                   "created timestamp NOT NULL, user_id bigint NOT NULL)")
    editor.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES "
                   "(%s, CURRENT_TIMESTAMP, %s)", [plain, user.pk])
    migration.carry_over(global_apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    row = AuthToken.objects.get(user=user)
    assert row.digest != plain and row.expiry is not None
    assert with_token(plain).get("/api/inbox/").status_code == 200
