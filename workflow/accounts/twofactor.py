"""Two-factor authentication (django-otp): who must have it, enrolment, recovery codes.

A TOTP device (an authenticator app) is the second factor; a static device holds ten
single-use recovery codes. ``MTTQ_2FA_REQUIRED_ROLES`` lists the roles that must enrol
(leaders, clerks and administrators by default: they sign, seal or manage); everyone
else may enrol and is then asked for a code at every login too.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from workflow.audit.services import record
from workflow.documents.errors import WorkflowError

RECOVERY_CODES = 10
FRESH_KEY = "_mttq_factor_at"
STATE_KEY = "_mttq_2fa"


def is_required(user) -> bool:
    """Whether this person must use a second factor (by role, or staff of the admin site)."""
    if not getattr(user, "is_authenticated", False):
        return False
    required = set(settings.MTTQ_2FA_REQUIRED_ROLES)
    if "admin" in required and (user.is_staff or user.is_superuser):
        return True
    return user.memberships.filter(role__in=required).exists()


def has_device(user) -> bool:
    return user_has_device(user, confirmed=True)


def pending_totp(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (a new secret each time enrolment starts)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def qr_svg(device: TOTPDevice) -> bytes:
    """The otpauth:// address as an SVG QR code, drawn here (no outside service sees it)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage,
                        box_size=8)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


def new_recovery_codes(user) -> list[str]:
    """Replace the person's recovery codes with ten new single-use ones."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="recovery",
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


@transaction.atomic
def confirm_enrolment(request: HttpRequest, device: TOTPDevice, code: str) -> list[str] | None:
    """Check the first code from the app; on success the device replaces any older one."""
    if not device.verify_token(code.strip().replace(" ", "")):
        return None
    user = request.user
    for old in TOTPDevice.objects.filter(user=user).exclude(pk=device.pk):
        old._mttq_keep_session = request.session.session_key  # signals.py: keep this one
        old.delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = new_recovery_codes(user)
    record(user, "account.2fa_enrolled", actor=user)
    verified(request, device)
    return codes


def verified(request: HttpRequest, device) -> None:
    """The person proved the factor in this session: mark it verified and fresh."""
    otp_login(request, device)
    request.session[STATE_KEY] = "verified"
    request.session[FRESH_KEY] = timezone.now().timestamp()


def check_code(request: HttpRequest, code: str):
    """The device that accepts ``code`` (TOTP or a recovery code), or None.

    django-otp throttles each device after failures (growing delays), so the six digits
    cannot be guessed at speed.
    """
    code = (code or "").strip().replace(" ", "")
    if not code:
        return None
    device = match_token(request.user, code)
    if device is not None:
        verified(request, device)
    return device


def demo_totp_secret() -> bytes:
    """The published secret of the demo accounts (never on a production system)."""
    return b"MTTQ-demo-2fa-20"  # 16 bytes, printed by seed_demo and demo_otp


def enrol_with_secret(user, key: bytes) -> TOTPDevice:
    device, _ = TOTPDevice.objects.update_or_create(
        user=user, name="authenticator",
        defaults={"key": key.hex(), "confirmed": True},
    )
    return device


class SecondFactorRequired(WorkflowError):
    status = 403
    code = "second_factor_required"


def require_for_api_login(user, code: str) -> None:
    """An API token for someone with (or obliged to have) a second factor needs its code."""
    if has_device(user):
        if code and match_token(user, code.strip().replace(" ", "")) is not None:
            return
        raise SecondFactorRequired(_(
            "Send the current code of your authenticator app as \"otp\" with the "
            "username and password."))
    if is_required(user):
        raise SecondFactorRequired(_(
            "Set up two-factor authentication in the browser (Account security) before "
            "using the API."))
