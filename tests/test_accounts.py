"""Accounts (issue 14): lockout, two-factor, step-up before signing, sessions, passwords.

Logins go through the real views (django-axes, django-otp); these tests mark themselves
``real_login`` so that ``force_login`` is Django's own (no second factor granted).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD, advance, draft
from tests.second_factor import code_now, device, device_code, verified_session
from workflow.accounts import lockout, sessions
from workflow.accounts.models import SecondFactorCheck, UserSession
from workflow.accounts.stepup import REFUSED
from workflow.audit.models import AuditEntry
from workflow.documents import services
from workflow.organisation.models import Role, User

pytestmark = [pytest.mark.django_db, pytest.mark.real_login]


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.MTTQ_LOCKOUT_MINUTES = 15


def _login(client: Client, username: str, password: str, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       **extra)


# --- lockout ------------------------------------------------------------------------------


def test_lockout_per_username_then_admin_unlock(org):
    specialist = org.person("province", Role.SPECIALIST)
    client = Client()
    for n in range(3):
        # Each try from another address: the username alone is what locks.
        response = _login(client, specialist.username, "wrong", REMOTE_ADDR=f"10.0.0.{n + 1}")
        assert response.status_code in (200, 429)
    response = _login(client, specialist.username, PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action=lockout.LOCKED, object_id=str(specialist.pk)).exists()

    call_command("axes_reset_username", specialist.username)
    assert AuditEntry.objects.filter(action=lockout.UNLOCKED,
                                     object_id=str(specialist.pk)).exists()
    response = _login(client, specialist.username, PASSWORD, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 302


def test_lockout_per_address_and_forwarded_for_is_not_trusted(org):
    client = Client()
    for n in range(3):
        # Another username each time and a forged X-Forwarded-For: the address still counts.
        _login(client, f"nobody-{n}", "wrong", REMOTE_ADDR="10.1.1.1",
               HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    member = org.person("province", Role.MEMBER)
    response = _login(client, member.username, PASSWORD, REMOTE_ADDR="10.1.1.1",
                      HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429
    # The same person from another address logs in.
    assert _login(Client(), member.username, PASSWORD, REMOTE_ADDR="10.1.1.2").status_code == 302


def test_trusted_proxy_count_reads_the_client_from_the_right(org, settings):
    from django.test import RequestFactory

    from workflow.accounts.client import client_ip

    request = RequestFactory().get("/", REMOTE_ADDR="10.9.9.9",
                                   HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    assert client_ip(request) == "10.9.9.9"
    settings.MTTQ_TRUSTED_PROXIES = 1
    assert client_ip(request) == "203.0.113.7"  # the forged 1.2.3.4 is ignored
    settings.MTTQ_TRUSTED_PROXIES = 3
    assert client_ip(request) == "10.9.9.9"  # fewer hops than proxies: not via them


def test_success_resets_the_count(org):
    member = org.person("province", Role.MEMBER)
    client = Client()
    for _ in range(2):
        _login(client, member.username, "wrong")
    assert _login(client, member.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=member.username).exists()


def test_lock_grows_with_repeated_lockouts(org):
    member = org.person("province", Role.MEMBER)
    for round_ in range(2):
        for _ in range(3):
            _login(Client(), member.username, "wrong")
        if round_ == 0:
            first = _login(Client(), member.username, PASSWORD)
            assert b"15 minutes" in first.content
            AccessAttempt.objects.all().delete()  # the lock ran out
    second = _login(Client(), member.username, PASSWORD)
    assert second.status_code == 429
    assert b"30 minutes" in second.content


def test_api_token_endpoint_locks_out_too(org):
    member = org.person("province", Role.MEMBER)
    client = APIClient()
    for _ in range(2):
        response = client.post("/api/auth/token/", {"username": member.username,
                                                    "password": "wrong"}, format="json")
        assert response.status_code == 400
    client.post("/api/auth/token/", {"username": member.username, "password": "wrong"},
                format="json")
    response = client.post("/api/auth/token/", {"username": member.username,
                                                "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["message"]


def test_admin_login_locks_out(org):
    admin = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    client = Client()
    for _ in range(3):
        client.post("/admin/login/", {"username": admin.username, "password": "wrong"})
    response = client.post("/admin/login/", {"username": admin.username,
                                             "password": PASSWORD})
    assert response.status_code == 429


def test_api_login_throttle_ignores_forwarded_for(org):
    client = APIClient()
    codes = []
    for n in range(25):
        codes.append(client.post("/api/auth/token/", {"username": f"x{n}", "password": "y"},
                                 format="json", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
                                 REMOTE_ADDR="10.2.2.2").status_code)
    assert 429 in codes
    assert codes.index(429) <= 20


# --- two-factor ---------------------------------------------------------------------------


def test_leader_must_enrol_then_verifies_at_each_login(org):
    leader = org.person("province", Role.LEADER)
    client = Client()
    response = _login(client, leader.username, PASSWORD)
    assert response.status_code == 302
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/two-factor/setup/" in response["Location"]
    assert client.get("/api/documents/").status_code == 403
    page = client.get("/accounts/two-factor/setup/")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', page.content).group(1)
    assert client.get("/accounts/two-factor/setup/qr.svg")["Content-Type"] == "image/svg+xml"
    from django_otp.plugins.otp_totp.models import TOTPDevice

    pending = TOTPDevice.objects.get(user=leader, confirmed=False)
    import base64

    assert base64.b32encode(pending.bin_key).decode().rstrip("=") == secret.decode()
    response = client.post("/accounts/two-factor/setup/", {"code": device_code(pending)})
    codes = re.findall(rb"<li><code>(\w+)</code></li>", response.content)
    assert len(codes) == 10
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="account.2fa_enrolled").exists()

    # Next login: the code is asked for; a recovery code works once.
    client.post("/accounts/logout/")
    _login(client, leader.username, PASSWORD)
    assert "/accounts/two-factor/?next=" in client.get("/documents/")["Location"]
    client.post("/accounts/two-factor/", {"code": codes[0].decode()})
    assert client.get("/documents/").status_code == 200
    assert StaticToken.objects.filter(token=codes[0].decode()).count() == 0


def test_specialist_may_go_without_second_factor(org):
    client = Client()
    _login(client, org.person("province", Role.SPECIALIST).username, PASSWORD)
    assert client.get("/").status_code == 200


def test_wrong_code_keeps_the_second_step(org):
    head = org.person("province", Role.HEAD)
    device(head)
    client = Client()
    _login(client, head.username, PASSWORD)
    response = client.post("/accounts/two-factor/", {"code": "123456"})
    assert b"not right" in response.content
    assert client.get("/").status_code == 302


# --- step-up before signing ----------------------------------------------------------------


@pytest.fixture
def bare_signing(monkeypatch):
    """Sign and issue as plain transitions: the step-up is checked before the pipeline."""
    monkeypatch.setattr(services, "ACTION_HANDLERS", {})


def _stale_session(client: Client, user) -> None:
    client.force_login(user)
    verified_session(client.session, user, fresh=False)


def test_signing_in_the_browser_needs_a_fresh_code(org, bare_signing):
    leader = org.person("province", Role.LEADER)
    doc = advance(org, draft(org), "approved")
    client = Client()
    _stale_session(client, leader)
    detail = client.get(f"/documents/{doc.pk}/")
    assert b'data-testid="step-up"' in detail.content
    response = client.post(f"/documents/{doc.pk}/actions/sign/",
                           {"expected_state": "approved"}, follow=True)
    assert b"Confirm it is you" in response.content
    doc.refresh_from_db()
    assert doc.state == "approved"
    assert AuditEntry.objects.filter(action=REFUSED, object_id=str(doc.pk),
                                     actor=leader).exists()
    client.post(f"/documents/{doc.pk}/actions/sign/",
                {"expected_state": "approved", "otp_code": code_now(leader)})
    doc.refresh_from_db()
    assert doc.state == "signed"
    # Fresh now: the clerk's issue is another person, another proof.
    clerk = org.person("province", Role.CLERK)
    clerk_client = Client()
    _stale_session(clerk_client, clerk)
    clerk_client.post(f"/documents/{doc.pk}/actions/issue/", {"expected_state": "signed"})
    doc.refresh_from_db()
    assert doc.state == "signed"
    clerk_client.post(f"/documents/{doc.pk}/actions/issue/",
                      {"expected_state": "signed", "otp_code": code_now(clerk)})
    doc.refresh_from_db()
    assert doc.state == "issued"


def test_sign_page_and_batch_refuse_without_fresh_code(org):
    leader = org.person("province", Role.LEADER)
    doc = advance(org, draft(org), "approved")
    client = Client()
    _stale_session(client, leader)
    page = client.get(f"/signing/documents/{doc.pk}/sign/")
    assert b'name="otp_code"' in page.content
    response = client.post(f"/signing/documents/{doc.pk}/sign/", follow=True)
    assert b"Confirm it is you" in response.content
    clerk = org.person("province", Role.CLERK)
    _stale_session(client, clerk)
    response = client.post("/signing/batch-issue/", {"documents": [doc.pk]}, follow=True)
    assert b"Confirm it is you" in response.content
    assert AuditEntry.objects.filter(action=REFUSED, comment="batch_issue").exists()


def test_signing_over_the_api_needs_a_fresh_code(org, bare_signing):
    from knox.models import AuthToken

    leader = org.person("province", Role.LEADER)
    device(leader)
    doc = advance(org, draft(org), "approved")
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION="Token " + AuthToken.objects.create(user=leader)[1])
    url = f"/api/documents/{doc.pk}/transitions/sign/"
    response = client.post(url, {"expected_state": "approved"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "step_up_required"
    response = client.post(url, {"expected_state": "approved", "otp": code_now(leader)},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "signed"
    # A proof lasts MTTQ_STEP_UP_MINUTES; older ones are refused.
    SecondFactorCheck.objects.filter(user=leader).update(
        at=timezone.now() - dt.timedelta(minutes=6))
    clerk = org.person("province", Role.CLERK)
    clerk_api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    clerk_api.credentials(HTTP_AUTHORIZATION="Token " + AuthToken.objects.create(user=clerk)[1])
    issue = f"/api/documents/{doc.pk}/transitions/issue/"
    assert clerk_api.post(issue, {}, format="json").status_code == 403
    # A wrong code is refused (and django-otp then makes the device wait a moment).
    assert clerk_api.post(issue, {"otp": "000000"}, format="json").status_code == 403
    import time

    time.sleep(1.1)
    assert clerk_api.post("/api/auth/second-factor/", {"otp": code_now(clerk)},
                          format="json").status_code == 204
    assert clerk_api.post(issue, {}, format="json").json()["state"] == "issued"


def test_pkcs11_token_pin_is_a_proof(org, bare_signing):
    from signing.models import KeyKind, SignatureProfile, SigningKey
    from signing.signers import encrypt_secret

    leader = org.person("province", Role.LEADER)
    key = SigningKey.objects.create(label="token", kind=KeyKind.PKCS11,
                                    secret_encrypted=encrypt_secret("4321"))
    SignatureProfile.objects.create(user=leader, key=key)
    doc = advance(org, draft(org), "approved")
    client = Client()
    _stale_session(client, leader)
    assert b'name="token_pin"' in client.get(f"/documents/{doc.pk}/").content
    client.post(f"/documents/{doc.pk}/actions/sign/",
                {"expected_state": "approved", "token_pin": "1111"})
    doc.refresh_from_db()
    assert doc.state == "approved"
    client.post(f"/documents/{doc.pk}/actions/sign/",
                {"expected_state": "approved", "token_pin": "4321"})
    doc.refresh_from_db()
    assert doc.state == "signed"


# --- sessions -----------------------------------------------------------------------------


def test_sessions_list_and_sign_out_others(org):
    member = org.person("province", Role.MEMBER)
    first, second = Client(), Client()
    _login(first, member.username, PASSWORD, HTTP_USER_AGENT="Firefox phone")
    _login(second, member.username, PASSWORD, HTTP_USER_AGENT="Chromium desk")
    page = second.get("/accounts/security/")
    assert b"Firefox phone" in page.content and b"Chromium desk" in page.content
    second.post("/accounts/security/end-other-sessions/")
    assert first.get("/").status_code == 302
    assert second.get("/").status_code == 200
    assert UserSession.objects.filter(user=member).count() == 1


def test_idle_timeout_and_absolute_lifetime(org, settings):
    member = org.person("province", Role.MEMBER)
    client = Client()
    _login(client, member.username, PASSWORD)
    session = client.session
    session[sessions.SEEN_AT] = timezone.now().timestamp() - settings.MTTQ_SESSION_IDLE_SECONDS - 5
    session.save()
    assert "/accounts/login/" in client.get("/")["Location"]
    _login(client, member.username, PASSWORD)
    session = client.session
    session[sessions.AUTH_AT] = (timezone.now().timestamp()
                                 - settings.MTTQ_SESSION_ABSOLUTE_SECONDS - 5)
    session.save()
    assert "/accounts/login/" in client.get("/")["Location"]


def test_password_change_signs_out_other_sessions(org):
    member = org.person("province", Role.MEMBER)
    other, client = Client(), Client()
    _login(other, member.username, PASSWORD)
    _login(client, member.username, PASSWORD)
    response = client.post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": "Mat-khau-moi-2025",
        "new_password2": "Mat-khau-moi-2025"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_reenrolment_signs_out_other_sessions(org):
    head = org.person("province", Role.HEAD)
    other, client = Client(), Client()
    _login(other, head.username, PASSWORD)
    _login(client, head.username, PASSWORD)
    client.get("/accounts/two-factor/setup/")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    pending = TOTPDevice.objects.get(user=head, confirmed=False)
    client.post("/accounts/two-factor/setup/", {"code": device_code(pending)})
    assert other.get("/").status_code == 302


# --- passwords ----------------------------------------------------------------------------


def test_password_rules(org):
    member = org.person("province", Role.MEMBER)
    client = Client()
    client.force_login(member)
    response = client.post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "too short" in text and "entirely numeric" in text


def test_password_reset_by_email(org, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    member = org.person("province", Role.MEMBER)
    member.email = "uyvien@example.org"
    member.save()
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": "uyvien@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/\S+)", mail.outbox[0].body)
    response = client.get(link.group(1), follow=True)
    url = response.redirect_chain[-1][0]
    response = client.post(url, {"new_password1": "Mat-khau-moi-2025",
                                 "new_password2": "Mat-khau-moi-2025"})
    assert response.status_code == 302
    assert _login(Client(), member.username, "Mat-khau-moi-2025").status_code == 302


# --- Content-Security-Policy ----------------------------------------------------------------


def test_pages_send_a_policy_without_inline_scripts(client):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe" not in directives["script-src"]
    assert directives["object-src"] == "'none'"


def test_templates_have_no_inline_scripts_or_handlers():
    from pathlib import Path

    from django.conf import settings

    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in match.group(1):
                offenders.append(f"{path.name}: inline <script>")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path.name}: inline event handler")
        if "javascript:" in text:
            offenders.append(f"{path.name}: javascript: URL")
    assert not offenders, offenders


def test_admin_reset_of_the_authenticator_signs_out_everywhere(org):
    head = org.person("province", Role.HEAD)
    dev = device(head)
    client = Client()
    _login(client, head.username, PASSWORD)
    client.post("/accounts/two-factor/", {"code": code_now(head)})
    assert client.get("/").status_code == 200
    dev.delete()  # what the admin's delete does
    assert client.get("/").status_code == 302
    assert AuditEntry.objects.filter(action="account.2fa_reset").exists()


def test_api_token_needs_the_code_of_people_with_two_factor(org):
    leader = org.person("province", Role.LEADER)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    body = {"username": leader.username, "password": PASSWORD}
    response = client.post("/api/auth/token/", body, format="json")
    assert response.status_code == 403  # required but not enrolled
    device(leader)
    response = client.post("/api/auth/token/", body, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "second_factor_required"
    response = client.post("/api/auth/token/", {**body, "otp": code_now(leader)}, format="json")
    assert response.status_code == 200 and response.json()["token"]


def test_administrator_unlocks_in_the_admin(org):
    member = org.person("province", Role.MEMBER)
    for _ in range(3):
        _login(Client(), member.username, "wrong", REMOTE_ADDR="10.3.3.3")
    assert _login(Client(), member.username, PASSWORD).status_code == 429
    admin = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    staff = Client()
    staff.force_login(admin)
    verified_session(staff.session, admin)
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))
    response = staff.post("/admin/axes/accessattempt/", {
        "action": "delete_selected", "_selected_action": ids, "post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert AuditEntry.objects.filter(action=lockout.UNLOCKED, object_id=str(member.pk)).exists()
    assert _login(Client(), member.username, PASSWORD).status_code == 302


def test_logging_out_drops_the_session_from_the_list(org):
    member = org.person("province", Role.MEMBER)
    client = Client()
    _login(client, member.username, PASSWORD)
    assert UserSession.objects.filter(user=member).count() == 1
    client.post("/accounts/logout/")
    assert not UserSession.objects.filter(user=member).exists()
