"""The oversight demo hook: cases in every state, and running it twice changes nothing."""

from __future__ import annotations

import pytest

from tests.oversight_helpers import ensure_types
from workflow.oversight import demo as oversight_demo
from workflow.oversight.models import (
    CritiqueCase,
    CritiqueState,
    Recommendation,
    SupervisionCase,
    SupervisionState,
)


class FakeDemo:
    """The parts of the core DemoData the hook uses, built on the test organisation."""

    def __init__(self, org):
        self.org = org
        self.demo_units = {"tinh": org.units["province"], "huyen": org.units["district"],
                           "xa": org.units["commune"]}
        self.keys = {"tinh": "province", "huyen": "district", "xa": "commune"}
        self.created: dict[str, int] = {}

    def person(self, level, role):
        return self.org.person(self.keys[level], role)

    def count(self, what, n=1):
        self.created[what] = self.created.get(what, 0) + n


@pytest.mark.django_db
def test_demo_has_every_state_and_is_idempotent(org):
    ensure_types()
    demo = FakeDemo(org)
    oversight_demo.extend_demo(demo)
    assert set(CritiqueCase.objects.values_list("state", flat=True)) == set(CritiqueState.values)
    assert set(SupervisionCase.objects.values_list("state", flat=True)) == \
        set(SupervisionState.values)
    late = CritiqueCase.objects.get(state=CritiqueState.AWAITING_REPLY,
                                    unit=org.units["province"])
    assert late.is_overdue
    counts = (CritiqueCase.objects.count(), SupervisionCase.objects.count(),
              Recommendation.objects.count())
    again = FakeDemo(org)
    oversight_demo.extend_demo(again)
    assert not any(again.created.values())
    assert counts == (CritiqueCase.objects.count(), SupervisionCase.objects.count(),
                      Recommendation.objects.count())
