"""Query-string parameters of list pages, validated in one place.

Every list view (pages and API) reads its filters through :func:`parse` with form
fields from here, so a 40-digit id, a negative year, ``abc`` or a repeated value
never reaches the database or ``datetime`` (where they gave 500s: integer overflow
in SQLite, ``year=-1`` in a ``__year`` lookup). An invalid value is dropped, as if
it had not been sent, and the reason is kept for the page to show; the API lists
answer 400 through their serializers, which use the same bounds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

# Primary keys are 64-bit (BigAutoField); anything larger cannot name a row.
ID_MAX = 2**63 - 1
# Years the system deals with; the documents of the Front start long after 1900.
YEAR_MIN, YEAR_MAX = 1900, 2999
# Paginator clamps to the last page, but the value must still be a sane integer.
PAGE_MAX = 1_000_000
TEXT_MAX = 1000

# Every parameter a list view reads: tests/test_query_boundaries.py sends boundary values
# for each of them to every list endpoint it finds in the URLconf. Add new ones here.
KNOWN_PARAMETERS = frozenset({
    "q", "page", "per_page", "sort", "state", "status", "unit", "type", "year", "kind",
    "part", "subtree", "source", "field", "meeting", "format", "src", "title", "v",
    "code", "file",  # case files (workflow/records)
})


def id_field(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, max_value=ID_MAX, **kwargs)


def year_field(**kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX, **kwargs)


def page_field() -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, max_value=PAGE_MAX)


def text_field(max_length: int = TEXT_MAX) -> forms.CharField:
    return forms.CharField(required=False, max_length=max_length)


class Params(dict):
    """The cleaned values (``None`` for absent or invalid ones) and why any were dropped."""

    errors: dict[str, str]


def parse(data: Mapping, fields: Mapping[str, forms.Field]) -> Params:
    """Clean the named parameters of a query string with form fields.

    A repeated parameter counts with its last value (what ``QueryDict.get`` gives).
    """

    class _Form(forms.Form):
        pass

    form = _Form(data=data)
    form.fields.update({name: field for name, field in fields.items()})
    for field in form.fields.values():
        field.required = False
    form.is_valid()
    params = Params()
    params.errors = {}
    for name in fields:
        if name in form.errors:
            params[name] = None
            params.errors[name] = str(form.errors[name][0])
        else:
            params[name] = form.cleaned_data.get(name)
    return params


def int_value(value: Any, default: int | None = None, *, min_value: int = 1,
              max_value: int = ID_MAX) -> int | None:
    """One integer in bounds, or ``default``: for views that read a single number."""
    field = forms.IntegerField(required=False, min_value=min_value, max_value=max_value)
    try:
        cleaned = field.clean(value)
    except forms.ValidationError:
        return default
    return default if cleaned is None else cleaned


def year_value(value: Any, default: int | None = None) -> int | None:
    return int_value(value, default, min_value=YEAR_MIN, max_value=YEAR_MAX)

