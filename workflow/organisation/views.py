"""The organisation tree as of a chosen day (read-only: changes go through the admin)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from .history import units_on
from .models import Reorganisation


@login_required
def tree(request: HttpRequest) -> HttpResponse:
    """The units that existed on ``?on=YYYY-MM-DD`` (today by default), as they were named
    and placed that day. The tree is not confidential: every signed-in person may read it."""
    today = timezone.localdate()
    error = ""
    day = today
    raw = request.GET.get("on", "").strip()
    if raw:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            error = _("Enter a date like 2024-12-31.")
    rows = units_on(day)
    base = rows[0]["path"].count("/") if rows else 0
    levels: dict[tuple[int, str], int] = {}
    for row in rows:
        row["depth"] = row["path"].count("/") - base
        key = (row["level__rank"], row["level__name"])
        levels[key] = levels.get(key, 0) + 1
    plans = [(r.effective_date - dt.timedelta(days=1), r.effective_date)
             for r in Reorganisation.objects.order_by("effective_date")]
    return render(request, "organisation/tree.html", {
        "rows": rows, "day": day, "today": today, "error": error,
        "levels": [(name, n) for (_rank, name), n in sorted(levels.items())],
        "plans": plans,
        "current": "organisation",
    })
