"""Plain words for the verify report's codes (verdicts, revocation, modification levels)."""

from django import template

from signing import verdicts

register = template.Library()


@register.filter
def verdict_label(code: str) -> str:
    return verdicts.verdict_label(code)


@register.filter
def revocation_label(code: str) -> str:
    return verdicts.revocation_label(code)


@register.filter
def modification_label(code: str) -> str:
    return verdicts.modification_label(code)
