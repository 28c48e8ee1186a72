"""Throttles that count in the shared cache and by the trusted client address."""

from __future__ import annotations

from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle

from .client import client_ip


class SharedAnonThrottle(AnonRateThrottle):
    """DRF's anonymous throttle, but counted where every worker process sees it.

    DRF's own keys by ``X-Forwarded-For`` as sent (so a varying header escapes it) and
    counts in the ``default`` cache, which is each process's memory without ``CACHE_URL``.
    The ``shared`` cache is Redis with ``CACHE_URL`` and the database otherwise.
    """

    cache = caches["shared"]

    def get_ident(self, request) -> str:
        return client_ip(request)
