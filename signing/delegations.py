"""Written delegations to sign (Decree 30 Art. 13 §1, §3, §4): record and end them.

The head (Chủ tịch, or an acting head) of a unit authorises a person of the unit to sign
KT. (for the head), Q. (acting head), TUQ. (by authorisation: limited in time, Art. 13 §3)
or TL. (by order, §4) for some document types (none chosen: all) over a period. The
unit's leaders and administrators record and end them; every change is audited.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow import access
from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import DocumentType
from workflow.inputs import date_value as _as_date
from workflow.organisation.models import Membership, Role, Unit

from .capacity import ACTING, HEAD, position_of
from .models import Capacity, SigningDelegation

MAX_YEARS = 5
MAX_NOTE = 500


def heads_of(unit: Unit):
    """The people who may authorise: leaders of the unit whose position is head or acting."""
    rows = Membership.objects.filter(unit=unit, role=Role.LEADER, is_active=True)\
        .select_related("user").order_by("pk")
    return [m.user for m in rows if position_of(m.title) in (HEAD, ACTING)]


def members_of(unit: Unit):
    rows = Membership.objects.filter(unit=unit, is_active=True).select_related("user")\
        .order_by("user__full_name", "user__username")
    seen, people = set(), []
    for m in rows:
        if m.user_id not in seen:
            seen.add(m.user_id)
            people.append(m.user)
    return people




@transaction.atomic
def create_delegation(user, *, unit: Unit, grantor, grantee, capacity: str,
                      valid_from, valid_to=None, document_types=(), note: str = ""
                      ) -> SigningDelegation:
    if not access.can_manage_delegations(user, unit):
        raise NotAllowed(_("You cannot record signing delegations for this unit."))
    if capacity not in Capacity.values or capacity == Capacity.TM:
        raise InvalidInput(_("Choose the capacity: KT., Q., TUQ. or TL."))
    if grantor is None or grantor.pk not in {u.pk for u in heads_of(unit)}:
        raise InvalidInput(_("Only the head of the unit (Chủ tịch, or the acting head) gives "
                             "a delegation to sign (Decree 30, Art. 13)."))
    if grantee is None or grantee.pk not in {u.pk for u in members_of(unit)}:
        raise InvalidInput(_("The authorised person must belong to the unit."))
    if grantee.pk == grantor.pk:
        raise InvalidInput(_("A person cannot authorise themselves."))
    start = _as_date(valid_from, _("Valid from"))
    end = _as_date(valid_to, _("Valid until"))
    if start is None:
        raise InvalidInput(_("Give the date the delegation starts."))
    if capacity == Capacity.TUQ and end is None:
        raise InvalidInput(_("A delegation by authorisation (TUQ.) must be limited in time "
                             "(Decree 30, Art. 13 §3): give its end date."))
    if end is not None and end < start:
        raise InvalidInput(_("The end date is before the start date."))
    if end is not None and (end - start).days > 366 * MAX_YEARS:
        raise InvalidInput(_("A delegation lasts at most %(n)s years.") % {"n": MAX_YEARS})
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(_("The note is longer than %(n)s characters.") % {"n": MAX_NOTE})
    types = list(document_types or [])
    type_ids = {t.pk if isinstance(t, DocumentType) else int(t) for t in types}
    found = list(DocumentType.objects.filter(pk__in=type_ids))
    if len(found) != len(type_ids):
        raise InvalidInput(_("One of the document types does not exist."))
    delegation = SigningDelegation.objects.create(
        unit=unit, grantor=grantor, grantee=grantee, capacity=capacity, valid_from=start,
        valid_to=end, note=note, created_by=user)
    delegation.document_types.set(found)
    record(delegation, "signing.delegation.created", actor=user,
           comment=describe(delegation))
    return delegation


@transaction.atomic
def end_delegation(user, pk: int) -> SigningDelegation:
    delegation = SigningDelegation.objects.select_for_update().filter(pk=pk).first()
    if delegation is None or not access.can_manage_delegations(user, delegation.unit):
        raise NotFound()
    if delegation.ended_at is not None:
        raise Conflict(_("This delegation was already ended."))
    delegation.ended_at = timezone.now()
    delegation.ended_by = user
    delegation.save(update_fields=["ended_at", "ended_by"])
    record(delegation, "signing.delegation.ended", actor=user, comment=describe(delegation))
    return delegation


def describe(delegation: SigningDelegation) -> str:
    types = ", ".join(t.name for t in delegation.document_types.all()) or _("all types")
    end = delegation.valid_to.strftime("%d/%m/%Y") if delegation.valid_to else "…"
    return (f"{delegation.capacity}. {delegation.grantee} ← {delegation.grantor}; "
            f"{delegation.valid_from:%d/%m/%Y}–{end}; {types}")[:2000]


def listed(unit: Unit):
    return (SigningDelegation.objects.filter(unit=unit)
            .select_related("grantor", "grantee", "ended_by")
            .prefetch_related("document_types").order_by("ended_at", "-valid_from", "-pk"))
