"""Review rules: the most specific one wins, and "any type" / "any unit" rules apply.

Precedence: type + unit, type + nearest ancestor, type alone, unit alone (any type),
nearest ancestor alone, global (any type, any unit), then the built-in default.
"""

from __future__ import annotations

import pytest

from workflow.documents.models import ReviewRule
from workflow.documents.services import DEFAULT_REVIEW_STEPS, review_steps_for

pytestmark = pytest.mark.django_db

LEVELS = [
    ("type+unit", "ke-hoach", "commune", ["leader"]),
    ("type+ancestor", "ke-hoach", "district", ["head", "leader"]),
    ("type+far-ancestor", "ke-hoach", "province", ["clerk"]),
    ("type", "ke-hoach", None, ["head", "clerk"]),
    ("unit", None, "commune", ["clerk", "leader"]),
    ("ancestor", None, "district", ["head", "head"]),
    ("far-ancestor", None, "province", ["leader", "leader"]),
    ("global", None, None, ["clerk", "clerk"]),
]


def _rule(org, type_code, unit_key, steps):
    return ReviewRule.objects.create(
        document_type=org.types[type_code] if type_code else None,
        unit=org.units[unit_key] if unit_key else None, steps=steps)


@pytest.mark.parametrize("level", range(len(LEVELS)), ids=[name for name, *_ in LEVELS])
def test_each_precedence_level_wins_over_the_ones_below(org, level):
    # Only this level and the less specific ones exist: this level must win.
    for _name, type_code, unit_key, steps in LEVELS[level:]:
        _rule(org, type_code, unit_key, steps)
    expected = LEVELS[level][3]
    assert review_steps_for(org.types["ke-hoach"], org.units["commune"]) == expected


def test_any_type_rules_apply_to_other_types(org):
    _rule(org, "ke-hoach", "commune", ["leader"])
    _rule(org, None, "district", ["head", "leader"])
    # Báo cáo has no rule of its own: the district's any-type rule applies to the commune.
    assert review_steps_for(org.types["bao-cao"], org.units["commune"]) == ["head", "leader"]
    # A sibling district's unit is not under "district": the default applies there.
    assert review_steps_for(org.types["bao-cao"], org.units["district2"]) == DEFAULT_REVIEW_STEPS


def test_global_rule_replaces_the_default(org):
    _rule(org, None, None, ["leader"])
    assert review_steps_for(org.types["cong-van"], org.units["province"]) == ["leader"]


def test_rules_of_other_units_and_types_are_ignored(org):
    _rule(org, "bao-cao", "commune", ["leader"])
    _rule(org, None, "commune2", ["clerk"])
    assert review_steps_for(org.types["ke-hoach"], org.units["commune"]) == DEFAULT_REVIEW_STEPS
