"""What test users need with two-factor authentication on: a device, codes, logged-in pages.

Sessions opened with ``Client.force_login`` are made as after a full login with the second
factor (see the ``_second_factor_sessions`` fixture in conftest); browser tests log in
through the real pages with :func:`browser_login`, typing a real TOTP code.
"""

from __future__ import annotations

import time

from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from workflow.accounts import stepup, twofactor

# A fixed key so that a code can be computed in the test (16 bytes, like a real one).
TEST_KEY = bytes(range(16))


def device(user) -> TOTPDevice:
    found = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return found or twofactor.enrol_with_secret(user, TEST_KEY)


def code_now(user, *, fresh: bool = True) -> str:
    """The current code of the person's device; waits for the next period if this one's
    code was used already (django-otp accepts each code once)."""
    dev = device(user)
    dev.refresh_from_db()
    totp = TOTP(dev.bin_key, dev.step, dev.t0, dev.digits, dev.drift)
    if fresh and dev.last_t is not None and totp.t() <= dev.last_t:
        time.sleep(dev.step - (time.time() - dev.t0) % dev.step + 0.2)
        totp = TOTP(dev.bin_key, dev.step, dev.t0, dev.digits, dev.drift)
    return f"{totp.token():0{dev.digits}d}"


def device_code(dev) -> str:
    totp = TOTP(dev.bin_key, dev.step, dev.t0, dev.digits, dev.drift)
    return f"{totp.token():0{dev.digits}d}"


def verified_session(session, user, *, fresh: bool = True) -> None:
    """Mark a session as after the second factor (and, if ``fresh``, just proved)."""
    session[DEVICE_ID_SESSION_KEY] = device(user).persistent_id
    session[twofactor.STATE_KEY] = "verified"
    if fresh:
        session[twofactor.FRESH_KEY] = timezone.now().timestamp()
    session.save()


def api_proof(user) -> None:
    """A token-authenticated API client that proved the factor just now."""
    device(user)
    stepup.remember_api_proof(user)


def browser_login(page, base: str, username: str, password: str) -> None:
    """Log in through the pages: the password, then the code if the second step asks."""
    from workflow.organisation.models import User

    device(User.objects.get(username=username))
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/accounts/two-factor/**")
    page.fill("#id_code", code_now(User.objects.get(username=username)))
    page.click("[data-testid=verify-code]")
    page.wait_for_url(lambda url: "/accounts/two-factor/" not in url)
