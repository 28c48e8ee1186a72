"""Domain operations on file plans, case files and handovers (Decree 30 Art. 28–31).

Views, the admin and tasks call these and nothing else changes records. Each runs in one
transaction, asks :mod:`workflow.records.access`, writes an audit record and leaves slow
work (the archive package) to Celery after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from workflow.audit.services import record
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.documents.models import Document
from workflow.incoming.models import IncomingDocument
from workflow.inputs import is_id
from workflow.organisation.models import Unit, User

from . import access
from .access import FileAction
from .models import (
    CODE_MAX,
    HANDOVER_MIN_YEARS,
    NOTES_MAX,
    RETENTION_MAX_YEARS,
    TITLE_MAX,
    CaseFile,
    CaseFileItem,
    CaseState,
    FilePlan,
    FilePlanEntry,
    Handover,
    PackageStatus,
)

MAX_BULK = 200  # documents filed in one request


class NotFoundCaseFile(NotFound):
    default_message = gettext_lazy("The case file does not exist or you cannot see it.")


# --- checks -------------------------------------------------------------------------------


def _clean_code(code: str) -> str:
    code = (code or "").replace("\x00", "").strip()
    if not code:
        raise InvalidInput(_("Enter the file number and symbol."))
    if len(code) > CODE_MAX:
        raise InvalidInput(_("The file number and symbol has at most %(n)s characters.")
                           % {"n": CODE_MAX})
    return code


def _clean_title(title: str) -> str:
    title = (title or "").replace("\x00", "").strip()
    if not title:
        raise InvalidInput(_("Enter the file title."))
    if len(title) > TITLE_MAX:
        raise InvalidInput(_("The file title has at most %(n)s characters.") % {"n": TITLE_MAX})
    return title


def _clean_notes(notes: str) -> str:
    notes = (notes or "").replace("\x00", "").strip()
    if len(notes) > NOTES_MAX:
        raise InvalidInput(_("Notes have at most %(n)s characters.") % {"n": NOTES_MAX})
    return notes


def clean_retention(value) -> int | None:
    """Years from 1 to 100, or None (empty, "vĩnh viễn", "permanent") for permanent."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("", "vv", "vĩnh viễn", "vinh vien", "permanent"):
        return None
    try:
        years = int(text)
    except ValueError:
        raise InvalidInput(_("Retention is a number of years or empty for permanent.")) from None
    if not 1 <= years <= RETENTION_MAX_YEARS:
        raise InvalidInput(_("Retention is between 1 and %(n)s years, or permanent.")
                           % {"n": RETENTION_MAX_YEARS})
    return years


def clean_year(value) -> int:
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(_("Enter a year between 2000 and 2100.")) from None
    if not 2000 <= year <= 2100:
        raise InvalidInput(_("Enter a year between 2000 and 2100."))
    return year


def _unit_person(unit: Unit, user_id) -> User | None:
    if not user_id:
        return None
    person = User.objects.filter(pk=user_id, memberships__unit=unit,
                                 memberships__is_active=True, is_active=True).first()
    if person is None:
        raise InvalidInput(_("The person keeping the file must work in the unit."))
    return person


# --- file plans (danh mục hồ sơ, Art. 28) -------------------------------------------------


def visible_plans(user) -> QuerySet[FilePlan]:
    return FilePlan.objects.filter(access.visible_plans_q(user)).select_related("unit")


def get_plan(user, pk) -> FilePlan:
    try:
        plan = FilePlan.objects.select_related("unit").get(pk=pk)
    except (FilePlan.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("The file plan does not exist or you cannot see it.")) from None
    if not access.can_view_plan(user, plan):
        raise NotFound(_("The file plan does not exist or you cannot see it."))
    return plan


@transaction.atomic
def create_plan(user, unit: Unit, year, notes: str = "") -> FilePlan:
    if not access.can_edit_plan(user, unit):
        raise NotAllowed()
    year = clean_year(year)
    if FilePlan.objects.filter(unit=unit, year=year).exists():
        raise Conflict(_("The unit already has a file plan for %(year)s.") % {"year": year})
    plan = FilePlan.objects.create(unit=unit, year=year, notes=_clean_notes(notes),
                                   created_by=user)
    record(plan, "records.plan.created", actor=user, comment=str(year))
    return plan


def _editable_plan(user, plan_pk) -> FilePlan:
    plan = FilePlan.objects.select_for_update().select_related("unit").filter(pk=plan_pk).first()
    if plan is None or not access.can_view_plan(user, plan):
        raise NotFound(_("The file plan does not exist or you cannot see it."))
    if not access.can_edit_plan(user, plan.unit):
        raise NotAllowed()
    if plan.approved_at:
        raise Conflict(_("The file plan is approved; it can no longer be changed."))
    return plan


@transaction.atomic
def add_plan_entry(user, plan_pk, *, code: str, title: str, retention=None,
                   responsible_id=None, notes: str = "", heading: str = "") -> FilePlanEntry:
    plan = _editable_plan(user, plan_pk)
    code = _clean_code(code)
    if plan.entries.filter(code=code).exists():
        raise Conflict(_("The plan already has a file %(code)s.") % {"code": code})
    heading = (heading or "").replace("\x00", "").strip()[:200]
    order = (plan.entries.aggregate(m=Max("order"))["m"] or 0) + 1
    entry = FilePlanEntry.objects.create(
        plan=plan, code=code, title=_clean_title(title), retention_years=clean_retention(retention),
        responsible=_unit_person(plan.unit, responsible_id), notes=_clean_notes(notes),
        heading=heading, order=order)
    record(plan, "records.plan.entry_added", actor=user, comment=f"{code} {entry.title}")
    return entry


@transaction.atomic
def remove_plan_entry(user, plan_pk, entry_pk) -> None:
    plan = _editable_plan(user, plan_pk)
    entry = plan.entries.filter(pk=entry_pk).first()
    if entry is None:
        raise NotFound()
    record(plan, "records.plan.entry_removed", actor=user, comment=f"{entry.code} {entry.title}")
    entry.delete()


@transaction.atomic
def approve_plan(user, plan_pk) -> FilePlan:
    plan = FilePlan.objects.select_for_update().select_related("unit").filter(pk=plan_pk).first()
    if plan is None or not access.can_view_plan(user, plan):
        raise NotFound(_("The file plan does not exist or you cannot see it."))
    if not access.can_approve_plan(user, plan.unit):
        raise NotAllowed()
    if plan.approved_at:
        raise Conflict(_("The file plan is already approved."))
    if not plan.entries.exists():
        raise InvalidInput(_("An empty file plan cannot be approved."))
    plan.approved_by, plan.approved_at = user, timezone.now()
    plan.save(update_fields=["approved_by", "approved_at"])
    record(plan, "records.plan.approved", actor=user)
    return plan


@transaction.atomic
def copy_plan(user, unit: Unit, year) -> FilePlan:
    """The plan of ``year`` made from the previous year's in one step (codes, titles,
    retention, keepers and notes kept; the year changed). Refused when ``year`` has one."""
    if not access.can_edit_plan(user, unit):
        raise NotAllowed()
    year = clean_year(year)
    source = FilePlan.objects.filter(unit=unit, year=year - 1).first()
    if source is None:
        raise InvalidInput(_("There is no file plan for %(year)s to copy.") % {"year": year - 1})
    if FilePlan.objects.filter(unit=unit, year=year).exists():
        raise Conflict(_("The unit already has a file plan for %(year)s.") % {"year": year})
    try:
        with transaction.atomic():
            plan = FilePlan.objects.create(unit=unit, year=year, notes=source.notes,
                                           copied_from=source, created_by=user)
    except IntegrityError:  # a second click won the race
        raise Conflict(_("The unit already has a file plan for %(year)s.") % {"year": year}) \
            from None
    active = set(User.objects.filter(memberships__unit=unit, memberships__is_active=True,
                                     is_active=True).values_list("pk", flat=True))
    FilePlanEntry.objects.bulk_create([
        FilePlanEntry(plan=plan, heading=e.heading, code=e.code, title=e.title,
                      retention_years=e.retention_years,
                      responsible_id=e.responsible_id if e.responsible_id in active else None,
                      notes=e.notes, order=e.order)
        for e in source.entries.all()])
    record(plan, "records.plan.copied", actor=user, comment=str(source.year))
    return plan


# --- case files (hồ sơ, Art. 29) ----------------------------------------------------------


def visible(user) -> QuerySet[CaseFile]:
    return access.visible_case_files(user).select_related("unit", "responsible")


def get_case_file(user, pk, *, action: str = FileAction.VIEW, lock: bool = False) -> CaseFile:
    qs = CaseFile.objects.select_related("unit", "responsible", "plan_entry", "handover")
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        case_file = qs.get(pk=pk)
    except (CaseFile.DoesNotExist, ValueError, TypeError):
        raise NotFoundCaseFile() from None
    if not access.can_case_file(user, FileAction.VIEW, case_file):
        raise NotFoundCaseFile()
    if action != FileAction.VIEW and not access.can_case_file(user, action, case_file):
        if case_file.state == CaseState.ARCHIVED:
            raise NotAllowed(_("The file was handed over to the archive: it is read-only."))
        if case_file.state == CaseState.CLOSED and action in (FileAction.FILE, FileAction.EDIT):
            raise NotAllowed(_("The file is closed: it takes no more documents."))
        raise NotAllowed()
    return case_file


def contents(user, case_file: CaseFile) -> QuerySet[CaseFileItem]:
    """The contents list as ``user`` may read it: only documents they may see."""
    return (case_file.items.filter(access.visible_items_q(user))
            .select_related("document__document_type", "document__unit", "document__signer",
                            "incoming", "filed_by"))


@transaction.atomic
def open_case_file(user, unit: Unit, *, code: str, title: str, retention=None, year=None,
                   responsible_id=None, notes: str = "", plan_entry_id=None,
                   start_date: dt.date | None = None) -> CaseFile:
    """Open a file (Art. 29.2): from an entry of the unit's plan, or on its own (29.2c)."""
    if not access.can_open_file(user, unit):
        raise NotAllowed()
    entry = None
    if plan_entry_id:
        entry = FilePlanEntry.objects.select_related("plan").filter(
            pk=plan_entry_id, plan__unit=unit).first()
        if entry is None:
            raise InvalidInput(_("Choose an entry of this unit's file plan."))
        code = code or entry.code
        title = title or entry.title
        retention = entry.retention_years if retention in (None, "") else retention
        responsible_id = responsible_id or entry.responsible_id
        year = year or entry.plan.year
    today = timezone.localdate()
    year = clean_year(year or today.year)
    code = _clean_code(code)
    if CaseFile.objects.filter(unit=unit, year=year, code=code).exists():
        raise Conflict(_("The unit already has a file %(code)s in %(year)s.")
                       % {"code": code, "year": year})
    responsible = _unit_person(unit, responsible_id) or user
    try:
        with transaction.atomic():
            case_file = CaseFile.objects.create(
                unit=unit, year=year, code=code, title=_clean_title(title),
                retention_years=clean_retention(retention), plan_entry=entry,
                responsible=responsible, notes=_clean_notes(notes),
                start_date=start_date or today, created_by=user)
    except IntegrityError:
        raise Conflict(_("The unit already has a file %(code)s in %(year)s.")
                       % {"code": code, "year": year}) from None
    record(case_file, "records.file.created", actor=user, to_state=CaseState.OPEN,
           comment=f"{code} {case_file.title}")
    return case_file


@transaction.atomic
def edit_case_file(user, pk, *, title: str, code: str, retention=None, notes: str = ""
                   ) -> CaseFile:
    """Correct title, code and retention before closing (Art. 29.4b)."""
    case_file = get_case_file(user, pk, action=FileAction.EDIT, lock=True)
    code = _clean_code(code)
    if code != case_file.code and CaseFile.objects.filter(
            unit_id=case_file.unit_id, year=case_file.year, code=code).exists():
        raise Conflict(_("The unit already has a file %(code)s in %(year)s.")
                       % {"code": code, "year": case_file.year})
    case_file.title = _clean_title(title)
    case_file.code = code
    case_file.retention_years = clean_retention(retention)
    case_file.notes = _clean_notes(notes)
    case_file.save()
    record(case_file, "records.file.edited", actor=user, comment=f"{code} {case_file.title}")
    _reindex(case_file)
    return case_file


def _reindex(case_file: CaseFile, document_ids=(), incoming_ids=()) -> None:
    """Search carries each document's file codes: re-index what changed after commit."""
    from search.signals import reindex_keys_on_commit, reindex_on_commit

    if not document_ids and not incoming_ids:
        rows = list(case_file.items.values_list("document_id", "incoming_id"))
        document_ids = [d for d, _i in rows if d]
        incoming_ids = [i for _d, i in rows if i]
    reindex_on_commit(list(document_ids))
    reindex_keys_on_commit([f"incoming:{pk}" for pk in incoming_ids])


@transaction.atomic
def file_documents(user, pk, *, documents: Iterable = (), incoming: Iterable = ()) -> dict:
    """File outgoing and incoming documents into an open case file, one or in bulk.

    Documents already in the file are skipped; one the person may not file refuses the
    whole request (nothing is filed), so a bulk action never half-happens.
    Returns ``{"filed": n, "skipped": m}``.
    """
    case_file = get_case_file(user, pk, action=FileAction.FILE, lock=True)
    doc_ids = _ids(documents)
    inc_ids = _ids(incoming)
    if not doc_ids and not inc_ids:
        raise InvalidInput(_("Choose at least one document to file."))
    if len(doc_ids) + len(inc_ids) > MAX_BULK:
        raise InvalidInput(_("File at most %(n)s documents at once.") % {"n": MAX_BULK})
    from workflow.access import _merged_scope

    scope = _merged_scope({case_file.unit_id})[case_file.unit_id]
    docs = {d.pk: d for d in Document.objects.select_related("unit").filter(pk__in=doc_ids)}
    incs = {i.pk: i for i in IncomingDocument.objects.filter(pk__in=inc_ids)}
    for pk_ in doc_ids:
        document = docs.get(pk_)
        if document is None or not access.can_file_document(user, document) \
                or document.unit_id not in scope:
            raise InvalidInput(_("A chosen document cannot be filed here: only issued "
                                 "documents of the file's unit that you may see."))
    for pk_ in inc_ids:
        item = incs.get(pk_)
        if item is None or not access.can_file_incoming(user, item) or item.unit_id not in scope:
            raise InvalidInput(_("A chosen incoming document cannot be filed here: only "
                                 "registered documents of the file's unit that you may see."))
    present_docs = set(case_file.items.filter(document_id__in=doc_ids)
                       .values_list("document_id", flat=True))
    present_inc = set(case_file.items.filter(incoming_id__in=inc_ids)
                      .values_list("incoming_id", flat=True))
    ordinal = case_file.items.aggregate(m=Max("ordinal"))["m"] or 0
    filed = 0
    new_docs, new_inc = [], []
    # Outgoing and incoming documents are filed alike: (ids, rows, already in, item key,
    # label, ids filed).
    kinds = ((doc_ids, docs, present_docs, "document_id", lambda d: d.symbol, new_docs),
             (inc_ids, incs, present_inc, "incoming_id", lambda i: i.number_symbol, new_inc))
    for ids, rows, present, key, reference, filed_ids in kinds:
        for pk_ in ids:
            if pk_ in present:
                continue
            ordinal += 1
            CaseFileItem.objects.create(case_file=case_file, ordinal=ordinal, filed_by=user,
                                        **{key: pk_})
            label = reference(rows[pk_]) or rows[pk_].subject
            record(case_file, "records.file.filed", actor=user, comment=label[:200])
            record(rows[pk_], "records.document.filed", actor=user,
                   comment=f"{case_file.code} {case_file.title}"[:200])
            filed_ids.append(pk_)
    filed = len(new_docs) + len(new_inc)
    if filed:
        case_file.save(update_fields=["updated_at"])
        _reindex(case_file, new_docs, new_inc)
    return {"filed": filed, "skipped": len(doc_ids) + len(inc_ids) - filed}


def _ids(values: Iterable) -> list[int]:
    out: dict[int, None] = {}  # ordered, and membership in O(1) before the count is checked
    for value in values or ():
        if not is_id(str(value).strip()):
            raise InvalidInput(_("A chosen document cannot be filed here: only issued "
                                 "documents of the file's unit that you may see."))
        out[int(str(value).strip())] = None
        if len(out) > MAX_BULK:
            raise InvalidInput(_("File at most %(n)s documents at once.") % {"n": MAX_BULK})
    return list(out)


@transaction.atomic
def remove_item(user, pk, item_pk) -> None:
    """Take a document out of an open file (duplicates, drafts: Art. 29.4b)."""
    case_file = get_case_file(user, pk, action=FileAction.FILE, lock=True)
    item = case_file.items.filter(pk=item_pk).filter(access.visible_items_q(user)).first()
    if item is None:
        raise NotFound()
    target = item.target
    record(case_file, "records.file.unfiled", actor=user,
           comment=(getattr(target, "symbol", "") or getattr(target, "number_symbol", "")
                    or target.subject)[:200])
    document_ids = [item.document_id] if item.document_id else []
    incoming_ids = [item.incoming_id] if item.incoming_id else []
    item.delete()
    # Ordinals stay gapless: Appendix VI numbers the documents of a file in order.
    for index, rest in enumerate(case_file.items.order_by("ordinal"), start=1):
        if rest.ordinal != index:
            CaseFileItem.objects.filter(pk=rest.pk).update(ordinal=index)
    _reindex(case_file, document_ids, incoming_ids)


@transaction.atomic
def close_case_file(user, pk, *, expected_state: str | None = CaseState.OPEN,
                    retention=..., end_date: dt.date | None = None) -> CaseFile:
    """End the file (Art. 29.4): no more documents; its contents list is fixed."""
    case_file = get_case_file(user, pk, action=FileAction.VIEW, lock=True)
    if expected_state and case_file.state != expected_state:
        raise Conflict()
    if not access.can_case_file(user, FileAction.CLOSE, case_file):
        raise NotAllowed()
    if not case_file.items.exists():
        raise InvalidInput(_("An empty file cannot be closed: file its documents first."))
    if retention is not ...:
        case_file.retention_years = clean_retention(retention)
    today = timezone.localdate()
    end_date = end_date or today
    if end_date < case_file.start_date or end_date > today:
        raise InvalidInput(_("The end date lies between the start date and today."))
    case_file.state = CaseState.CLOSED
    case_file.end_date = end_date
    case_file.closed_at, case_file.closed_by = timezone.now(), user
    case_file.save()
    record(case_file, "records.file.closed", actor=user, from_state=CaseState.OPEN,
           to_state=CaseState.CLOSED,
           comment=str(case_file.items.count()))  # a count: worded by audit/labels.py
    return case_file


@transaction.atomic
def reopen_case_file(user, pk, *, reason: str) -> CaseFile:
    """An administrator reopens a closed file (never a handed-over one), with a reason."""
    case_file = CaseFile.objects.select_for_update().filter(pk=pk).first()
    if case_file is None:
        raise NotFoundCaseFile()
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for reopening the file."))
    if len(reason) > NOTES_MAX:
        raise InvalidInput(_("Notes have at most %(n)s characters.") % {"n": NOTES_MAX})
    if case_file.state == CaseState.ARCHIVED:
        raise NotAllowed(_("The file was handed over to the archive: it is read-only."))
    if not access.can_reopen(user, case_file):
        raise NotAllowed()
    case_file.state = CaseState.OPEN
    case_file.end_date = None
    case_file.closed_at = case_file.closed_by = None
    case_file.save()
    record(case_file, "records.file.reopened", actor=user, from_state=CaseState.CLOSED,
           to_state=CaseState.OPEN, comment=reason)
    return case_file


# --- handover to the archive (nộp lưu, Art. 30) -------------------------------------------


def handover_candidates(user, unit: Unit) -> QuerySet[CaseFile]:
    """Closed files of ``unit`` the clerk may hand over (kept five years or more)."""
    if not access.can_handover(user, unit):
        return CaseFile.objects.none()
    return (CaseFile.objects.filter(unit=unit, state=CaseState.CLOSED)
            .exclude(retention_years__lt=HANDOVER_MIN_YEARS)
            .select_related("responsible").order_by("year", "code"))


@transaction.atomic
def hand_over(user, unit: Unit, file_ids: Iterable, *, notes: str = "") -> Handover:
    """Hand closed files to the archive: they become read-only for the unit, and the
    archive package is built by Celery after commit."""
    if not access.can_handover(user, unit):
        raise NotAllowed()
    ids = _ids(file_ids)
    if not ids:
        raise InvalidInput(_("Choose at least one closed file to hand over."))
    if len(ids) > MAX_BULK:
        raise InvalidInput(_("Hand over at most %(n)s files at once.") % {"n": MAX_BULK})
    files = list(CaseFile.objects.select_for_update().filter(pk__in=ids, unit=unit)
                 .order_by("year", "code"))
    if len(files) != len(ids):
        raise InvalidInput(_("A chosen file does not belong to this unit."))
    for case_file in files:
        if case_file.state != CaseState.CLOSED:
            raise InvalidInput(_("File %(code)s is not closed: close it before handing it over.")
                               % {"code": case_file.code})
        if case_file.retention_years is not None \
                and case_file.retention_years < HANDOVER_MIN_YEARS:
            raise InvalidInput(_("File %(code)s is kept less than %(n)s years: it stays with "
                                 "the unit (Art. 31).") % {"code": case_file.code,
                                                             "n": HANDOVER_MIN_YEARS})
    handover = Handover.objects.create(unit=unit, created_by=user, notes=_clean_notes(notes))
    CaseFile.objects.filter(pk__in=[f.pk for f in files]).update(
        state=CaseState.ARCHIVED, handover=handover, updated_at=timezone.now())
    for case_file in files:
        record(case_file, "records.file.handed_over", actor=user, from_state=CaseState.CLOSED,
               to_state=CaseState.ARCHIVED)
    record(handover, "records.handover.created", actor=user, comment=str(len(files)))
    queue_package(handover.pk)
    return handover


def queue_package(handover_id: int) -> None:
    from .tasks import build_package

    transaction.on_commit(lambda: build_package.delay(handover_id))


def visible_handovers(user) -> QuerySet[Handover]:
    return Handover.objects.filter(access.visible_handovers_q(user)).select_related("unit")


def get_handover(user, pk) -> Handover:
    try:
        handover = Handover.objects.select_related("unit", "created_by").get(pk=pk)
    except (Handover.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("The handover does not exist or you cannot see it.")) from None
    if not access.can_view_handover(user, handover):
        raise NotFound(_("The handover does not exist or you cannot see it."))
    return handover


@transaction.atomic
def retry_package(user, pk) -> Handover:
    handover = get_handover(user, pk)
    if not access.can_handover(user, handover.unit):
        raise NotAllowed()
    if handover.status != PackageStatus.FAILED:
        raise Conflict(_("Only a failed package is built again."))
    Handover.objects.filter(pk=handover.pk).update(status=PackageStatus.PENDING, error="")
    record(handover, "records.handover.retried", actor=user)
    queue_package(handover.pk)
    handover.refresh_from_db()
    return handover


# --- appraisal (hết thời hạn bảo quản) ----------------------------------------------------


def due_for_appraisal(user, today: dt.date | None = None) -> QuerySet[CaseFile]:
    """Closed or handed-over files whose retention period has ended by ``today``.

    The period runs from 1 January of the year after the file ended; permanent files
    never appear.
    """
    today = today or timezone.localdate()
    return (CaseFile.objects.filter(unit__in=access.appraisal_units(user),
                                    state__in=[CaseState.CLOSED, CaseState.ARCHIVED],
                                    retention_years__isnull=False, end_date__isnull=False)
            .annotate(due_year=ExtractYear("end_date") + F("retention_years") + 1)
            .filter(due_year__lte=today.year)
            .select_related("unit", "responsible").order_by("due_year", "unit", "code"))
