"""Account pages: second factor (enrol, verify, recovery codes), sessions, password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from workflow.audit.services import record

from . import sessions, twofactor
from .forms import CodeForm


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """The second step of logging in: a code from the app or a recovery code."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.check_code(request, form.cleaned_data["code"]) is not None:
            return redirect(_next(request))
        form.add_error("code", _("The code is not right (or came too late). Try the next one."))
    return render(request, "accounts/verify.html", {"form": form, "next": _next(request)})


@login_required
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the QR code, type the first code."""
    if twofactor.has_device(request.user) and not request.user.is_verified():
        # Replacing a device needs the current one first.
        return redirect("two_factor_verify")
    device = twofactor.pending_totp(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_enrolment(request, device, form.cleaned_data["code"])
        if codes is not None:
            ended = sessions.end_others(request.user, keep=request.session.session_key)
            return render(request, "accounts/recovery_codes.html",
                          {"codes": codes, "ended": ended, "next": _next(request)})
        form.add_error("code", _("The code is not right. Check the time on your phone and "
                                 "type the code shown now."))
    return render(request, "accounts/setup.html", {
        "form": form, "secret": twofactor.secret_base32(device), "next": _next(request),
        "required": twofactor.is_required(request.user)})


@login_required
def qr_code(request: HttpRequest) -> HttpResponse:
    """The enrolment QR code as SVG (drawn here: the secret never leaves the server)."""
    if twofactor.has_device(request.user) and not request.user.is_verified():
        return HttpResponse(status=403)
    response = HttpResponse(twofactor.qr_svg(twofactor.pending_totp(request.user)),
                            content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def recovery_codes(request: HttpRequest) -> HttpResponse:
    if not request.user.is_verified():
        return redirect("two_factor_verify")
    codes = twofactor.new_recovery_codes(request.user)
    record(request.user, "account.recovery_codes", actor=request.user)
    return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": "/"})


@login_required
def security(request: HttpRequest) -> HttpResponse:
    """The person's account security: second factor, sessions, password."""
    return render(request, "accounts/security.html", {
        "has_device": twofactor.has_device(request.user),
        "required": twofactor.is_required(request.user),
        "sessions": sessions.active(request.user),
        "current": request.session.session_key,
    })


@login_required
@require_POST
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    ended = sessions.end_others(request.user, keep=request.session.session_key)
    record(request.user, "account.sessions_ended", actor=request.user, comment=str(ended))
    messages.success(request, _("Signed out of %(count)d other sessions.") % {"count": ended})
    return redirect("account_security")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("account_security")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Django already voids other sessions through the session hash; the list goes too.
        update_session_auth_hash(self.request, form.user)
        sessions.end_others(form.user, keep=self.request.session.session_key)
        record(form.user, "account.password_changed", actor=form.user)
        messages.success(self.request, _("Your password was changed; other sessions were "
                                         "signed out."))
        return response
