"""Oversight configuration: every deadline and target is a rule in force, so a setting.

Each key can be overridden in Django settings (``OVERSIGHT_<KEY>``); the defaults
follow the 2024–2029 congress targets of the Nghệ An Front (DOMAIN.md §2).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Days the drafting agency has to reply to a critique conclusion, counted from dispatch.
    "REPLY_DUE_DAYS": 30,
    # Days to aggregate and forward a voters' recommendation after it was raised.
    "FORWARD_DUE_DAYS": 15,
    # Days the competent body has to resolve a recommendation when no due date is given.
    "RESOLVE_DUE_DAYS": 60,
    # Days before a deadline when the owner gets a reminder (0 disables reminders).
    "REMIND_BEFORE_DAYS": 3,
    # Days overdue after which the leaders of the parent unit are told too.
    "ESCALATE_NOTICE_AFTER_DAYS": 30,
    # Send e-mail besides the in-app notice.
    "EMAIL_NOTICES": True,
    # Document type codes used when the system drafts a document for a case.
    "DOCUMENT_TYPES": {
        "plan": "ke-hoach",
        "conclusion": "cong-van",
        "decision": "quyet-dinh",
        "report": "bao-cao",
        "recommendation_report": "bao-cao",
    },
    # Yearly quotas per level code; "rank:<n>" keys are the fallback by level rank.
    "QUOTAS": {
        "tinh": {"supervision": 3, "critique": 4},
        "huyen": {"supervision": 2, "critique": 2},
        "xa": {"supervision": 1, "critique": 1},
        "rank:0": {"supervision": 3, "critique": 4},
        "rank:1": {"supervision": 2, "critique": 2},
        "rank:2": {"supervision": 1, "critique": 1},
    },
    # Percentage targets; a dict is keyed by level code (or "rank:<n>", then "default").
    "TARGETS": {
        "signed": 100,
        "paperless": {"tinh": 100, "huyen": 90, "xa": 80,
                      "rank:0": 100, "rank:1": 90, "rank:2": 80, "default": 80},
        "voters_forwarded": 100,
        "dialogue_resolved": 90,
        "periodic_reports": 100,
        "incoming_on_time": 100,
    },
    # Periodic reports required each year: period code -> (month, day) it is due.
    "PERIODIC_REPORT_PERIODS": {"H1": (6, 20), "Y": (12, 20)},
    # Where the signing app keeps real signatures: model label, FK field to Document and
    # the filter a row must match. When that app is installed, "signed" means signed_at is
    # set AND such a row exists; set to None to count signed_at alone.
    "SIGNATURE_MODEL": ("signing.SignedPdf", "document", {"stage__in": ["signed", "issued"]}),
    # The meetings app: model label and the field names the paperless target reads.
    "MEETING_MODEL": "meetings.Meeting",
    "MEETING_FIELDS": {
        "unit": "unit",
        "start": ("starts_at", "start_at", "start", "held_at", "scheduled_at", "date"),
        "paperless": ("paperless", "held_without_paper", "is_paperless"),
        "state": "state",
        "held_states": ("closed", "concluded"),
    },
}


def get(key: str) -> Any:
    return getattr(settings, f"OVERSIGHT_{key}", DEFAULTS[key])


def by_level(value: Any, level_code: str, level_rank: int) -> Any:
    """Pick a per-level value: the level code, then its rank, then "default"."""
    if not isinstance(value, dict):
        return value
    for key in (level_code, f"rank:{level_rank}", "default"):
        if key in value:
            return value[key]
    return None


def quota(kind: str, level_code: str, level_rank: int) -> int:
    table = get("QUOTAS")
    row = table.get(level_code) or table.get(f"rank:{level_rank}") or {}
    return int(row.get(kind, 0))
