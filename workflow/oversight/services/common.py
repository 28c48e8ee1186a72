"""Shared plumbing of the oversight services: bounded parsing of form values (dates, text, ids),
the unit and meeting a person may name, loading a case or recommendation with
``access.can_case``, the one FSM transition runner (permission, condition, audit), the
``expected_state`` check, the configured document type per step and case attachments. It may
call :mod:`workflow.access`, the audit log, upload checks and the oversight models; every other
module of this package builds on it and it imports none of them.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import TransitionNotAllowed, can_proceed, has_transition_perm

from workflow import access
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import DocumentType
from workflow.documents.uploads import check_upload
from workflow.inputs import date_value as _date
from workflow.organisation.models import Unit

from .. import conf
from ..models import (
    CaseFile,
    CritiqueCase,
    FileKind,
    Recommendation,
    SupervisionActivity,
    SupervisionCase,
)


def _text(value, label: str, *, required: bool = False, limit: int = 500) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(_("%(field)s is required.") % {"field": label})
    return text[:limit]


def _int_or_none(value, label: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("%(field)s must be a number.") % {"field": label}) from None
    if number <= 0:
        raise InvalidInput(_("%(field)s must be a number.") % {"field": label})
    return number


def _unit(user, unit) -> Unit:
    if not isinstance(unit, Unit):
        unit = Unit.objects.filter(pk=_int_or_none(unit, _("Unit"))).first()
    if unit is None or not access.case_units(user).filter(pk=unit.pk).exists():
        raise NotAllowed(_("You cannot open cases for this unit."))
    return unit


def _meeting(user, value):
    """A meeting the person may see, from an id typed in a form (or None)."""
    from workflow.meetings.models import Meeting

    if value in (None, ""):
        return None
    if isinstance(value, Meeting):
        meeting = value
    else:
        meeting = Meeting.objects.filter(pk=_int_or_none(value, _("Meeting"))).first()
    if meeting is None or not access.can_meeting(user, "view", meeting):
        raise InvalidInput(_("The meeting does not exist or you cannot see it."))
    return meeting


def _today(on=None) -> dt.date:
    return _date(on, _("Date")) or timezone.localdate()


def get_object(user, model: type[Model], pk, *, action: str = "view", lock: bool = False):
    """Load a case or recommendation the user may see (NotFound otherwise)."""
    qs = model.objects.select_related("unit")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        obj = qs.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("The record does not exist or you cannot see it.")) from None
    if not access.can_case(user, "view", obj):
        raise NotFound(_("The record does not exist or you cannot see it."))
    if action != "view" and not access.can_case(user, action, obj):
        raise NotAllowed()
    return obj


def _run(user, obj, method_name: str, *args, label: str = "", comment: str = "", **kwargs):
    """Apply one FSM transition with permission, condition and audit."""
    method = getattr(obj, method_name)
    state_field = "status" if isinstance(obj, Recommendation) else "state"
    before = getattr(obj, state_field)
    if user is not None and not has_transition_perm(method, user):
        if not access.can_case(user, "view", obj):
            raise NotFound(_("The record does not exist or you cannot see it."))
        if can_proceed(method, check_conditions=False):
            raise NotAllowed(_("You are not allowed to do this."))
        raise Conflict(_("This action is not possible in the current state (%(state)s).")
                       % {"state": getattr(obj, f"get_{state_field}_display")()})
    if not can_proceed(method):
        raise Conflict(_("This action is not possible in the current state (%(state)s).")
                       % {"state": getattr(obj, f"get_{state_field}_display")()})
    try:
        method(*args, **kwargs)
    except TransitionNotAllowed:
        raise Conflict() from None
    obj.save()
    record(obj, f"{obj._meta.model_name}.{label or method_name}", actor=user,
           from_state=before, to_state=getattr(obj, state_field), comment=comment)
    return obj


def _check_expected(obj, expected_state: str | None) -> None:
    state = obj.status if isinstance(obj, Recommendation) else obj.state
    if expected_state and state != expected_state:
        raise Conflict(_("This record has already moved on; your action was not applied again."))


def attach_file(user, target, *, upload, kind: str = FileKind.OTHER) -> CaseFile:
    """Store a checked attachment on a case, an activity or a recommendation."""
    if kind not in FileKind.values:
        raise InvalidInput(_("Unknown file kind."))
    owner = target.case if isinstance(target, SupervisionActivity) else target
    if not access.can_case(user, "work", owner):
        raise NotAllowed()
    checked = check_upload(upload, main=False)
    links = {
        CritiqueCase: "critique", SupervisionCase: "supervision",
        SupervisionActivity: "activity", Recommendation: "recommendation",
    }
    item = CaseFile(kind=kind, original_name=upload.name[:255], content_type=checked.content_type,
                    size=checked.size, sha256=checked.sha256, uploaded_by=user)
    setattr(item, links[type(target)], target)
    upload.seek(0)
    item.blob.save(upload.name, upload, save=False)
    try:
        with transaction.atomic():
            item.save()
            record(owner, "file.upload", actor=user, comment=f"{item.get_kind_display()}: "
                   f"{item.original_name}")
    except Exception:
        item.blob.delete(save=False)
        raise
    return item


def _document_type(role: str) -> DocumentType:
    code = conf.get("DOCUMENT_TYPES").get(role)
    dtype = DocumentType.objects.filter(code=code, is_active=True).first()
    if dtype is None:
        raise InvalidInput(
            _("The document type “%(code)s” for this step is not configured.") % {"code": code}
        )
    return dtype
