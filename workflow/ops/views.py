"""``/healthz`` (open, nothing sensitive) and ``/metrics`` (allowed addresses or token)."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from workflow.accounts.client import client_ip

from . import health, metrics


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every part answers, else 503; ``?scope=web``: only what serving pages needs.

    The proxy should use ``scope=web`` (a stopped worker must not take web nodes out of
    rotation); monitoring uses the full answer.
    """
    healthy, body = health.report(web_only=request.GET.get("scope") == "web")
    return JsonResponse(body, status=200 if healthy else 503)


def _allowed(request: HttpRequest) -> bool:
    token = settings.MTTQ_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and constant_time_compare(header[7:], token):
        return True
    # A proxied request whose proxies are not declared shows the proxy's address (often
    # loopback): its address proves nothing, only the token does.
    if "HTTP_X_FORWARDED_FOR" in request.META and settings.MTTQ_TRUSTED_PROXIES <= 0:
        return False
    address = ipaddress.ip_address(client_ip(request))
    for allowed in settings.MTTQ_METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            continue
    return False


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return HttpResponse(status=403)
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
