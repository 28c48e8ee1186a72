"""Sign-in guards on every request: session limits and the second factor at login.

Both read only the session (no query on the meeting room's fast poll path): whether the
person must enrol or verify is decided once per session and kept in it.
"""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY

from . import sessions, twofactor

# What a signed-in person may open before the second factor: the 2FA pages, logging out,
# the language switch and static files.
OPEN_PREFIXES = ("/accounts/two-factor/", "/accounts/logout/", "/i18n/", "/static/",
                 "/accounts/locked/")
# Views that answer from a signed link alone and never read the session (the meeting room's
# paper links: 150 delegates open one paper at once); the link was issued to a session that
# had passed these checks, and names it.
SESSION_FREE_VIEWS = frozenset({"meetings:paper_file"})


def _session_free(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.view_name in SESSION_FREE_VIEWS


class SessionLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if _session_free(request):
            return None
        if SESSION_KEY in request.session and sessions.expired(request):
            logout(request)
            if request.path_info.startswith("/api/"):
                return JsonResponse({"error": "not_authenticated", "message": _(
                    "Your session ended; log in again.")}, status=401)
            messages.info(request, _("Your session ended; log in again."))
            return redirect(reverse("login") + "?next=" + quote(request.get_full_path()))
        return None


class TwoFactorMiddleware:
    """After the password: verify a code (enrolled) or enrol (required by role) first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if _session_free(request):
            return None
        session = request.session
        if SESSION_KEY not in session or session.get(DEVICE_ID_SESSION_KEY):
            return None
        state = session.get(twofactor.STATE_KEY)
        if state is None or state == "verified":
            # "verified" without a device id: the device was removed; decide again.
            user = request.user
            if twofactor.has_device(user):
                state = "verify"
            elif twofactor.is_required(user):
                state = "setup"
            else:
                state = "optional"
            session[twofactor.STATE_KEY] = state
        if state == "optional" or request.path_info.startswith(OPEN_PREFIXES):
            return None
        if request.path_info.startswith("/api/"):
            return JsonResponse({"error": "second_factor_required", "message": _(
                "Finish logging in with your second factor first.")}, status=403)
        target = "two_factor_verify" if state == "verify" else "two_factor_setup"
        return redirect(reverse(target) + "?next=" + quote(request.get_full_path()))
