"""Who may see and act on case files, file plans and handovers (Decree 30 Art. 28–31).

Kept in its own module (``workflow/access.py`` re-exports it): the rules only use the
document and incoming rules of ``workflow/access.py``, never the other way round.

The rules, in words:

* A case file belongs to a unit. Its leaders and clerks (văn thư) see every file of the
  unit; the person keeping a file sees it; the leaders of every unit above see it
  read-only (as for oversight cases).
* Anyone else with a role in the unit sees a file when they may see at least one document
  in it: access follows the documents inside.
* Whoever sees a file reads in its contents list only the documents they may see by the
  document rules (``visible_documents_q``, ``visible_incoming_q``), so a confidential
  document stays with its own readers inside any file.
* The unit's drafting roles (specialist, head, leader) and its clerk open files and file
  documents of the unit they may see into an open file; the keeper, the clerk or a leader
  closes it. Closed files take no more documents; reopening one is an administrator's
  act (the admin, with a reason, audited). Handed-over files are read-only for the unit.
* The clerk and the leaders of the unit keep the file plan (a leader approves it, Art. 28)
  and hand closed files over to the archive (Art. 30); they also see the appraisal list.
"""

from __future__ import annotations

from enum import StrEnum

from django.db.models import Exists, OuterRef, Q, QuerySet

from workflow import access as core
from workflow.access.oversight import _leader_paths, _leads_ancestor_of
from workflow.organisation.models import Role, Unit

KEEPER_ROLES = (Role.LEADER, Role.CLERK)
FILING_ROLES = (Role.SPECIALIST, Role.HEAD, Role.LEADER, Role.CLERK)


class FileAction(StrEnum):
    VIEW = "view"
    FILE = "file"  # add or remove documents
    EDIT = "edit"
    CLOSE = "close"
    HANDOVER = "handover"


def _actor(user) -> core.Actor:
    return core.actor_for(user)


def _leads_above(actor: core.Actor, unit: Unit) -> bool:
    return _leads_ancestor_of(actor, unit)


def visible_items_q(user, prefix: str = "") -> Q:
    """Items of a case file whose document the person may see (the contents list)."""
    from workflow.documents.models import Document
    from workflow.incoming.models import IncomingDocument

    documents = Document.objects.filter(core.visible_documents_q(user)).values("pk")
    incoming = IncomingDocument.objects.filter(core.visible_incoming_q(user)).values("pk")
    return (Q(**{f"{prefix}document_id__in": documents})
            | Q(**{f"{prefix}incoming_id__in": incoming}))


def visible_case_files_q(user) -> Q:
    """A filter for :class:`CaseFile` equal to ``can_case_file(user, "view", …)``."""
    from .models import CaseFileItem

    actor = _actor(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(unit_id__in=actor.scope(*KEEPER_ROLES)) | Q(responsible_id=actor.user_id)
    for path in _leader_paths(actor):
        q |= Q(unit__path__startswith=path) & ~Q(unit__path=path)
    members = actor.scope()
    if members:
        q |= Q(unit_id__in=members) & Exists(
            CaseFileItem.objects.filter(visible_items_q(user), case_file=OuterRef("pk")))
    return q


def visible_case_files(user) -> QuerySet:
    from .models import CaseFile

    return CaseFile.objects.filter(visible_case_files_q(user))


def can_case_file(user, action: str, case_file) -> bool:
    """Decide one action on one case file."""
    from .models import CaseState

    actor = _actor(user)
    if actor.user_id is None:
        return False
    unit_id = case_file.unit_id
    keeper = any(actor.has(role, unit_id) for role in KEEPER_ROLES)
    own = case_file.responsible_id == actor.user_id
    if not (keeper or own or _leads_above(actor, case_file.unit)):
        if not actor.any_role_in(unit_id):
            return False
        from .models import CaseFileItem

        if not CaseFileItem.objects.filter(visible_items_q(user), case_file=case_file).exists():
            return False
    match FileAction(action):
        case FileAction.VIEW:
            return True
        case FileAction.FILE | FileAction.EDIT:
            return case_file.state == CaseState.OPEN and (
                own or any(actor.has(role, unit_id) for role in FILING_ROLES))
        case FileAction.CLOSE:
            return case_file.state == CaseState.OPEN and (own or keeper)
        case FileAction.HANDOVER:
            return case_file.state == CaseState.CLOSED and actor.has(Role.CLERK, unit_id)
    return False


def can_reopen(user, case_file) -> bool:
    """Reopening a closed file is an administrator's act (Django admin), never the unit's."""
    from .models import CaseState

    return (case_file.state == CaseState.CLOSED and getattr(user, "is_active", False)
            and getattr(user, "is_staff", False)
            and user.has_perm("records.change_casefile"))


def filing_units(user) -> QuerySet[Unit]:
    """Units where the person opens case files and files documents."""
    actor = _actor(user)
    return Unit.objects.filter(pk__in=actor.scope(*FILING_ROLES), is_active=True)


def can_open_file(user, unit: Unit) -> bool:
    return unit.is_active and any(_actor(user).has(r, unit.pk) for r in FILING_ROLES)


def can_file_document(user, document) -> bool:
    """May the person put this outgoing document into a file (it must be issued)."""
    from workflow.documents.models import PUBLISHED_STATES

    actor = _actor(user)
    return (document.state in PUBLISHED_STATES and core.can_view(actor, document)
            and any(actor.has(r, document.unit_id) for r in FILING_ROLES))


def can_file_incoming(user, incoming) -> bool:
    """May the person put this incoming document into a file (it must be registered)."""
    from workflow.incoming.models import REGISTERED_ONWARDS

    actor = _actor(user)
    return (incoming.state in REGISTERED_ONWARDS
            and core.can_incoming(user, core.IncomingAction.VIEW, incoming)
            and any(actor.has(r, incoming.unit_id) for r in FILING_ROLES))


def plan_units(user) -> QuerySet[Unit]:
    """Units whose file plan the person keeps (clerks and leaders)."""
    return Unit.objects.filter(pk__in=_actor(user).scope(*KEEPER_ROLES), is_active=True)


def can_view_plan(user, plan) -> bool:
    actor = _actor(user)
    return actor.any_role_in(plan.unit_id) or _leads_above(actor, plan.unit)


def can_edit_plan(user, unit: Unit) -> bool:
    return unit.is_active and any(_actor(user).has(r, unit.pk) for r in KEEPER_ROLES)


def can_approve_plan(user, unit: Unit) -> bool:
    return _actor(user).has(Role.LEADER, unit.pk)


def visible_plans_q(user) -> Q:
    actor = _actor(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(unit_id__in=actor.scope())
    for path in _leader_paths(actor):
        q |= Q(unit__path__startswith=path)
    return q


def can_handover(user, unit: Unit) -> bool:
    return _actor(user).has(Role.CLERK, unit.pk)


def can_view_handover(user, handover) -> bool:
    actor = _actor(user)
    return (any(actor.has(r, handover.unit_id) for r in KEEPER_ROLES)
            or _leads_above(actor, handover.unit))


def can_download_package(user, handover) -> bool:
    """The archive ZIP: the unit's clerks and leaders only (it holds confidential documents)."""
    actor = _actor(user)
    return any(actor.has(r, handover.unit_id) for r in (Role.CLERK, Role.LEADER))


def handover_units(user) -> QuerySet[Unit]:
    """Units whose files the person may hand over: their clerks."""
    return Unit.objects.filter(pk__in=_actor(user).scope(Role.CLERK), is_active=True)


def visible_handovers_q(user) -> Q:
    actor = _actor(user)
    if actor.user_id is None:
        return Q(pk__in=[])
    q = Q(unit_id__in=actor.scope(*KEEPER_ROLES))
    for path in _leader_paths(actor):
        q |= Q(unit__path__startswith=path) & ~Q(unit__path=path)
    return q


def appraisal_units(user) -> QuerySet[Unit]:
    """Units whose files due for appraisal the person sees: clerks and leaders."""
    return Unit.objects.filter(pk__in=_actor(user).scope(*KEEPER_ROLES))
