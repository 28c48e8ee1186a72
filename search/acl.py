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
current review step       ``awaiting:<role>:<unit>`` (submitted, the   ``awaiting:<r>:<u>`` u ∈ r,
(non-head role)           step's role; heads are covered above)        r ≠ head
confidential, recipients  ``confidential-to:<recipient>`` (issued/     ``confidential-to:<u>``
                          archived, instead of the three above)        u ∈ leader ∪ clerk
meeting participants      ``meeting-participant:<user>`` (approved     ``meeting-participant:<me>``
                          onwards, paper of a published meeting,
                          never when confidential)
========================  ===========================================  ============================

Withdrawn documents carry only ``drafter:``, like drafts. Confidential
documents, once issued, carry no ``published*`` token: the unit's leaders,
heads and clerk already hold ``submitted:``/``head-dept:``/``approved:``.

Meeting tokens are computed from the meetings app's tables (when it is
installed); :mod:`search.signals` re-indexes a paper's document whenever a
meeting's state, its participants, its papers or a paper's restriction change,
because those change who may read it without changing the document itself.

``tests/test_search_acl.py`` proves, for every test user and document, that the
documents matching a user's tokens are exactly ``access.visible_documents(user)``.
When the access rules change, this module and that test change with them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.apps import apps

from workflow import access
from workflow.documents.models import PUBLISHED_STATES, Document, State
from workflow.organisation.models import Role

MEETINGS_APP = "workflow.meetings"


def meeting_readers(document_ids: Iterable[int]) -> dict[int, set[int]]:
    """Users who read each document as a participant of a published meeting.

    The same rule as ``access._meeting_papers_q``: a paper of a meeting in a public
    state, read by the meeting's participants (only the listed ones when the paper
    is restricted), unless the document is confidential. Three queries for any number
    of documents.
    """
    ids = list(document_ids)
    if not ids or not apps.is_installed(MEETINGS_APP):
        return {}
    from workflow.meetings import models as m

    papers = list(
        m.Paper.objects.filter(document_id__in=ids, meeting__state__in=m.PUBLIC_STATES,
                               document__confidential=False)
        .values_list("pk", "document_id", "meeting_id")
    )
    if not papers:
        return {}
    participants: dict[int, set[int]] = defaultdict(set)
    for meeting_id, user_id in m.Participant.objects.filter(
        meeting_id__in={p[2] for p in papers}, user__isnull=False
    ).values_list("meeting_id", "user_id"):
        participants[meeting_id].add(user_id)
    restricted: dict[int, set[int]] = defaultdict(set)
    through = m.Paper.restricted_to.through
    for paper_id, user_id in through.objects.filter(
        paper_id__in=[p[0] for p in papers]
    ).values_list("paper_id", "user_id"):
        restricted[paper_id].add(user_id)
    readers: dict[int, set[int]] = defaultdict(set)
    for paper_id, document_id, meeting_id in papers:
        users = participants.get(meeting_id, set())
        if paper_id in restricted:
            users = users & restricted[paper_id]
        readers[document_id] |= users
    return dict(readers)


def document_tokens(
    document: Document,
    recipient_unit_ids: Iterable[int] | None = None,
    meeting_reader_ids: Iterable[int] | None = None,
) -> list[str]:
    """The ACL tokens of one document (its unit must be loaded or loadable).

    Pass ``recipient_unit_ids`` and ``meeting_reader_ids`` when indexing in bulk;
    left out, they are read from the database.
    """
    tokens = [f"drafter:{document.drafter_id}"]
    state = document.state
    unit_id = document.unit_id
    if state in access.SUBMITTED_ONWARDS:
        tokens.append(f"submitted:{unit_id}")
        if document.drafting_department_id:
            tokens.append(f"head-dept:{unit_id}:{document.drafting_department_id}")
    if state == State.SUBMITTED and document.awaiting_role \
            and document.awaiting_role != Role.HEAD:
        tokens.append(f"awaiting:{document.awaiting_role}:{unit_id}")
    if state in access.APPROVED_ONWARDS:
        tokens.append(f"approved:{unit_id}")
        if document.confidential:
            meeting_reader_ids = ()  # confidentiality wins over the meeting
        elif meeting_reader_ids is None:
            meeting_reader_ids = meeting_readers([document.pk]).get(document.pk, ())
        tokens += [f"meeting-participant:{u}" for u in sorted(set(meeting_reader_ids))]
    if state in PUBLISHED_STATES:
        if recipient_unit_ids is None:
            recipient_unit_ids = document.recipients.values_list("unit_id", flat=True)
        recipients = sorted(set(recipient_unit_ids))
        if document.confidential:
            tokens += [f"confidential-to:{r}" for r in recipients]
        else:
            tokens.append(f"published:{unit_id}")
            tokens += [f"published-below:{a}" for a in document.unit.ancestor_ids()]
            tokens += [f"published-to:{r}" for r in recipients]
    return tokens


def case_tokens(unit) -> list[str]:
    """ACL tokens of an oversight item (recommendation, critique reply) of ``unit``.

    Mirrors ``access.visible_cases_q``: anyone whose scope holds the unit
    (``case-unit:``), and the leaders of the unit or any unit above it
    (``case-lead:``, the leader-path clause).
    """
    return [f"case-unit:{unit.pk}"] + [f"case-lead:{a}" for a in [*unit.ancestor_ids(), unit.pk]]


def incoming_tokens(unit_id: int, participant_ids: Iterable[int],
                    presented_to_id: int | None) -> list[str]:
    """ACL tokens of an incoming document, mirroring ``access.visible_incoming_q``:
    the receiving unit's clerks and leaders (``incoming-unit:``), the people named on it
    and the leader it was presented to (``incoming-user:``)."""
    users = set(participant_ids) | ({presented_to_id} if presented_to_id else set())
    return [f"incoming-unit:{unit_id}"] + [f"incoming-user:{u}" for u in sorted(users)]


def user_tokens(user) -> list[str]:
    """The ACL tokens a user holds; empty for anonymous users (who see nothing)."""
    actor = access.actor_for(user)
    if actor.user_id is None:
        return []
    tokens = {f"drafter:{actor.user_id}", f"meeting-participant:{actor.user_id}"}
    for unit_id in actor.scope(Role.LEADER) | actor.head_units_without_department():
        tokens.add(f"submitted:{unit_id}")
    # visible_documents_q pairs every head unit with every head department (not per
    # grant); departments belong to one unit, so the extra pairs never match anything.
    for unit_id in actor.scope(Role.HEAD):
        for dept_id in actor.head_departments():
            tokens.add(f"head-dept:{unit_id}:{dept_id}")
    for unit_id in actor.scope(Role.CLERK):
        tokens.add(f"approved:{unit_id}")
    for role in {g.role for g in actor.grants} - {Role.HEAD}:
        for unit_id in actor.scope(role):
            tokens.add(f"awaiting:{role}:{unit_id}")
    for unit_id in actor.scope(*access.CONFIDENTIAL_READERS):
        tokens.add(f"confidential-to:{unit_id}")
    for unit_id in actor.scope():
        tokens.add(f"published:{unit_id}")
        tokens.add(f"published-to:{unit_id}")
    for grant in actor.grants:
        tokens.add(f"published-below:{grant.unit_id}")
        if grant.role == Role.LEADER:
            tokens.add(f"case-lead:{grant.unit_id}")
    for unit_id in actor.scope():
        tokens.add(f"case-unit:{unit_id}")
    tokens.add(f"incoming-user:{actor.user_id}")
    for unit_id in actor.scope(Role.CLERK, Role.LEADER):
        tokens.add(f"incoming-unit:{unit_id}")
    return sorted(tokens)
