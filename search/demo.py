"""``seed_demo`` hook: the demo's documents are indexed once, when the seed ends."""

from __future__ import annotations

from .signals import deferred_indexing


def demo_session():
    """Entered around the whole seed (see ``workflow.organisation.demo.seed``).

    Each demo document passes through up to seven states, and each change would
    otherwise re-index it on its own; the index is complete when ``seed_demo`` returns,
    so search works right after the quick start.
    """
    return deferred_indexing()
