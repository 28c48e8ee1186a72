"""Who may do what: the one place where access to documents is decided.

Every view, API endpoint, django-fsm transition guard, inbox query and search
filter asks this module. Decisions depend on the person's roles in units
(:class:`~workflow.organisation.models.Membership`), the document's unit and
its state.

The rules, in words:

* A draft is private to its drafter until it is submitted, and again once withdrawn.
* Whoever holds the role of the current review step (a head, a leader, or e.g. a
  clerk checking form) sees the document while it waits for them.
* In the document's own unit: leaders see everything submitted; a department
  head sees what their department drafted once submitted; the clerk sees what
  is approved onwards; everybody else with a role there sees what is issued.
* People in an ancestor unit and in recipient units see issued documents only.
* Confidential documents, once issued, stay with the leaders, the drafting
  department's head and the clerk of their unit, and the leaders and clerks of
  recipient units.
* Child and sibling units see nothing of another unit unless they are recipients.
* A unit merged into another counts as part of it, so its documents stay
  reachable after the 2025-style mergers.
* Participants of a published meeting read its approved papers, unless the paper's
  document is confidential: confidentiality wins, whenever it is set, and only the
  confidential readers above (and organisers or presiders who are among them) read it.

Where each rule lives (import from here, ``from workflow import access``, not from the
modules; the modules are the place to read and change a rule):

* :mod:`.core`: who a person is (:class:`Actor`, :func:`actor_for`, :func:`forget`) and
  the shared role/state groups;
* :mod:`.documents`: documents, their steps, the document filters and inboxes;
* :mod:`.meetings`: meetings, seats, delegation and meeting papers (the room state's rules);
* :mod:`.incoming`: incoming documents;
* :mod:`.oversight`: cases, recommendations, dashboards and drill-downs;
* :mod:`.registers`: signing delegations and the outgoing register;
* :mod:`.exchange`: deliveries, recall, replacement and edXML.

Dependencies run one way (``core`` ← everything else; ``oversight`` and ``exchange`` use
``documents``/``meetings``/``incoming``), except ``documents`` and ``meetings``, which call
each other through module imports (``meetings.can_read_paper`` asks ``documents.can_view``;
``documents.can_view`` asks ``meetings`` for the meetings hook).
"""

from __future__ import annotations

from workflow.access.core import (
    APPROVED_ONWARDS,
    DRAFTING_ROLES,
    SUBMITTED_ONWARDS,
    Actor,
    Grant,
    _merged_scope,
    actor_for,
    forget,
    prime_actors,
)
from workflow.access.documents import (
    CONFIDENTIAL_READERS,
    TRANSITIONS,
    Action,
    allowed_actions,
    can,
    can_create_in,
    can_retry_ocr,
    can_see_access_history,
    can_view,
    drafting_units,
    inbox,
    inbox_q,
    next_actors,
    visible_documents,
    visible_documents_q,
)
from workflow.access.exchange import (
    can_acknowledge_recall,
    can_export_edxml,
    can_import_edxml,
    can_recall,
    can_replace,
    can_resend,
    can_see_deliveries,
    recall_notices_waiting_q,
)
from workflow.access.incoming import (
    IncomingAction,
    can_incoming,
    incoming_inbox_q,
    receiving_units,
    visible_incoming_q,
)
from workflow.access.meetings import (
    MEETING_SCHEDULING_ROLES,
    Delegation,
    MeetingAction,
    MeetingStanding,
    _meeting_papers_q,
    _seen_by_participants,
    can_meeting,
    can_read_paper,
    can_schedule_meeting,
    decide_meeting,
    delegate_seat_role,
    delegation_rule,
    is_meeting_organiser,
    is_meeting_presider,
    meeting_seat,
    meeting_standing,
    room_paper_access,
    room_paper_rule,
    scheduling_units,
    visible_meetings,
    visible_meetings_q,
)
from workflow.access.oversight import (
    CASE_ACTIONS,
    can_case,
    case_units,
    dashboard_units,
    visible_cases_q,
    visible_records,
)
from workflow.access.registers import (
    can_manage_delegations,
    can_print_register,
    delegation_units,
    register_units,
)

__all__ = [
    "APPROVED_ONWARDS",
    "Action",
    "Actor",
    "CASE_ACTIONS",
    "CONFIDENTIAL_READERS",
    "DRAFTING_ROLES",
    "Delegation",
    "Grant",
    "IncomingAction",
    "MEETING_SCHEDULING_ROLES",
    "MeetingAction",
    "MeetingStanding",
    "SUBMITTED_ONWARDS",
    "TRANSITIONS",
    "_meeting_papers_q",
    "_merged_scope",
    "_seen_by_participants",
    "actor_for",
    "allowed_actions",
    "can",
    "can_acknowledge_recall",
    "can_case",
    "can_create_in",
    "can_export_edxml",
    "can_import_edxml",
    "can_incoming",
    "can_manage_delegations",
    "can_meeting",
    "can_print_register",
    "can_read_paper",
    "can_recall",
    "can_replace",
    "can_resend",
    "can_retry_ocr",
    "can_schedule_meeting",
    "can_see_access_history",
    "can_see_deliveries",
    "can_view",
    "case_units",
    "dashboard_units",
    "decide_meeting",
    "delegate_seat_role",
    "delegation_rule",
    "delegation_units",
    "drafting_units",
    "forget",
    "inbox",
    "inbox_q",
    "incoming_inbox_q",
    "is_meeting_organiser",
    "is_meeting_presider",
    "meeting_seat",
    "meeting_standing",
    "next_actors",
    "prime_actors",
    "recall_notices_waiting_q",
    "receiving_units",
    "register_units",
    "room_paper_access",
    "room_paper_rule",
    "scheduling_units",
    "visible_cases_q",
    "visible_documents",
    "visible_documents_q",
    "visible_incoming_q",
    "visible_meetings",
    "visible_meetings_q",
    "visible_records",
]


# --- case files and archive (issue #22) ---------------------------------------------------
# The rules live in workflow/records/access.py and build on visible_documents_q and
# visible_incoming_q; callers may still ask this package (resolved on first use, so
# neither module needs the other while loading).
CASE_FILE_RULES = ("FileAction", "can_case_file", "visible_case_files_q")


def __getattr__(name: str):
    if name in CASE_FILE_RULES:
        from workflow.records import access as case_files

        return getattr(case_files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
