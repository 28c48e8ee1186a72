"""Step-up before signing and sealing: a fresh second factor at the moment of acting.

A password opened the session, perhaps hours ago on a shared computer; a signature or the
organisation's seal needs proof that the person is at the keyboard now. Accepted proofs:

* a TOTP or recovery code verified within ``MTTQ_STEP_UP_MINUTES`` (in this browser
  session; for API token calls, by the person within that time), or sent with the request;
* the PIN of the PKCS#11 token that holds the key, where the key is on a token.

Two-step remote signing (``signing/remote.py``) is not asked: its signature is made by
the person's own USB token, which is its own proof. Refusals are written to the audit log.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import match_token

from workflow.audit.services import record
from workflow.documents.errors import WorkflowError

from .models import SecondFactorCheck
from .twofactor import FRESH_KEY, check_code, has_device

REFUSED = "signing.step_up_refused"


class StepUpRequired(WorkflowError):
    status = 403
    code = "step_up_required"


def _max_age() -> float:
    return settings.MTTQ_STEP_UP_MINUTES * 60


def _uses_session(request) -> bool:
    # DRF's request: a token call has request.auth set; a page or a session call does not.
    return getattr(request, "auth", None) is None


def is_fresh(request) -> bool:
    now = timezone.now().timestamp()
    if _uses_session(request):
        at = request.session.get(FRESH_KEY)
        return at is not None and now - at <= _max_age()
    check = SecondFactorCheck.objects.filter(user=request.user).first()
    return check is not None and now - check.at.timestamp() <= _max_age()


def remember_api_proof(user) -> None:
    SecondFactorCheck.objects.update_or_create(user=user, defaults={"at": timezone.now()})


def _token_pin_matches(keys, pin: str) -> bool:
    from signing.models import KeyKind
    from signing.signers import decrypt_secret

    for key in keys:
        if key is not None and key.kind == KeyKind.PKCS11 and key.secret_encrypted:
            stored = decrypt_secret(key.secret_encrypted) or ""
            if stored and hmac.compare_digest(stored.encode(), pin.encode()):
                return True
    return False


def require(request: HttpRequest, *, action: str, target=None, code: str = "",
            pin: str = "", keys=()) -> None:
    """Let the action go on, or raise :class:`StepUpRequired` (audited).

    ``keys`` are the signing keys the action uses (the person's, the unit's seal): where one
    is on a PKCS#11 token, its PIN is accepted instead of a code.
    """
    user = request.user
    if is_fresh(request):
        return
    if code:
        if _uses_session(request):
            if check_code(getattr(request, "_request", request), code) is not None:
                return
        elif match_token(user, code.strip().replace(" ", "")) is not None:
            remember_api_proof(user)
            return
    if pin and _token_pin_matches(keys, pin):
        if _uses_session(request):
            request.session[FRESH_KEY] = timezone.now().timestamp()
        else:
            remember_api_proof(user)
        return
    if code or pin:
        message = _("The code or PIN is not right. Try again with a new code.")
    elif not has_device(user):
        message = _("Set up two-factor authentication before signing or sealing "
                    "(Account security).")
    else:
        message = _("Confirm it is you: enter the code from your authenticator app "
                    "(or your token's PIN) to sign or seal.")
    record(target if target is not None else user, REFUSED, actor=user, comment=action)
    raise StepUpRequired(message)


def keys_for(user, action: str, document=None) -> list:
    """The signing keys an action uses: the person's for signing, the unit's seal for issue."""
    from signing.models import SealProfile, SignatureProfile

    if action == "sign":
        profile = SignatureProfile.objects.select_related("key").filter(user=user).first()
        return [profile.key] if profile and profile.key else []
    units = [document.unit_id] if document is not None else list(
        user.memberships.values_list("unit_id", flat=True))
    return [p.key for p in SealProfile.objects.select_related("key").filter(unit_id__in=units)
            if p.key]


def form_context(request: HttpRequest, action: str, document=None) -> dict:
    """What the sign, issue and batch pages show: a code field when a proof is due."""
    from signing.models import KeyKind

    needed = not is_fresh(request)
    return {
        "step_up_needed": needed,
        "step_up_minutes": settings.MTTQ_STEP_UP_MINUTES,
        "step_up_pin": needed and any(k.kind == KeyKind.PKCS11
                                      for k in keys_for(request.user, action, document)),
    }


def require_from_post(request: HttpRequest, action: str, document=None) -> None:
    """:func:`require` with the code or PIN a page or API call sent.

    Only for someone the action is open to: anyone else gets the service's own refusal
    (403/404), so the step-up says nothing about documents they may not act on.
    """
    from workflow import access

    if document is not None and not access.can(request.user, access.Action(action), document):
        return
    data = getattr(request, "data", None)
    if data is None:
        data = request.POST
    require(request, action=action, target=document,
            code=str(data.get("otp_code") or data.get("otp") or ""),
            pin=str(data.get("token_pin") or ""),
            keys=keys_for(request.user, action, document))
