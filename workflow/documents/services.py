"""Domain operations on outgoing documents.

Views, the REST API and management commands call these functions and nothing
else changes documents. Each operation runs in one transaction, checks access
through :mod:`workflow.access`, writes an audit record, and hands follow-up
work (indexing, signing pipelines) to ``transaction.on_commit``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import nh3
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed, has_transition_perm

from workflow import access
from workflow.access import Action
from workflow.audit.services import record
from workflow.organisation.models import Department, Role, Unit

from . import html_limits, numbering
from .errors import Conflict, InvalidInput, NotAllowed, NotFound
from .models import (
    OPEN_STATES,
    Comment,
    Document,
    DocumentFile,
    DocumentRecipient,
    DocumentType,
    FileKind,
    FileVersion,
    Priority,
    ReviewRule,
    Secrecy,
    State,
)
from .uploads import check_upload

# Sent after commit whenever a document's content or state changes; the search
# indexer listens to it. Arguments: document_id, reason.
document_changed = Signal()

DEFAULT_REVIEW_STEPS = [Role.HEAD]
ALLOWED_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "s", "ul", "ol", "li", "table", "thead",
    "tbody", "tr", "th", "td", "h1", "h2", "h3", "h4", "blockquote", "span", "div", "sup", "sub",
}


_LENGTH = r"(?:0|\d{1,4}(?:\.\d{1,3})?(?:px|pt|em|rem|cm|mm|%))"
# The style properties the editor writes (alignment, emphasis, indentation, table widths),
# each with the values it may take. Anything else (position, background, content, url(),
# expression(), @import, escapes, !important) is dropped: a style attribute could otherwise
# lay an overlay over the page or make every reader's browser fetch an outside address.
ALLOWED_STYLES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "text-align": r"left|right|center|justify",
        "font-weight": r"normal|bold|bolder|lighter|[1-9]00",
        "font-style": r"normal|italic|oblique",
        "text-decoration": r"(?:none|underline|line-through|overline)"
                           r"(?:\s+(?:underline|line-through|overline))*",
        "text-decoration-line": r"(?:none|underline|line-through|overline)"
                                r"(?:\s+(?:underline|line-through|overline))*",
        "margin-left": _LENGTH,
        "padding-left": _LENGTH,
        "text-indent": _LENGTH,
        "vertical-align": r"top|middle|bottom|baseline|sub|super",
        "width": _LENGTH,
        "border-collapse": r"collapse|separate",
    }.items()
}


def _clean_style(value: str) -> str | None:
    kept = []
    for declaration in value.split(";"):
        name, sep, val = declaration.partition(":")
        name, val = name.strip().lower(), val.strip()
        pattern = ALLOWED_STYLES.get(name)
        if sep and pattern is not None and pattern.fullmatch(val):
            kept.append(f"{name}: {val}")
    return "; ".join(kept) or None


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return _clean_style(value)
    return value


def clean_html(html: str) -> str:
    """Keep formatting tags only; scripts, event handlers and unsafe styles are dropped.

    The body's size and nesting are bounded first (``html_limits.check_body`` raises
    ``InvalidInput``): nh3's time grows with the square of the nesting depth.
    """
    html_limits.check_body(html or "")
    return nh3.clean(
        html or "", tags=ALLOWED_TAGS, attributes={"*": {"style"}, "td": {"colspan", "rowspan"}},
        # Two layers: our value check, then nh3's own CSS parser keeps only these names.
        attribute_filter=_attribute_filter, filter_style_properties=set(ALLOWED_STYLES),
    )


def _changed(document: Document, reason: str) -> None:
    doc_id = document.pk
    transaction.on_commit(
        lambda: document_changed.send(sender=Document, document_id=doc_id, reason=reason)
    )


def remember_confidential(sender, instance: Document, **kwargs) -> None:
    """post_init: what the row held, to tell when confidentiality changes on save."""
    instance._confidential_loaded = instance.__dict__.get("confidential")


def confidential_saved(sender, instance: Document, created: bool, **kwargs) -> None:
    """post_save: confidentiality set or lifted by any path (service, admin, shell).

    It changes who may read the document without changing its content, so search
    re-indexes it (ACL tokens) and meeting rooms holding it as a paper refresh: the
    ``document_changed`` listeners do both after commit.
    """
    loaded = getattr(instance, "_confidential_loaded", None)
    if not created and loaded is not None and loaded != instance.confidential:
        _changed(instance, "confidential")
    instance._confidential_loaded = instance.confidential


def get_for(user, pk, *, action: str = Action.VIEW, lock: bool = False) -> Document:
    """Load a document the user may see (404 otherwise), optionally locked."""
    qs = Document.objects.select_related(
        "unit", "document_type", "drafting_department", "drafter"
    )
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        document = qs.get(pk=pk)
    except (Document.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if not access.can(user, Action.VIEW, document):
        raise NotFound()
    if action != Action.VIEW and not access.can(user, action, document):
        raise NotAllowed()
    return document


def review_steps_for(document_type: DocumentType, unit: Unit) -> list[str]:
    """The configured review steps; the most specific rule wins."""
    ancestors = unit.ancestor_ids()[::-1]
    candidates = [(document_type.pk, unit.pk)]
    candidates += [(document_type.pk, a) for a in ancestors]
    candidates += [(document_type.pk, None), (None, unit.pk)]
    candidates += [(None, a) for a in ancestors]
    candidates += [(None, None)]
    # ``document_type__in=[t, None]`` would drop the None (SQL ``IN`` never matches
    # NULL), silently ignoring "any type" rules: ask for NULL explicitly.
    rules = {
        (r.document_type_id, r.unit_id): r.steps
        for r in ReviewRule.objects.filter(
            Q(document_type=document_type) | Q(document_type__isnull=True),
            Q(unit_id__in=[unit.pk, *ancestors]) | Q(unit__isnull=True),
        )
    }
    for key in candidates:
        if key in rules:
            return list(rules[key])
    return list(DEFAULT_REVIEW_STEPS)


def _validate_fields(unit: Unit, data: dict) -> dict:
    cleaned: dict = {}
    if "subject" in data:
        subject = (data["subject"] or "").strip()
        if not subject:
            raise InvalidInput(_("The subject (trích yếu) is required."))
        cleaned["subject"] = subject[:500]
    if "body" in data:
        cleaned["body"] = clean_html(data["body"] or "")
    if "document_type" in data:
        dtype = data["document_type"]
        if not isinstance(dtype, DocumentType):
            dtype = DocumentType.objects.filter(pk=dtype, is_active=True).first()
        if dtype is None:
            raise InvalidInput(_("Choose a document type."))
        cleaned["document_type"] = dtype
    if "drafting_department" in data:
        dept = data["drafting_department"]
        if dept is not None and not isinstance(dept, Department):
            dept = Department.objects.filter(pk=dept).first()
        if dept is not None and dept.unit_id != unit.pk:
            raise InvalidInput(_("The drafting department must belong to the issuing unit."))
        cleaned["drafting_department"] = dept
    if "priority" in data:
        if data["priority"] not in Priority.values:
            raise InvalidInput(_("Unknown priority."))
        cleaned["priority"] = data["priority"]
    if "due_date" in data:
        due = data["due_date"]
        if isinstance(due, str):
            try:
                due = dt.date.fromisoformat(due) if due else None
            except ValueError:
                raise InvalidInput(_("The due date is not a valid date.")) from None
        cleaned["due_date"] = due
    if "confidential" in data:
        cleaned["confidential"] = bool(data["confidential"])
    if "secrecy" in data:
        if (data["secrecy"] or "") not in Secrecy.values:
            raise InvalidInput(_("Unknown confidentiality level."))
        cleaned["secrecy"] = data["secrecy"] or ""
        if cleaned["secrecy"]:
            cleaned["confidential"] = True
    if "external_recipients" in data:
        cleaned["external_recipients"] = (data["external_recipients"] or "").strip()
    return cleaned


def _set_recipients(document: Document, unit_ids: Iterable[int]) -> None:
    ids = {int(u) for u in unit_ids if str(u).strip()}
    found = set(Unit.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if found != ids:
        raise InvalidInput(_("One of the recipient units does not exist."))
    DocumentRecipient.objects.filter(document=document).exclude(unit_id__in=ids).delete()
    existing = set(document.recipients.values_list("unit_id", flat=True))
    DocumentRecipient.objects.bulk_create(
        [DocumentRecipient(document=document, unit_id=u) for u in ids - existing]
    )


@transaction.atomic
def create_document(user, *, unit: Unit, data: dict, recipient_unit_ids=()) -> Document:
    if not access.can_create_in(user, unit):
        raise NotAllowed(_("You cannot draft documents for this unit."))
    required = {"subject": data.get("subject"), "document_type": data.get("document_type")}
    cleaned = _validate_fields(unit, {**data, **required})
    if "drafting_department" not in cleaned:
        membership = user.memberships.filter(
            unit=unit, is_active=True, department__isnull=False
        ).first()
        cleaned["drafting_department"] = membership.department if membership else None
    document = Document.objects.create(unit=unit, drafter=user, **cleaned)
    _set_recipients(document, recipient_unit_ids)
    record(document, "document.create", actor=user, to_state=document.state,
           version_hash=document.content_hash())
    _changed(document, "create")
    return document


@transaction.atomic
def update_document(
    user, pk, *, data: dict, expected_version: int | None = None, recipient_unit_ids=None
) -> Document:
    document = get_for(user, pk, action=Action.EDIT, lock=True)
    if expected_version is not None and int(expected_version) != document.edit_version:
        raise Conflict()
    cleaned = _validate_fields(document.unit, data)
    for name, value in cleaned.items():
        setattr(document, name, value)
    document.edit_version += 1
    document.save()
    if recipient_unit_ids is not None:
        _set_recipients(document, recipient_unit_ids)
    record(document, "document.edit", actor=user, from_state=document.state,
           to_state=document.state, version_hash=document.content_hash())
    _changed(document, "edit")
    return document


def add_file(user, pk, *, upload, kind: str = FileKind.ATTACHMENT, file_id=None) -> FileVersion:
    """Store a new file, or a new version of an existing one; earlier versions stay."""
    if kind not in FileKind.values:
        raise InvalidInput(_("Unknown file kind."))
    # Validate before taking locks: a damaged 50 MB PDF should not hold the row.
    checked = check_upload(upload, main=(kind == FileKind.MAIN))
    stored: list[FileVersion] = []
    try:
        with transaction.atomic():
            document = get_for(user, pk, action=Action.EDIT, lock=True)
            if file_id:
                file = DocumentFile.objects.filter(document=document, pk=file_id).first()
                if file is None:
                    raise NotFound(_("The file does not exist."))
            elif kind == FileKind.MAIN:
                file = document.files.filter(kind=FileKind.MAIN).first()
                if file is None:
                    file = DocumentFile.objects.create(
                        document=document, kind=kind, name=upload.name
                    )
            else:
                file = DocumentFile.objects.create(document=document, kind=kind, name=upload.name)
            last = file.versions.order_by("-number").values_list("number", flat=True).first() or 0
            version = FileVersion(
                file=file,
                number=last + 1,
                original_name=upload.name[:255],
                content_type=checked.content_type,
                size=checked.size,
                sha256=checked.sha256,
                page_count=checked.page_count,
                uploaded_by=user,
            )
            upload.seek(0)
            version.blob.save(upload.name, upload, save=False)
            stored.append(version)
            version.save()
            file.current_version = version
            file.name = upload.name[:255]
            file.save(update_fields=["current_version", "name"])
            document.edit_version += 1
            document.save(update_fields=["edit_version", "updated_at"])
            record(document, "file.upload", actor=user, from_state=document.state,
                   to_state=document.state,
                   comment=f"{file.get_kind_display()}: {upload.name} v{version.number}",
                   version_hash=document.content_hash())
            _changed(document, "file")
            return version
    except Exception:
        # The database rolled back; do not leave an orphan blob on disk.
        for version in stored:
            version.blob.delete(save=False)
        raise


@transaction.atomic
def add_comment(user, pk, *, text: str) -> Comment:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Write a comment first."))
    document = get_for(user, pk, action=Action.COMMENT)
    comment = Comment.objects.create(document=document, author=user, text=text[:5000],
                                     state=document.state)
    record(document, "document.comment", actor=user, from_state=document.state,
           to_state=document.state, comment=text[:5000])
    from workflow.notifications.events import document_comment

    document_comment(document, comment, user)
    _changed(document, "comment")
    return comment


def _skip_own_steps(steps: list[str], user, document: Document) -> list[str]:
    """Nobody reviews their own draft: steps the drafter holds are skipped."""
    actor = access.actor_for(user)
    kept = []
    for role in steps:
        if role == Role.HEAD and actor.is_head_for(document):
            continue
        if role != Role.HEAD and actor.has(role, document.unit_id):
            continue
        kept.append(role)
    return kept


REQUIRES_REASON = {Action.RETURN, Action.WITHDRAW}


def transition(
    user,
    pk,
    action: str,
    *,
    comment: str = "",
    expected_state: str | None = None,
    signed_at: dt.datetime | None = None,
) -> Document:
    """Apply one approval-flow action, exactly once.

    ``expected_state`` is the state the person saw when they clicked: a second
    click, or a click racing another reviewer, finds the state moved on and is
    refused with a clear message instead of acting twice.
    """
    try:
        action = Action(action)
    except ValueError:
        raise InvalidInput(_("Unknown action.")) from None
    if action not in access.TRANSITIONS:
        raise InvalidInput(_("Unknown action."))
    comment = (comment or "").strip()
    if action in REQUIRES_REASON and not comment:
        raise InvalidInput(_("Give a reason."))
    try:
        with transaction.atomic():
            document = get_for(user, pk, lock=True)
            if expected_state and document.state != expected_state:
                raise Conflict(
                    _("This document is already “%(state)s”; your action was not applied again.")
                    % {"state": document.get_state_display()}
                )
            before = document.state
            method = {
                Action.SUBMIT: document.submit,
                Action.FORWARD: document.forward,
                Action.RETURN: document.send_back,
                Action.APPROVE: document.approve,
                Action.SIGN: document.sign,
                Action.ISSUE: document.issue,
                Action.ARCHIVE: document.archive,
                Action.WITHDRAW: document.withdraw,
            }[action]
            if not has_transition_perm(method, user):
                raise NotAllowed(
                    _("You cannot “%(action)s” this document in its current state.")
                    % {"action": action_label(action)}
                )
            now = timezone.now()
            if action == Action.SUBMIT:
                if not document.subject.strip():
                    raise InvalidInput(_("The subject (trích yếu) is required."))
                if not document.body.strip() and not document.files.filter(
                    kind=FileKind.MAIN
                ).exists():
                    raise InvalidInput(
                        _("Write the body or upload the main file before submitting.")
                    )
                steps = review_steps_for(document.document_type, document.unit)
                method(_skip_own_steps(steps, user, document))
            elif action == Action.APPROVE:
                method(user)
            elif action == Action.SIGN:
                if document.content_hash() != document.approved_hash:
                    raise Conflict(_("The document changed after approval; it cannot be signed."))
                method(signed_at or now)
            elif action == Action.ISSUE:
                entry = numbering.assign_number(document, now)
                method(number=entry.number, symbol=entry.symbol, at=now)
            else:
                method()
            document.save()
            entry = record(document, f"document.{action.value}", actor=user, from_state=before,
                           to_state=document.state, comment=comment,
                           version_hash=document.content_hash())
            # Tell whoever must act now (rows in this transaction, e-mail after commit).
            from workflow.notifications.events import document_transition

            document_transition(document, action.value, user, comment=comment, entry=entry)
            if comment and action not in REQUIRES_REASON:
                Comment.objects.create(document=document, author=user, text=comment,
                                       state=before)
            _changed(document, action.value)
            return document
    except (TransitionNotAllowed, ConcurrentTransition):
        raise Conflict() from None


def action_label(action: str) -> str:
    labels = {
        Action.SUBMIT: _("Submit"),
        Action.FORWARD: _("Forward"),
        Action.RETURN: _("Return"),
        Action.APPROVE: _("Approve"),
        Action.SIGN: _("Sign"),
        Action.ISSUE: _("Number and issue"),
        Action.ARCHIVE: _("Archive"),
        Action.WITHDRAW: _("Withdraw"),
    }
    return str(labels.get(action, action))


def next_step_note(pk: int) -> str:
    """Who acts next on a document, in words, for the message after an action."""
    document = Document.objects.select_related("unit").filter(pk=pk).first()
    if document is None or document.state in (State.ISSUED, State.ARCHIVED, State.WITHDRAWN):
        return ""
    people = access.next_actors(document)
    if not people:
        return ""
    names = ", ".join(str(p) for p in people)
    waiting = {
        State.RETURNED: _("Now with %(names)s to revise."),
        State.SUBMITTED: _("Now waiting for review by %(names)s."),
        State.REVIEWED: _("Now waiting for approval by %(names)s."),
        State.APPROVED: _("Now waiting for the signature of %(names)s."),
        State.SIGNED: _("Now waiting for %(names)s (clerk) to number and issue it."),
    }.get(document.state)
    return str(waiting) % {"names": names} if waiting else ""


def available_transitions(user, document: Document) -> list[str]:
    return [a.value for a in access.TRANSITIONS if access.can(user, a, document)]


def is_open(document: Document) -> bool:
    return document.state in OPEN_STATES


# Other apps can take over an action (e.g. signing turns "sign" and "issue" into
# PDF work around the transition). They register here in AppConfig.ready(); a
# handler has the signature of :func:`transition` and must call it itself, inside
# its own transaction, so that a failure rolls back the state change too.
ACTION_HANDLERS: dict[str, object] = {}


def register_action_handler(action: str, handler) -> None:
    ACTION_HANDLERS[Action(action).value] = handler


def perform(user, pk, action: str, **kwargs) -> Document:
    """Entry point for views, API and CLI: the registered handler or the bare transition."""
    handler = ACTION_HANDLERS.get(str(action))
    if handler is not None:
        return handler(user, pk, action, **kwargs)
    return transition(user, pk, action, **kwargs)
