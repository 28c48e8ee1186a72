"""Permissions as index terms, mirroring :func:`workflow.access.visible_documents_q`.

Each indexed document carries tokens naming who may see it; each user gets the
tokens they hold. A document is visible when the two sets intersect, which
every engine evaluates inside the query (a terms filter), before ranking,
limiting, counting and faceting.

Every clause of ``visible_documents_q`` has one token family here:

========================  ===========================================  ============================
access rule               document token (when the state allows)       user tokens
========================  ===========================================  ============================
own drafts                ``drafter:<user>``                           ``drafter:<me>``
leader of the unit        ``submitted:<unit>`` (submitted onwards)     ``submitted:<u>`` u ∈ leader
head w/o department       ``submitted:<unit>``                         ``submitted:<u>`` u ∈ head
head of the department    ``head-dept:<unit>:<dept>`` (submitted on)   unit × department products
clerk of the unit         ``approved:<unit>`` (approved onwards)       ``approved:<u>`` u ∈ clerk
anyone in the unit        ``published:<unit>`` (issued/archived)       ``published:<u>`` u ∈ scope
ancestor units            ``published-below:<ancestor>``               ``published-below:<grant>``
recipient units           ``published-to:<recipient>``                 ``published-to:<u>`` u∈scope
========================  ===========================================  ============================

``tests/test_search_acl.py`` proves, for every test user and document, that the
documents matching a user's tokens are exactly ``access.visible_documents(user)``.
When the access rules change, this module and that test change with them.
"""

from __future__ import annotations

from collections.abc import Iterable

from workflow import access
from workflow.documents.models import PUBLISHED_STATES, Document
from workflow.organisation.models import Role


def document_tokens(
    document: Document, recipient_unit_ids: Iterable[int] | None = None
) -> list[str]:
    """The ACL tokens of one document (its unit must be loaded or loadable)."""
    tokens = [f"drafter:{document.drafter_id}"]
    state = document.state
    unit_id = document.unit_id
    if state in access.SUBMITTED_ONWARDS:
        tokens.append(f"submitted:{unit_id}")
        if document.drafting_department_id:
            tokens.append(f"head-dept:{unit_id}:{document.drafting_department_id}")
    if state in access.APPROVED_ONWARDS:
        tokens.append(f"approved:{unit_id}")
    if state in PUBLISHED_STATES:
        tokens.append(f"published:{unit_id}")
        tokens += [f"published-below:{a}" for a in document.unit.ancestor_ids()]
        if recipient_unit_ids is None:
            recipient_unit_ids = document.recipients.values_list("unit_id", flat=True)
        tokens += [f"published-to:{r}" for r in sorted(set(recipient_unit_ids))]
    return tokens


def user_tokens(user) -> list[str]:
    """The ACL tokens a user holds; empty for anonymous users (who see nothing)."""
    actor = access.actor_for(user)
    if actor.user_id is None:
        return []
    tokens = {f"drafter:{actor.user_id}"}
    for unit_id in actor.scope(Role.LEADER) | actor.head_units_without_department():
        tokens.add(f"submitted:{unit_id}")
    # visible_documents_q pairs every head unit with every head department (not per
    # grant); departments belong to one unit, so the extra pairs never match anything.
    for unit_id in actor.scope(Role.HEAD):
        for dept_id in actor.head_departments():
            tokens.add(f"head-dept:{unit_id}:{dept_id}")
    for unit_id in actor.scope(Role.CLERK):
        tokens.add(f"approved:{unit_id}")
    for unit_id in actor.scope():
        tokens.add(f"published:{unit_id}")
        tokens.add(f"published-to:{unit_id}")
    for grant in actor.grants:
        tokens.add(f"published-below:{grant.unit_id}")
    return sorted(tokens)
