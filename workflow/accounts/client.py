"""The client's address, decided in one place for the login lockout and the throttles.

``X-Forwarded-For`` is written by whoever sends the request, so it is trusted only as far
as ``MTTQ_TRUSTED_PROXIES`` says: with 0 (the default) the address is ``REMOTE_ADDR``; with
N proxies in front of the app, each appends the address it saw, so the client is the N-th
address from the right and everything left of it may be forged.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The address of the person at the other end, as far as the trusted proxies tell."""
    meta = request.META
    remote = _valid(meta.get("REMOTE_ADDR", "") or "") or "0.0.0.0"  # noqa: S104 - a value, not a bind
    proxies = int(getattr(settings, "MTTQ_TRUSTED_PROXIES", 0) or 0)
    if proxies <= 0:
        return remote
    hops = [h for h in (meta.get("HTTP_X_FORWARDED_FOR", "") or "").split(",") if h.strip()]
    if len(hops) < proxies:
        # Fewer hops than proxies: the request did not come through all of them.
        return remote
    return _valid(hops[-proxies]) or remote
