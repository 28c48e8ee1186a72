"""Values that services take from forms and the API, checked the same way everywhere.

A bad value is an :class:`~workflow.documents.errors.InvalidInput` naming the field, so
pages and the API show the same translated message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from workflow.documents.errors import InvalidInput


def date_value(value: Any, label: str, *, required: bool = False) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` text, a date or a datetime; ``None`` when empty."""
    if value in (None, ""):
        if required:
            raise InvalidInput(_("%(field)s is required.") % {"field": label})
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(_("%(field)s is not a valid date.") % {"field": label}) from None


_ID_MAX = 2**63 - 1


def is_id(value: Any) -> bool:
    """Could ``value`` name a row (a positive 64-bit integer in ASCII digits)?

    ``str.isdigit`` alone accepts "²" and "٣", which ``int()`` and the database refuse.
    """
    text = str(value)
    return 0 < len(text) <= 19 and text.isascii() and text.isdigit() and 0 < int(text) <= _ID_MAX
