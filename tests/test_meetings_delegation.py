"""Issue #23, finding 5: who may take a participant's seat, and with which rights.

A participant sends someone of their own unit, or a deputy the organiser listed, at once;
anyone else only once the organiser confirms. The delegate never gets a vote the
participant did not have (a guest's delegate is a guest), and a seat taken in someone
else's place is not passed on again.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.meeting_helpers import people, published
from workflow import access
from workflow.documents.errors import NotAllowed, NotFound
from workflow.meetings.models import Attendance, Participant, ParticipantRole
from workflow.meetings.services.attendance import decide_delegation, respond, set_deputies
from workflow.meetings.services.schedule import add_participant
from workflow.meetings.services.session import start_meeting
from workflow.meetings.services.votes import cast_ballot, open_vote
from workflow.organisation.models import Role


def _guest(org, meeting):
    """The sibling district's leader, invited as a guest (no vote)."""
    cast = people(org)
    guest = org.person("district2", Role.LEADER)
    add_participant(cast["secretary"], meeting.pk, person=guest.pk,
                    role=ParticipantRole.GUEST)
    return guest


def _seat(meeting, user):
    return Participant.objects.filter(meeting=meeting, user=user).first()


@pytest.mark.django_db
def test_guest_cannot_hand_a_seat_to_anyone_with_a_vote(org):
    meeting = published(org)
    guest = _guest(org, meeting)
    stranger = org.person("commune2", Role.SPECIALIST)  # another unit, not listed
    seat = respond(guest, meeting.pk, answer="delegate", delegate_to=stranger.pk)
    # Crossing units: nothing yet, the organiser has to confirm.
    assert seat.delegation_requested == stranger and seat.attendance == Attendance.INVITED
    assert _seat(meeting, stranger) is None
    assert not access.can_meeting(stranger, "view", meeting)
    assert not any(access.can_read_paper(stranger, p) for p in meeting.papers.all())
    # The organiser confirms: a guest's seat, which has no vote.
    decide_delegation(meeting.secretary, meeting.pk, seat.pk, approve=True)
    taken = _seat(meeting, stranger)
    assert taken.role == ParticipantRole.GUEST and taken.delegate_of_id == seat.pk
    meeting = start_meeting(meeting.secretary, meeting.pk)
    access.forget(stranger)
    assert not access.can_meeting(stranger, "ballot", meeting)
    vote = open_vote(meeting.chair, meeting.pk, question="Thông qua kế hoạch?")
    with pytest.raises(NotAllowed):
        cast_ballot(stranger, vote.pk, "yes")


@pytest.mark.django_db
def test_same_unit_delegation_is_immediate_and_keeps_the_role(org):
    meeting = published(org)
    cast = people(org)
    colleague = cast["outsider"]  # province clerk, same unit as the province member
    seat = respond(cast["delegate"], meeting.pk, answer="delegate",
                   delegate_to=colleague.pk)
    assert seat.attendance == Attendance.DELEGATED and seat.delegation_requested is None
    assert _seat(meeting, colleague).role == ParticipantRole.DELEGATE
    # A guest's colleague (same unit as the guest) sits as a guest.
    guest = _guest(org, meeting)
    respond(guest, meeting.pk, answer="delegate",
            delegate_to=org.person("district2", Role.SPECIALIST).pk)
    assert _seat(meeting, org.person("district2", Role.SPECIALIST)).role == ParticipantRole.GUEST


@pytest.mark.django_db
def test_listed_deputy_of_another_unit_needs_no_confirmation(org):
    meeting = published(org)
    cast = people(org)
    deputy = org.person("commune2", Role.LEADER)
    seat = _seat(meeting, cast["commune_delegate"])
    set_deputies(cast["secretary"], seat.pk, user_ids=[deputy.pk])
    respond(cast["commune_delegate"], meeting.pk, answer="delegate",
            delegate_to=deputy.pk)
    assert _seat(meeting, deputy).role == ParticipantRole.DELEGATE
    # Only organisers list deputies.
    with pytest.raises((NotAllowed, NotFound)):
        set_deputies(cast["delegate"], seat.pk, user_ids=[cast["delegate"].pk])


@pytest.mark.django_db
def test_refusal_and_who_decides(org):
    meeting = published(org)
    cast = people(org)
    stranger = org.person("district2", Role.MEMBER)
    seat = respond(cast["delegate"], meeting.pk, answer="delegate",
                   delegate_to=stranger.pk)
    assert seat.delegation_requested == stranger
    # Neither the participant nor another delegate may confirm it.
    for who in (cast["delegate"], cast["delegate2"], stranger):
        with pytest.raises((NotAllowed, NotFound)):
            decide_delegation(who, meeting.pk, seat.pk, approve=True)
    decide_delegation(meeting.secretary, meeting.pk, seat.pk, approve=False)
    seat.refresh_from_db()
    assert seat.delegation_requested is None and seat.attendance == Attendance.INVITED
    assert _seat(meeting, stranger) is None


@pytest.mark.django_db
def test_a_taken_seat_is_not_passed_on(org):
    meeting = published(org)
    cast = people(org)
    respond(cast["delegate"], meeting.pk, answer="delegate",
            delegate_to=cast["outsider"].pk)
    with pytest.raises(NotAllowed):
        respond(cast["outsider"], meeting.pk, answer="delegate",
                delegate_to=org.person("province", Role.ADMIN).pk)


@pytest.mark.django_db
def test_through_the_meeting_page(org):
    meeting = published(org)
    guest = _guest(org, meeting)
    stranger = org.person("commune", Role.SPECIALIST)
    client = Client()
    client.force_login(guest)
    client.post(reverse("meetings:op", args=[meeting.pk, "respond"]),
                {"answer": "delegate", "delegate_to": stranger.pk})
    assert _seat(meeting, stranger) is None
    organiser = Client()
    organiser.force_login(meeting.secretary)
    page = organiser.get(reverse("meetings:detail", args=[meeting.pk])).content.decode()
    assert "Confirm the delegation" in page
    seat = _seat(meeting, guest)
    organiser.post(reverse("meetings:op", args=[meeting.pk, "delegation"]),
                   {"participant": seat.pk, "approve": "1"})
    assert _seat(meeting, stranger).role == ParticipantRole.GUEST
