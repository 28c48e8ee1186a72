"""What answers an unchanged poll: the room version kept in the cache for a second (forgotten on
every bump, now and again after commit), each person's access generation (a new one on any
change of their roles, password or active flag), and the poll token ``version.mac`` bound to
meeting, person, access generation, session, language and a 30-second period of the person's
own. ``room_token_current`` decides a 304 with no user, meeting or seat query. It imports no
other module of this package.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django.utils.translation import get_language

from workflow.inputs import is_id

from ..models import (
    Meeting,
)

_POLL_SALT = "workflow.meetings.room-poll"


@functools.lru_cache(maxsize=16)
def _derived_key(salt: str, secret: str) -> bytes:
    return hashlib.sha256((salt + secret).encode()).digest()


def _mac(salt: str, value: str) -> str:
    """``salted_hmac(salt, value, algorithm="sha256").hexdigest()``, minus re-deriving the key.

    A full-state poll signs one link per paper; deriving the key each time was a
    third of that cost.
    """
    return hmac.digest(_derived_key(salt, settings.SECRET_KEY), value.encode(),
                       "sha256").hex()


ROOM_VERSION_SECONDS = 1


def _access_key(user_id) -> str:
    return f"meetings:access:{user_id}"


def access_changed(user_id) -> None:
    """The person's roles, password or active flag changed: their room passes and poll
    tokens, which carry the access generation, no longer hold.

    Now, and again after commit: a poll in between may have built a pass from the rows
    as they were before the commit.
    """
    key = _access_key(user_id)
    cache.set(key, time.time_ns(), None)
    transaction.on_commit(lambda: cache.set(key, time.time_ns(), None))


def access_generation(user_id) -> int:
    return cache.get(_access_key(user_id)) or 0


# A poll token is good for the period it was made in and the next one, so at most a
# minute: whatever the access generation misses (a change made around the ORM, a cache
# that lost the key, a process with its own memory cache) shows within that time. Each
# person's periods start at their own second, so a full room does not renew at once.
POLL_TOKEN_SECONDS = 30


def _poll_period(user_id, now: float | None = None) -> int:
    offset = int(user_id) % POLL_TOKEN_SECONDS if is_id(user_id) else 0
    return (int(time.time() if now is None else now) + offset) // POLL_TOKEN_SECONDS


def room_poll_token(meeting_id: int, version: int, user_id, session_key: str | None,
                    generation: int, period: int | None = None) -> str:
    """What the person's next poll sends back: ``version.mac``.

    The MAC binds the version to the meeting, the person, their access generation, the
    session, the language and the period, so "unchanged" can be answered without
    loading the person or the meeting, nobody learns anything about a meeting they were
    never shown, and a person whose roles, password or active flag changed gets a full
    answer (or none) on the next poll, or within a minute when the change went around
    :func:`access_changed`.
    """
    if not session_key:
        return str(version)
    if period is None:
        period = _poll_period(user_id)
    mac = _mac(_POLL_SALT, f"{meeting_id}.{version}.{user_id}.{generation}.{session_key}."
                           f"{get_language()}.{period}")
    return f"{version}.{mac[:20]}"


def _version_key(meeting_id) -> str:
    return f"meetings:room-version:{meeting_id}"


def _room_changed(meeting_id: int) -> None:
    """Forget the cached room version now and again after commit.

    Now, for this process (and tests, which never commit); after commit, because a
    poll in between may have read the old version from the database and cached it.
    The cached version lives one second in any case, which bounds a stale one.
    """
    key = _version_key(meeting_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def current_room_version(meeting_id, cached: dict | None = None) -> int | None:
    """The room version, from the cache (≤ 1 s old) or the database; None: no meeting."""
    key = _version_key(meeting_id)
    version = cache.get(key) if cached is None else cached.get(key)
    if version is None:
        version = Meeting.objects.filter(pk=meeting_id).values_list(
            "room_version", flat=True).first()
        if version is None:
            return None
        # add, not set: never overwrite what a fresher reader has put there.
        cache.add(key, version, ROOM_VERSION_SECONDS)
    return version


def _token_version(token: str) -> int | None:
    head = token.split(".", 1)[0]
    return int(head) if head.isascii() and head.isdigit() and len(head) < 12 else None


def room_token_current(meeting_id, token: str, user_id, session_key: str | None,
                       version: int | None = None) -> bool:
    """Is this poll token the person's, for the room's current version?

    With ``version`` (already read by someone who checked access) only the MAC is
    checked; without, the version comes from :func:`current_room_version`, so a poll
    that changed nothing costs no query. The MAC is checked first: a forged token
    learns nothing, not even whether the meeting exists.
    """
    if not token or not session_key or user_id in (None, "") or len(token) > 40:
        return False
    seen = _token_version(token)
    if seen is None:
        return False
    # One round trip for the room version and the person's access generation.
    cached = cache.get_many([_version_key(meeting_id), _access_key(user_id)])
    generation = cached.get(_access_key(user_id)) or 0
    period = _poll_period(user_id)
    if not any(constant_time_compare(
            token, room_poll_token(meeting_id, seen, user_id, session_key, generation, p))
            for p in (period, period - 1)):
        return False
    return seen == (current_room_version(meeting_id, cached) if version is None else version)
