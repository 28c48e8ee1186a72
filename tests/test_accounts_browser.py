"""In Chromium: enrol an authenticator, log in with it, sign only with a fresh code, and
no page breaks the Content-Security-Policy."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from django_otp.oath import TOTP

from tests.csp import watch_csp
from tests.factories import PASSWORD, advance, draft, make_org
from tests.second_factor import code_now
from workflow.accounts.stepup import REFUSED
from workflow.audit.models import AuditEntry
from workflow.documents import services
from workflow.documents.models import Document
from workflow.organisation.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.real_login]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "accounts"


def test_enrol_login_and_step_up_before_signing(live_server, transactional_db, browser,
                                                settings, monkeypatch):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(services, "ACTION_HANDLERS", {})  # the PAdES pipeline has its tests
    org = make_org()
    leader = org.person("province", Role.LEADER)
    doc = advance(org, draft(org, subject="Kế hoạch kiểm tra"), "approved")
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(15_000)
    errors: list[str] = []
    watch_csp(context, errors)
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # The collector works: an inline script is refused and reported.
    page.goto(base + "/accounts/login/")
    page.evaluate("() => { const s = document.createElement('script');"
                  " s.textContent = 'window.injected = 1'; document.body.appendChild(s); }")
    page.wait_for_timeout(300)
    assert any("script-src" in e for e in errors), errors
    assert page.evaluate("window.injected") is None
    errors.clear()

    # 1. Password, then the leader must enrol: QR code from our own view, then a code.
    page.fill("#id_username", leader.username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/accounts/two-factor/setup/**")
    assert page.evaluate("document.querySelector('[data-testid=qr]').naturalWidth") > 0
    page.screenshot(path=str(ARTIFACTS / "01-enrol.png"), full_page=True)
    secret = page.inner_text("[data-testid=totp-secret]")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_code", f"{TOTP(key).token():06d}")
    page.click("[data-testid=confirm-2fa]")
    codes = page.locator("[data-testid=recovery-codes] li")
    codes.first.wait_for()
    assert codes.count() == 10
    page.screenshot(path=str(ARTIFACTS / "02-recovery-codes.png"), full_page=True)

    # 2. Log out and in again: the code is asked for after the password.
    page.click(".logout-form button")
    page.wait_for_url("**/accounts/login/**")
    page.fill("#id_username", leader.username)
    page.fill("#id_password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/accounts/two-factor/**")
    page.fill("#id_code", code_now(leader))
    page.click("[data-testid=verify-code]")
    page.wait_for_url(base + "/")

    # 3. Signing with a proof older than the step-up window: refused, audited.
    settings.MTTQ_STEP_UP_MINUTES = 0
    page.goto(f"{base}/documents/{doc.pk}/")
    assert page.locator("[data-testid=step-up]").count() == 1
    with page.expect_navigation():
        page.click("button[data-action=sign]")
    assert page.locator(".message-error").count() == 1
    assert Document.objects.get(pk=doc.pk).state == "approved"
    assert AuditEntry.objects.filter(action=REFUSED, object_id=str(doc.pk)).exists()
    page.screenshot(path=str(ARTIFACTS / "03-step-up-refused.png"), full_page=True)
    # ... and allowed with the current code.
    settings.MTTQ_STEP_UP_MINUTES = 5
    page.fill("#id_otp_code", code_now(leader))
    with page.expect_navigation():
        page.click("button[data-action=sign]")
    assert Document.objects.get(pk=doc.pk).state == "signed"

    # 4. The account page lists this session; the editor and API docs run under the CSP.
    page.goto(base + "/accounts/security/")
    assert page.locator("[data-testid=sessions] tbody tr").count() == 1
    page.goto(base + "/documents/new/")
    page.wait_for_selector(".tox-tinymce")
    page.goto(base + "/api/docs/")
    page.wait_for_selector(".swagger-ui .info", timeout=30_000)
    assert not errors, errors
    context.close()
