"""Signing capacity (thẩm quyền ký): Decree 30 Art. 13 and Appendix I §II.7b.

Who signs how:

* the head (Chủ tịch) signs on behalf of the standing board: ``TM. BAN THƯỜNG TRỰC`` /
  ``CHỦ TỊCH`` (Art. 13 §2, collective bodies);
* a deputy (Phó Chủ tịch) signs for the head: ``TM. BAN THƯỜNG TRỰC`` / ``KT. CHỦ TỊCH`` /
  ``PHÓ CHỦ TỊCH`` (Art. 13 §1–2);
* an acting head (Quyền Chủ tịch) signs ``TM. BAN THƯỜNG TRỰC`` / ``Q. CHỦ TỊCH``;
* by a written delegation with a period (:class:`~signing.models.SigningDelegation`):
  ``TL. CHỦ TỊCH`` (by order, Art. 13 §4) or ``TUQ. CHỦ TỊCH`` (by authorisation, §3)
  over the signer's own title; a delegation may also give KT. or Q. to someone whose
  position does not.

The position is read from the leader's membership title (``Membership.title``), which
the organisation data already holds ("Chủ tịch", "Phó Chủ tịch", "Quyền Chủ tịch"); an
empty title counts as the head, as the layout always did.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.documents.errors import InvalidInput

from .models import Capacity, SigningDelegation

COLLECTIVE = "BAN THƯỜNG TRỰC"
HEAD_TITLE = "CHỦ TỊCH"
HEAD, DEPUTY, ACTING, OTHER = "head", "deputy", "acting", "other"
# The order a signer's capacities are offered in; the first is the default.
ORDER = [Capacity.TM, Capacity.Q, Capacity.KT, Capacity.TUQ, Capacity.TL]
# Marks the capacity inside the signature's /Reason, so any copy of the PDF names it.
REASON_MARK = "thẩm quyền: "


class CapacityRefused(InvalidInput):
    """The signer holds no (valid) capacity for this document; nothing was signed."""


@dataclass(frozen=True)
class SigningCapacity:
    code: str
    authority: tuple[str, ...]  # the lines above the signer's own title
    title: str  # the signer's title line, upper case ("" for Q.)
    delegation_id: int | None = None

    @property
    def lines(self) -> list[str]:
        return [*self.authority, *([self.title] if self.title else [])]

    @property
    def label(self) -> str:
        """One line: "TM. BAN THƯỜNG TRỰC / KT. CHỦ TỊCH / PHÓ CHỦ TỊCH"."""
        return " / ".join(self.lines)

    @property
    def appearance_title(self) -> str:
        """The title written in the signature appearance ("Phó Chủ tịch")."""
        text = self.title or self.authority[-1]
        return text[:1] + text[1:].lower()


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").lower().split())


def position_of(title: str) -> str:
    folded = _fold(title)
    if not folded:
        return HEAD
    if folded.startswith("phó chủ tịch"):
        return DEPUTY
    if folded.startswith("quyền chủ tịch"):
        return ACTING
    if folded.startswith("chủ tịch"):
        return HEAD
    return OTHER


def _leader_title(user, unit) -> tuple[bool, str]:
    from workflow.organisation.models import Membership, Role

    membership = (Membership.objects.filter(user=user, unit=unit, role=Role.LEADER,
                                            is_active=True).order_by("pk").first())
    if membership is None:
        other = (Membership.objects.filter(user=user, unit=unit, is_active=True)
                 .exclude(title="").order_by("pk").first())
        return False, other.title if other else ""
    return True, membership.title


def _build(code: str, title: str, delegation_id: int | None = None) -> SigningCapacity:
    own = (title or "").upper()
    if code == Capacity.TM:
        return SigningCapacity(code, (f"TM. {COLLECTIVE}",), own or HEAD_TITLE)
    if code == Capacity.KT:
        return SigningCapacity(code, (f"TM. {COLLECTIVE}", f"KT. {HEAD_TITLE}"),
                               own or f"PHÓ {HEAD_TITLE}", delegation_id)
    if code == Capacity.Q:
        return SigningCapacity(code, (f"TM. {COLLECTIVE}", f"Q. {HEAD_TITLE}"), "",
                               delegation_id)
    return SigningCapacity(code, (f"{code}. {HEAD_TITLE}",), own, delegation_id)


def delegations_of(user, unit=None):
    qs = SigningDelegation.objects.filter(grantee=user, ended_at__isnull=True)
    return qs.filter(unit=unit) if unit is not None else qs


def _valid_on(on: dt.date) -> Q:
    return Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))


def _covers(delegation: SigningDelegation, document) -> bool:
    types = {t.pk for t in delegation.document_types.all()}
    return not types or document.document_type_id in types


def options_for(user, document, on: dt.date | None = None) -> list[SigningCapacity]:
    """Every capacity ``user`` holds for ``document`` on ``on`` (today), default first."""
    if user is None:
        return []
    on = on or timezone.localdate()
    is_leader, title = _leader_title(user, document.unit)
    found: dict[str, SigningCapacity] = {}
    if is_leader:
        position = position_of(title)
        by_position = {HEAD: Capacity.TM, DEPUTY: Capacity.KT, ACTING: Capacity.Q}
        if position in by_position:
            code = by_position[position]
            found[code] = _build(code, title if position != ACTING else "")
    valid = (delegations_of(user, document.unit).filter(_valid_on(on))
             .prefetch_related("document_types").order_by("-valid_from", "-pk"))
    for delegation in valid:
        if delegation.capacity not in found and _covers(delegation, document):
            found[delegation.capacity] = _build(delegation.capacity, title, delegation.pk)
    return [found[c] for c in ORDER if c in found]


def _why_not(user, document, code: str | None, on: dt.date) -> str:
    """The clearest reason a delegation does not let ``user`` sign ``document``."""
    delegations = list(delegations_of(user).filter(**({"capacity": code} if code else {}))
                       .select_related("unit").prefetch_related("document_types")
                       .order_by("-valid_from", "-pk"))
    label = f"{code}." if code else ""
    for d in delegations:
        if d.unit_id == document.unit_id and d.valid_from > on:
            return _("Your delegation to sign %(capacity)s starts on %(date)s.") % {
                "capacity": f"{d.capacity}.", "date": d.valid_from.strftime("%d/%m/%Y")}
        if d.unit_id == document.unit_id and d.valid_to and d.valid_to < on:
            return _("Your delegation to sign %(capacity)s ended on %(date)s; nothing was "
                     "signed.") % {"capacity": f"{d.capacity}.",
                                   "date": d.valid_to.strftime("%d/%m/%Y")}
        if d.unit_id == document.unit_id and not _covers(d, document):
            return _("Your delegation to sign %(capacity)s does not cover “%(type)s” "
                     "documents; nothing was signed.") % {
                "capacity": f"{d.capacity}.", "type": document.document_type.name}
    for d in delegations:
        if d.unit_id != document.unit_id:
            return _("Your delegation to sign %(capacity)s is for %(unit)s, not for "
                     "%(document_unit)s; nothing was signed.") % {
                "capacity": f"{d.capacity}.", "unit": d.unit.name,
                "document_unit": document.unit.name}
    if code:
        return _("You do not hold the signing capacity %(capacity)s for this document "
                 "(Decree 30, Art. 13); nothing was signed.") % {"capacity": label}
    return _("You hold no signing capacity for this document: your position is not head, "
             "deputy or acting head of %(unit)s and no valid delegation covers it "
             "(Decree 30, Art. 13); nothing was signed.") % {"unit": document.unit.name}


def resolve(user, document, code: str | None = None,
            on: dt.date | None = None) -> SigningCapacity:
    """The capacity ``user`` signs ``document`` in, or :class:`CapacityRefused`.

    ``code``: the one the signer chose (``None``: the default, the first they hold).
    """
    on = on or timezone.localdate()
    code = (code or "").strip().upper().rstrip(".") or None
    if code is not None and code not in Capacity.values:
        raise CapacityRefused(_("Unknown signing capacity."))
    options = options_for(user, document, on)
    for option in options:
        if code is None or option.code == code:
            return option
    raise CapacityRefused(_why_not(user, document, code, on))


def for_layout(document, signer) -> SigningCapacity:
    """What a preview shows before the signer chooses: their default capacity, or, when
    they hold none (signing would be refused), the head's block as before."""
    options = options_for(signer, document) if signer is not None else []
    if options:
        return options[0]
    _leader, title = _leader_title(signer, document.unit) if signer else (False, "")
    return _build(Capacity.TM, title)


def layout_key(layout) -> str:
    """A digest of everything printed besides the content (capacity, marks, recipients),
    so a rendered PDF is reused only when the page would be the same."""
    digest = hashlib.sha256()
    for value in sorted(vars(layout).items()):
        if value[0] != "body_html":
            digest.update(repr(value).encode("utf-8"))
    return digest.hexdigest()


def reason(base: str, capacity: SigningCapacity | None) -> str:
    return f"{base}; {REASON_MARK}{capacity.label}" if capacity else base


def from_reason(text: str | None) -> str:
    """The capacity stated in a signature's /Reason (``""`` when none is)."""
    text = str(text or "")
    index = text.find(REASON_MARK)
    return text[index + len(REASON_MARK):].strip()[:300] if index >= 0 else ""
