"""Signing settings, with defaults, read through Django settings (all optional).

* ``SIGNING_TRUST_ROOTS`` — list of PEM/DER files with trusted root certificates
  (VGCA, VNPT-CA, Viettel-CA…). Env ``SIGNING_TRUST_ROOTS`` (comma separated).
* ``SIGNING_DEMO_PKI`` — use and trust the local DEMO PKI (default: on unless
  ``MTTQ_PRODUCTION``).
* ``SIGNING_PKI_DIR`` — where the DEMO PKI lives (default ``var/signing-pki``).
* ``SIGNING_TSA_URL`` — RFC 3161 time-stamping service; empty in demo mode means
  the DEMO TSA key answers in-process.
* ``SIGNING_PENDING_TTL`` — seconds a two-step remote signature may wait (600).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


def trust_root_files() -> list[Path]:
    configured = getattr(settings, "SIGNING_TRUST_ROOTS", None)
    if configured is None:
        configured = [p for p in os.environ.get("SIGNING_TRUST_ROOTS", "").split(",") if p]
    return [Path(p) for p in configured]


def demo_enabled() -> bool:
    value = getattr(settings, "SIGNING_DEMO_PKI", None)
    if value is None:
        return os.environ.get("MTTQ_PRODUCTION", "").lower() not in ("1", "true", "yes")
    return bool(value)


def pki_dir() -> Path:
    value = getattr(settings, "SIGNING_PKI_DIR", None)
    return Path(value) if value else Path(settings.VAR_DIR) / "signing-pki"


def tsa_url() -> str:
    return getattr(settings, "SIGNING_TSA_URL", None) or os.environ.get("SIGNING_TSA_URL", "")


def pending_ttl() -> int:
    return int(getattr(settings, "SIGNING_PENDING_TTL", 600))
