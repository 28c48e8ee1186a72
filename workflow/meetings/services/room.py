"""The meeting room state (what the poll returns), built in layers so that the moment the
secretary moves to the next item, when 150 delegates fetch it at once, costs little per person:
the shared part (agenda, papers, speakers, votes, attendance counts) built once per room
version and language and kept in the cache (and in each process's memory) under a key naming
the version; the person's pass (organiser or presider through their roles, papers they read on
their own document rights) kept per person for a minute under their access generation and the
papers' stamp; and per request the meeting and seat in one query (``load_room``), the person's
own ballots and rights and the signed paper links. Permissions stay in :mod:`workflow.access`;
this module only feeds it facts it already holds. It may call :mod:`.common`, :mod:`.poll` and
:mod:`.links`; see docs/architecture.md (the meeting room poll).
"""

from __future__ import annotations

import functools
import hashlib
import random
import threading
import time
from collections import defaultdict

from django.core.cache import cache
from django.db import connections, router
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import get_language

from workflow import access
from workflow.access import MeetingAction as A
from workflow.documents.errors import NotFound
from workflow.documents.models import (
    Document,
    DocumentFile,
    FileKind,
)
from workflow.documents.models import State as DocState
from workflow.inputs import is_id
from workflow.sqlrows import Converters, column_converters, from_row

from ..models import (
    Attendance,
    Ballot,
    Meeting,
    Paper,
    Participant,
    SpeakRequest,
    SpeakState,
    VoteState,
)
from .common import APPROVED_ONWARDS, get_meeting
from .links import _VERSION_ROWS, paper_link_token
from .poll import access_generation, room_poll_token


def forget_process_caches() -> None:
    """Drop what this process keeps in memory (tests, after restoring a database)."""
    _VERSION_ROWS.clear()
    _LOCAL_SHARED.clear()


def readable_papers(user, meeting: Meeting) -> list[Paper]:
    """Papers this person may open, in agenda order, with a handful of queries."""
    standing = access.meeting_standing(user, meeting)
    seat = access.meeting_seat(user, meeting)
    if not access.decide_meeting(A.VIEW, meeting, standing, seat):
        return []
    actor = access.actor_for(user)
    papers = (meeting.papers.select_related("document", "document__document_type",
                                            "document__unit", "item")
              .prefetch_related("restricted_to", "document__files__current_version")
              .order_by("item__order", "item_id", "order", "pk"))
    reads = access.room_paper_rule(standing, seat, meeting)
    result = []
    for paper in papers:
        ok = reads(paper.document.state in APPROVED_ONWARDS,
                   [u.pk for u in paper.restricted_to.all()], paper.document.confidential)
        if ok is None:
            ok = access.can_view(actor, paper.document)
        if ok:
            result.append(paper)
    return result


ROOM_CACHE_SECONDS = 120


ROOM_PASS_SECONDS = 60


def _room_key(meeting: Meeting) -> str:
    # created_at keeps keys apart if a database is ever rebuilt with the same ids.
    return f"meetings:room:{meeting.pk}:{meeting.created_at.timestamp():.6f}"


def _shared_room(meeting: Meeting) -> dict:
    """The part of the room state that is the same for everyone at one room version.

    Entries starting with ``_`` (who may read a paper, who voted what) stay on the
    server: :func:`room_state` picks from them for one person.
    """
    restricted = defaultdict(list)
    for paper_id, user_id in Paper.restricted_to.through.objects.filter(
            paper__meeting=meeting).values_list("paper_id", "user_id"):
        restricted[paper_id].append(user_id)
    papers_by_item: dict[int, list[dict]] = defaultdict(list)
    # Plain rows, not model instances: building ~160 objects (papers, documents, files,
    # versions) was most of the cost of a state that 150 people wait for.
    papers = list(meeting.papers.order_by("item__order", "item_id", "order", "pk").values_list(
        "pk", "item_id", "changed_after_publication", "document_id", "document__state",
        "document__subject", "document__symbol", "document__document_type__name",
        "document__updated_at", "document__confidential"))
    main: dict[int, tuple] = {}
    for doc_id, _kind, _file, *version in sorted(
            DocumentFile.objects.filter(document_id__in={p[3] for p in papers}).values_list(
                "document_id", "kind", "pk", "current_version_id",
                "current_version__original_name", "current_version__page_count",
                "current_version__content_type"),
            key=lambda row: (row[1] != FileKind.MAIN, row[2])):
        # The main file, else the first one: what paper_file_version() serves.
        main.setdefault(doc_id, tuple(version))
    labels = dict(DocState.choices)
    file_url = reverse("meetings:paper_file", args=[0])
    body_url = reverse("meetings:paper_body", args=[0])
    note_url = reverse("meetings:paper_note", args=[0])

    def url(pattern: str, pk: int) -> str:
        # One reverse() per kind instead of three per paper.
        return pattern.replace("/0/", f"/{pk}/", 1)

    stamp = [meeting.state, bool(meeting.published_at), meeting.chair_id,
             meeting.secretary_id, meeting.created_by_id, meeting.unit_id]
    for (pk, item_id, changed, doc_id, state, subject, symbol, type_name, updated,
         confidential) in papers:
        version_id, name, pages, content_type = main.get(doc_id, (None, "", None, ""))
        allowed = sorted(restricted.get(pk, []))
        stamp.append((pk, doc_id, state, updated.isoformat(), allowed, confidential))
        papers_by_item[item_id].append({
            "_document": doc_id,
            "_approved": state in APPROVED_ONWARDS,
            "_restricted": allowed,
            "_confidential": confidential,
            "_version": version_id,
            "public": {
                "id": pk,
                "title": subject,
                "symbol": symbol,
                "type": type_name,
                "state": str(labels.get(state, state)),
                "changed": changed,
                "file": (name or "") if version_id else "",
                "pages": pages if version_id else None,
                "is_pdf": bool(version_id and content_type == "application/pdf"),
                "view_url": url(file_url, pk) if version_id else url(body_url, pk),
                "download_url": url(file_url, pk) + "?download=1" if version_id else "",
                "note_url": url(note_url, pk),
            },
        })
    items = [{
        "id": item.pk,
        "order": item.order,
        "title": item.title,
        "presenter": item.presenter_label,
        "time": " – ".join(t.strftime("%H:%M") for t in (item.starts_at, item.ends_at) if t),
        "papers": papers_by_item.get(item.pk, []),
    } for item in meeting.items.select_related("presenter").order_by("order", "pk")]
    speakers = [{"id": s.pk, "name": str(s.user), "state": s.state, "user": s.user_id}
                for s in SpeakRequest.objects.filter(
                    meeting=meeting, state__in=[SpeakState.WAITING, SpeakState.SPEAKING]
                ).select_related("user").order_by("requested_at", "pk")]
    votes = []
    recent = list(meeting.votes.order_by("-opened_at", "-pk")[:20])
    ballots: dict[int, dict[int, str]] = defaultdict(dict)
    if recent:
        # Who voted, to tell each person whether they did; a secret ballot has no choice.
        for vote_id, voter_id, choice in Ballot.objects.filter(
                vote__in=recent).values_list("vote_id", "voter_id", "choice"):
            ballots[vote_id][voter_id] = choice
    for vote in recent:
        entry = {"id": vote.pk, "question": vote.question, "secret": vote.secret,
                 "state": vote.state, "item": vote.item_id, "cast": vote.cast_count,
                 "eligible": vote.eligible_count}
        if vote.state == VoteState.CLOSED:
            entry["result"] = {"yes": vote.yes_count, "no": vote.no_count,
                               "abstain": vote.abstain_count}
        votes.append({"public": entry, "_ballots": dict(ballots.get(vote.pk, {}))})
    counts = dict(meeting.participants.values_list("attendance").annotate(n=Count("pk")))
    return {
        "state": meeting.state,
        "state_label": str(meeting.get_state_display()),
        "current_item": meeting.current_item_id,
        "items": items,
        "speakers": speakers,
        "votes": votes,
        "attendance": {"checked_in": counts.get(Attendance.CHECKED_IN, 0),
                       "total": sum(counts.values())},
        "_stamp": hashlib.sha256(repr(stamp).encode()).hexdigest()[:24],
    }


# One builder per meeting and version at a time: when 150 polls miss together, the others
# wait for it instead of all building the same state (a lock per process, and a marker
# in the cache for the other processes).
_BUILD_LOCKS: dict[int, threading.Lock] = {}


_BUILD_LOCKS_GUARD = threading.Lock()


def _build_lock(meeting_id: int) -> threading.Lock:
    with _BUILD_LOCKS_GUARD:
        return _BUILD_LOCKS.setdefault(meeting_id, threading.Lock())


def _shared_key(meeting: Meeting) -> str:
    return f"{_room_key(meeting)}:v{meeting.room_version}:{get_language()}"


def _shared_room_cached(meeting: Meeting, cached: dict | None = None) -> dict:
    key = _shared_key(meeting)
    shared = cached.get(key) if cached is not None else cache.get(key)
    if shared is None:
        with _build_lock(meeting.pk):
            shared = cache.get(key)
            if shared is None and not cache.add(f"{key}:building", 1, 2):
                # Another process is building it: wait for that rather than build it too.
                deadline = time.monotonic() + 0.5
                while shared is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                    shared = cache.get(key)
            if shared is None:
                shared = _shared_room(meeting)
                cache.set(key, shared, ROOM_CACHE_SECONDS)
                cache.delete(f"{key}:building")
    return shared


# The shared parts this process used last, by cache key, with when they were fetched: a
# key names one room version, and the next 148 polls after a move skip fetching and
# unpickling it. Kept no longer than the shared cache keeps it (names shown in the room
# can change without a new version). Read-only once built; room_state copies what it
# changes.
_LOCAL_SHARED: dict[str, tuple[float, dict]] = {}


def _pass_key(meeting: Meeting, user_id: int, generation: int) -> str:
    return f"{_room_key(meeting)}:pass:{user_id}:{generation}"


def _room_pass(user, meeting: Meeting, shared: dict, seat) -> dict:
    """The person's standing and the papers they read on their own document rights.

    Built from their roles (``access``) for one ``stamp`` of the papers and one access
    generation (a membership, password or active flag saved through the ORM starts a
    new one: :func:`access_changed`); kept at most ROOM_PASS_SECONDS, which bounds
    changes made around the ORM (every action is checked afresh anyway).
    """
    standing = access.meeting_standing(user, meeting)
    reads = access.room_paper_rule(standing, seat, meeting)
    need = [p for item in shared["items"] for p in item["papers"]
            if reads(p["_approved"], p["_restricted"], p["_confidential"]) is None]
    own: list[int] = []
    if need:
        actor = access.actor_for(user)
        docs = Document.objects.select_related("unit").in_bulk({p["_document"] for p in need})
        own = [p["public"]["id"] for p in need
               if p["_document"] in docs and access.can_view(actor, docs[p["_document"]])]
    return {"stamp": shared["_stamp"], "seated": seat is not None,
            "organiser": standing.organiser, "presider": standing.presider, "own": own}


def room_state(user, meeting: Meeting, session_key: str | None = None) -> dict:
    """Everything the meeting room shows, for this person, at this room version.

    The caller has decided that the person may view the meeting. With the person's
    ``session_key`` the links to paper files carry a signed token (see
    :func:`paper_link_token`) so opening them needs no permission queries, and ``v``
    is the token of :func:`room_poll_token`.
    """
    shared_key = _shared_key(meeting)
    generation = access_generation(user.pk)
    pass_key = _pass_key(meeting, user.pk, generation)
    now = time.monotonic()
    local = _LOCAL_SHARED.get(shared_key)
    if local is None or now - local[0] >= ROOM_CACHE_SECONDS:
        cached = cache.get_many([shared_key, pass_key])
        shared = _shared_room_cached(meeting, cached)
        if len(_LOCAL_SHARED) >= 32:
            _LOCAL_SHARED.clear()
        _LOCAL_SHARED[shared_key] = (now, shared)
    else:
        shared = local[1]
        cached = {pass_key: cache.get(pass_key)}
    seat = access.meeting_seat(user, meeting)
    mine = cached.get(pass_key)
    if (mine is None or mine["stamp"] != shared["_stamp"]
            or mine["seated"] != (seat is not None)):
        mine = _room_pass(user, meeting, shared, seat)
        # Spread the renewals so that a full room does not renew on the same poll.
        cache.set(pass_key, mine, ROOM_PASS_SECONDS - random.randint(0, 15))  # noqa: S311
    standing = access.MeetingStanding(user_id=user.pk, organiser=mine["organiser"],
                                      presider=mine["presider"])
    own = set(mine["own"])
    reads = access.room_paper_rule(standing, seat, meeting)
    now = time.time()
    items = []
    for item in shared["items"]:
        papers = []
        for paper in item["papers"]:
            ok = reads(paper["_approved"], paper["_restricted"], paper["_confidential"])
            if not (ok or (ok is None and paper["public"]["id"] in own)):
                continue
            shown = paper["public"]
            if session_key and paper["_version"]:
                shown = dict(shown)
                token = paper_link_token(shown["id"], paper["_version"], session_key, now,
                                         user.pk)
                shown["view_url"] = f"{shown['view_url']}?t={token}"
            papers.append(shown)
        items.append({**item, "papers": papers})
    votes = []
    for vote in shared["votes"]:
        public = vote["public"]
        ballots = vote["_ballots"]
        votes.append({**public, "voted": user.pk in ballots,
                      "my_choice": "" if public["secret"] else ballots.get(user.pk, "")})
    speakers = [{"id": s["id"], "name": s["name"], "state": s["state"],
                 "mine": s["user"] == user.pk} for s in shared["speakers"]]
    checked_in = seat is not None and seat.attendance == Attendance.CHECKED_IN

    def may(action: str) -> bool:
        return access.decide_meeting(action, meeting, standing, seat)

    return {
        "v": room_poll_token(meeting.pk, meeting.room_version, user.pk, session_key,
                             generation),
        "state": shared["state"],
        "state_label": shared["state_label"],
        "current_item": shared["current_item"],
        "items": items,
        "speakers": speakers,
        "votes": votes,
        "attendance": shared["attendance"],
        "me": {
            "seat": seat.pk if seat else None,
            "attendance": seat.attendance if seat else "",
            "attendance_label": str(seat.get_attendance_display()) if seat else "",
            "can_check_in": may(A.CHECK_IN) and not checked_in,
            "can_speak": may(A.SPEAK),
            "can_vote": may(A.BALLOT) and checked_in,
            "can_run": may(A.RUN),
            "can_manage_votes": may(A.MANAGE_VOTES),
        },
    }


@functools.cache
def _load_room_plan(alias: str) -> tuple[str, list[str], Converters]:
    """The SQL for the meeting and one person's seat, the meeting's field names and the
    converters its columns need on this database.

    Written out once: the ORM spends more building this SQL than the database spends
    running it, and it runs for every full-state poll. Only quoted names from the
    models go into the text; the values are parameters.
    """
    connection = connections[alias]
    qn = connection.ops.quote_name
    meeting, seat = Meeting._meta, Participant._meta
    fields = meeting.concrete_fields

    def column(meta, name: str) -> str:
        return qn(meta.get_field(name).column)

    columns = ", ".join(f"m.{qn(f.column)}" for f in fields)
    sql = (f"SELECT {columns}, s.{column(seat, 'id')}, s.{column(seat, 'role')}, "  # noqa: S608
           f"s.{column(seat, 'attendance')} "
           f"FROM {qn(meeting.db_table)} m LEFT JOIN {qn(seat.db_table)} s "
           f"ON s.{column(seat, 'meeting')} = m.{column(meeting, 'id')} "
           f"AND s.{column(seat, 'user')} = %s WHERE m.{column(meeting, 'id')} = %s")
    return sql, [f.attname for f in fields], column_converters(connection, Meeting)


# The seat's columns load_room reads, as from_db wants them (attribute names, in order).
_SEAT_FIELDS = [Participant._meta.get_field(name).attname
                for name in ("id", "meeting", "user", "role", "attendance")]


_MAX_ID = 2**63 - 1


def load_room(user, pk) -> tuple[Meeting | None, bool]:
    """The meeting with the person's seat, in one query, for the poll.

    Returns ``(meeting, seen)``: ``seen`` is the quick decision that the person may
    view it as chair, secretary or seated participant of a published meeting, enough
    for :func:`room_state`; anything else goes through :func:`get_meeting` with the
    loaded meeting, which asks ``access``. The seat is primed in
    ``access.meeting_seat``'s cache so nothing loads it twice.
    """
    if not is_id(pk) or not getattr(user, "is_authenticated", False):
        return None, False
    if int(pk) > _MAX_ID:  # no such meeting; the database would refuse the number
        return None, False
    alias = router.db_for_read(Meeting)
    sql, names, converters = _load_room_plan(alias)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk, int(pk)])
        row = cursor.fetchone()
    if row is None:
        return None, False
    meeting = from_row(Meeting, alias, connection, list(row[:len(names)]), converters)
    seat_id, role, attendance = row[len(names):]
    seat = None
    if seat_id is not None:
        # Only what the room reads; any other field loads on first use.
        seat = Participant.from_db(alias, _SEAT_FIELDS,
                                   [seat_id, meeting.pk, user.pk, role, attendance])
        seat._state.fields_cache["meeting"] = meeting
    meeting.__dict__.setdefault("_seat_cache", {})[user.pk] = seat
    if user.pk in (meeting.chair_id, meeting.secretary_id, meeting.created_by_id):
        return meeting, True
    return meeting, seat is not None and access._seen_by_participants(meeting)


def paper_document_ids(user, meeting_id) -> list[int]:
    """Search hook: documents of one meeting this person may read (scope "this meeting")."""
    try:
        meeting = get_meeting(user, meeting_id)
    except NotFound:
        return []
    ids: list[int] = []
    for paper in readable_papers(user, meeting):
        ids.append(paper.document_id)
        ids.extend(paper.previous_documents)
    return ids
