"""Private notes: each person's own note on a paper they may read. Nobody else ever reads it and
its content is not audited. It may call :mod:`.common` and :mod:`workflow.access`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import MeetingAction as A
from workflow.documents.errors import InvalidInput, NotAllowed, NotFound
from workflow.inputs import is_id

from ..models import (
    Paper,
    PrivateNote,
)

MAX_NOTE_CHARS = 20000


def get_paper(user, paper_id) -> Paper:
    paper = Paper.objects.select_related("meeting", "document", "document__unit", "item").filter(
        pk=paper_id).first() if is_id(paper_id) else None
    if paper is None or not access.can_read_paper(user, paper):
        raise NotFound(_("This paper does not exist or you cannot read it."))
    return paper


def get_note(user, paper_id) -> str:
    paper = get_paper(user, paper_id)
    note = PrivateNote.objects.filter(paper=paper, user=user).first()
    return note.text if note else ""


@transaction.atomic
def save_note(user, paper_id, *, text: str) -> PrivateNote:
    """Save the person's own note; nobody else ever reads it (no audit of its content)."""
    paper = get_paper(user, paper_id)
    if not access.can_meeting(user, A.NOTE, paper.meeting):
        raise NotAllowed(_("Notes can be written once the meeting is published."))
    text = text or ""
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput(_("The note is too long (at most %(n)d characters).")
                           % {"n": MAX_NOTE_CHARS})
    note, _created = PrivateNote.objects.update_or_create(paper=paper, user=user,
                                                          defaults={"text": text})
    return note
