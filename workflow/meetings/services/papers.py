"""Papers on the agenda: attaching an existing document or drafting one, replacing, detaching and
restricting a paper to some participants, telling the readers when a paper changes (also when
its document changes: ``notify_paper_changed``, from the ``document_changed`` receiver), and
whether the papers are ready for approval and publication. It may call :mod:`.common`,
:mod:`.agenda` and the documents services; reading a paper's file is :mod:`.links`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents import services as documents
from workflow.documents.errors import InvalidInput, NotFound
from workflow.documents.models import (
    OPEN_STATES,
    PUBLISHED_STATES,
    Document,
    FileKind,
)
from workflow.documents.models import State as DocState
from workflow.inputs import is_id
from workflow.organisation.models import User

from ..models import (
    PUBLIC_STATES,
    AgendaItem,
    Meeting,
    MeetingState,
    Paper,
    PaperSource,
    Participant,
)
from .agenda import _item_for
from .common import (
    APPROVED_ONWARDS,
    _bump,
    _bump_id,
    _document_type,
    _participant_users,
    _run_transition,
    get_meeting,
    notify,
    room_url,
)


def _restrict(paper: Paper, meeting: Meeting, user_ids: Iterable) -> None:
    ids = {int(u) for u in user_ids if is_id(str(u).strip())}
    seats = set(Participant.objects.filter(meeting=meeting, user_id__in=ids)
                .values_list("user_id", flat=True))
    if seats != ids:
        raise InvalidInput(_("A paper can only be restricted to participants of the meeting."))
    paper.restricted_to.set(ids)


@transaction.atomic
def attach_paper(user, item_id, *, document, restricted_to: Iterable = ()) -> Paper:
    """Attach a document to an agenda item: a draft going through approval, or an archived one."""
    item, meeting = _item_for(user, item_id)
    if not isinstance(document, Document):
        document = Document.objects.filter(pk=document).first() if is_id(document) \
            else None
    if document is None or not access.can(user, "view", document):
        raise NotFound(_("The document does not exist or you cannot see it."))
    if document.state == DocState.WITHDRAWN:
        raise InvalidInput(_("A withdrawn document cannot be a meeting paper."))
    if document.confidential:
        # Participants read papers through the meeting; that must never widen who
        # reads a confidential document.
        raise InvalidInput(_("A confidential document cannot be a meeting paper."))
    if Paper.objects.filter(item=item, document=document).exists():
        raise InvalidInput(_("This document is already a paper of this item."))
    source = PaperSource.REFERENCE if document.state in PUBLISHED_STATES else PaperSource.DRAFTED
    last = item.papers.order_by("-order").values_list("order", flat=True).first() or 0
    paper = Paper.objects.create(meeting=meeting, item=item, document=document, source=source,
                                 order=last + 1)
    _restrict(paper, meeting, restricted_to)
    _bump(meeting)
    record(meeting, "meeting.paper.attach", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{document.pk}: {document.subject}")
    if meeting.state == MeetingState.PUBLISHED:
        _notify_paper(meeting, paper, _("A paper was added to “%(title)s”: %(paper)s"))
    return paper


def draft_paper(user, item_id, *, subject: str, document_type=None, body: str = "",
                upload=None) -> Paper:
    """Draft a new paper in the system (it then goes through the document approval flow)."""
    item = AgendaItem.objects.filter(pk=item_id).select_related("meeting__unit").first() \
        if is_id(item_id) else None
    if item is None:
        raise NotFound(_("This agenda item does not exist."))
    get_meeting(user, item.meeting_id, action=A.EDIT)
    dtype = document_type or _document_type("BC", "bao-cao", "Báo cáo")
    with transaction.atomic():
        document = documents.create_document(
            user, unit=item.meeting.unit,
            data={"subject": subject, "document_type": dtype, "body": body})
        paper = attach_paper(user, item.pk, document=document)
    if upload is not None:
        documents.add_file(user, document.pk, upload=upload, kind=FileKind.MAIN)
    return paper


@transaction.atomic
def replace_paper(user, paper_id, *, document) -> Paper:
    """Point a paper at a new document; the earlier one stays readable from the paper."""
    paper = Paper.objects.filter(pk=paper_id).first() if is_id(paper_id) else None
    if paper is None:
        raise NotFound(_("This paper does not exist."))
    meeting = get_meeting(user, paper.meeting_id, action=A.EDIT, lock=True)
    if not isinstance(document, Document):
        document = Document.objects.filter(pk=document).first() if is_id(document) \
            else None
    if document is None or not access.can(user, "view", document):
        raise NotFound(_("The document does not exist or you cannot see it."))
    if document.confidential:
        raise InvalidInput(_("A confidential document cannot be a meeting paper."))
    if document.pk == paper.document_id:
        return paper
    paper.previous_documents = [*paper.previous_documents, paper.document_id]
    paper.document = document
    paper.source = (PaperSource.REFERENCE if document.state in PUBLISHED_STATES
                    else PaperSource.DRAFTED)
    if meeting.state in PUBLIC_STATES:
        paper.changed_after_publication = True
    paper.save()
    _bump(meeting)
    record(meeting, "meeting.paper.replace", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{paper.previous_documents[-1]} → {document.pk}")
    if meeting.state in PUBLIC_STATES:
        _notify_paper(meeting, paper, _("A paper of “%(title)s” changed: %(paper)s"))
    return paper


@transaction.atomic
def detach_paper(user, paper_id) -> None:
    paper = Paper.objects.filter(pk=paper_id).first() if is_id(paper_id) else None
    if paper is None:
        raise NotFound(_("This paper does not exist."))
    meeting = get_meeting(user, paper.meeting_id, action=A.EDIT, lock=True)
    paper.delete()
    _bump(meeting)
    record(meeting, "meeting.paper.detach", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{paper.document_id}")


@transaction.atomic
def restrict_paper(user, paper_id, *, user_ids: Iterable) -> Paper:
    paper = Paper.objects.filter(pk=paper_id).first() if is_id(paper_id) else None
    if paper is None:
        raise NotFound(_("This paper does not exist."))
    meeting = get_meeting(user, paper.meeting_id, action=A.EDIT, lock=True)
    _restrict(paper, meeting, user_ids)
    _bump(meeting)
    record(meeting, "meeting.paper.restrict", actor=user, from_state=meeting.state,
           to_state=meeting.state, comment=f"{paper.pk}")
    return paper


def _paper_readers(meeting: Meeting, paper: Paper) -> list[User]:
    restricted = set(paper.restricted_to.values_list("pk", flat=True))
    return [u for u in _participant_users(meeting) if not restricted or u.pk in restricted]


def _notify_paper(meeting: Meeting, paper: Paper, template: str) -> None:
    text = template % {"title": meeting.title, "paper": paper.document.subject}
    notify(_paper_readers(meeting, paper), text, room_url(meeting), email_subject=meeting.title,
           event="meeting.paper", obj=meeting)


def notify_paper_changed(document_id: int, reason: str) -> None:
    """A paper's document changed: rooms refresh; after publication, readers are told.

    Any change counts for the room (a draft paper getting approved becomes
    readable); only a new file version or an edit is news for the participants.
    """
    papers = Paper.objects.filter(document_id=document_id).select_related("meeting", "document")
    for paper in papers:
        with transaction.atomic():
            _bump_id(paper.meeting_id)
            if reason not in ("edit", "file") or paper.meeting.state not in PUBLIC_STATES:
                continue
            Paper.objects.filter(pk=paper.pk).update(changed_after_publication=True)
            record(paper.meeting, "meeting.paper.changed", comment=f"{document_id}: {reason}")
            _notify_paper(paper.meeting, paper, _("A paper of “%(title)s” changed: %(paper)s"))


@dataclass
class Readiness:
    papers: list[tuple[Paper, bool]]
    items: int

    @property
    def ready(self) -> bool:
        return self.items > 0 and all(ok for _p, ok in self.papers)

    @property
    def waiting(self) -> list[Paper]:
        return [p for p, ok in self.papers if not ok]


def readiness(meeting: Meeting) -> Readiness:
    papers = list(meeting.papers.select_related("document", "item"))
    return Readiness(papers=[(p, p.document.state in APPROVED_ONWARDS) for p in papers],
                     items=meeting.items.count())


def send_papers_for_approval(user, pk) -> Meeting:
    """Move to "papers under approval" and submit the caller's own drafted papers.

    Papers drafted by others are submitted by their drafters; the leader approves
    each one through the normal document flow.
    """
    with transaction.atomic():
        meeting = _run_transition(user, pk, "send_for_approval",
                                  expected_state=MeetingState.DRAFT)
        for paper in meeting.papers.select_related("document"):
            document = paper.document
            if document.drafter_id == user.pk and document.state in OPEN_STATES:
                documents.perform(user, document.pk, "submit")
    return meeting
