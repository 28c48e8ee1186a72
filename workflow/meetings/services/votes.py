"""Votes: opening one (how many may vote is fixed then), closing it, casting exactly one ballot
per person (a second is a conflict; a vote row is locked before its meeting row), and the
result. It may call :mod:`.common`.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.access import MeetingAction as A
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound

from ..models import (
    VOTING_ROLES,
    Attendance,
    Ballot,
    Choice,
    Meeting,
    Vote,
    VoteState,
)
from .common import _bump, _bump_id, get_meeting


def _eligible_voters(meeting: Meeting) -> int:
    return meeting.participants.filter(user__isnull=False, role__in=VOTING_ROLES,
                                       attendance=Attendance.CHECKED_IN).count()


@transaction.atomic
def open_vote(user, pk, *, question: str, secret: bool = False, item_id=None) -> Vote:
    meeting = get_meeting(user, pk, action=A.MANAGE_VOTES, lock=True)
    question = (question or "").strip()
    if not question:
        raise InvalidInput(_("Write the question to vote on."))
    if meeting.votes.filter(state=VoteState.OPEN).exists():
        raise InvalidInput(_("Close the open vote first."))
    item = meeting.current_item
    if item_id:
        item = meeting.items.filter(pk=item_id).first()
    vote = Vote.objects.create(meeting=meeting, item=item, question=question[:500],
                               secret=bool(secret), opened_by=user,
                               eligible_count=_eligible_voters(meeting))
    _bump(meeting)
    record(vote, "vote.open", actor=user, to_state=vote.state, comment=vote.question)
    return vote


def _lock_vote(vote_id) -> Vote:
    try:
        return Vote.objects.select_for_update().select_related("meeting").get(pk=vote_id)
    except (Vote.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("This vote does not exist.")) from None


@transaction.atomic
def close_vote(user, vote_id) -> Vote:
    vote = _lock_vote(vote_id)
    if not access.can_meeting(user, A.VIEW, vote.meeting):
        raise NotFound(_("This vote does not exist."))
    if not access.can_meeting(user, A.MANAGE_VOTES, vote.meeting):
        raise NotAllowed()
    if vote.state == VoteState.CLOSED:
        return vote
    vote.state = VoteState.CLOSED
    vote.closed_at = timezone.now()
    vote.save(update_fields=["state", "closed_at"])
    _bump_id(vote.meeting_id)
    record(vote, "vote.close", actor=user, from_state=VoteState.OPEN, to_state=VoteState.CLOSED,
           comment=f"yes={vote.yes_count} no={vote.no_count} abstain={vote.abstain_count}")
    return vote


def cast_ballot(user, vote_id, choice: str) -> Ballot:
    """One ballot per person, counted once, even under concurrent clicks.

    The vote row is locked and its state read inside the transaction, so a
    ballot racing the close either lands before it (and is in the result) or
    is refused; the unique (vote, voter) constraint backs up the check.
    """
    if choice not in Choice.values:
        raise InvalidInput(_("Choose yes, no or abstain."))
    try:
        with transaction.atomic():
            vote = _lock_vote(vote_id)
            meeting = vote.meeting
            if not access.can_meeting(user, A.VIEW, meeting):
                raise NotFound(_("This vote does not exist."))
            if vote.state != VoteState.OPEN:
                raise Conflict(_("This vote is closed; your ballot was not counted."))
            if not access.can_meeting(user, A.BALLOT, meeting):
                raise NotAllowed(_("You do not have a vote in this meeting."))
            seat = access.meeting_seat(user, meeting)
            if seat.attendance != Attendance.CHECKED_IN:
                raise InvalidInput(_("Check in first to vote."))
            if Ballot.objects.filter(vote=vote, voter=user).exists():
                raise Conflict(_("You have already voted; your first ballot counts."))
            ballot = Ballot.objects.create(vote=vote, voter=user,
                                           choice="" if vote.secret else choice)
            counter = f"{choice}_count"
            Vote.objects.filter(pk=vote.pk).update(**{counter: F(counter) + 1})
            _bump_id(meeting.pk)
            record(vote, "vote.ballot", actor=user, comment="" if vote.secret else choice)
            return ballot
    except IntegrityError:
        raise Conflict(_("You have already voted; your first ballot counts.")) from None


def vote_result(vote: Vote) -> dict:
    result = {"yes": vote.yes_count, "no": vote.no_count, "abstain": vote.abstain_count,
              "cast": vote.cast_count, "eligible": vote.eligible_count}
    if not vote.secret:
        names: dict[str, list[str]] = {c: [] for c in Choice.values}
        for ballot in vote.ballots.select_related("voter"):
            names.setdefault(ballot.choice, []).append(str(ballot.voter))
        result["names"] = names
    return result
