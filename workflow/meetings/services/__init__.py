"""Domain operations on meetings: preparation, the room, the record and the follow-up.

Views, the REST API and management commands call the module that owns the operation. Each
one runs in a transaction, checks :func:`workflow.access.can_meeting`, writes an audit
record and bumps the meeting's ``room_version`` when an open meeting room must show the
change (the room polls that number).

Lock order, to stay free of deadlocks on PostgreSQL: a vote row before its meeting row;
otherwise the meeting row alone.

- :mod:`.common` loading with permission, room version bumps, form values, notices, transitions
- :mod:`.schedule` creating, editing, participants, publishing, cancelling, postponing
- :mod:`.agenda` agenda items
- :mod:`.papers` papers on the agenda, restrictions, readiness for approval
- :mod:`.attendance` answers, delegation, deputies, check-in
- :mod:`.session` starting, the current item, speakers, closing
- :mod:`.votes` votes and ballots
- :mod:`.records` minutes, conclusions, follow-up tasks
- :mod:`.notes` private notes on papers
- :mod:`.links` paper files and their signed links
- :mod:`.poll` room version cache, access generations, poll tokens (the 304)
- :mod:`.room` the room state in layers (shared part, person's pass, per request)
- :mod:`.paperless` the paperless measure per unit and level
"""
