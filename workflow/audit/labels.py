"""Audit entries in plain words: what people read in every history list.

The audit log stores event codes (``signing.signed``, ``meeting.paper.changed``) and
terse technical comments (``39: file``, ``PDF 1 pages, SHA-256 …``); they are for
machines. :func:`describe` turns an entry into a translated label and detail, so no
page shows a code. One table for documents, signing and meetings: a new event code
gets its label here (tests/test_plain_language.py fails on a page showing a code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

_lazy = gettext_lazy

LABELS = {
    # documents
    "document.create": _lazy("Created the draft"),
    "document.edit": _lazy("Edited the draft"),
    "file.upload": _lazy("Uploaded a file"),
    "document.comment": _lazy("Commented"),
    "document.submit": _lazy("Submitted for review"),
    "document.forward": _lazy("Forwarded to the next step"),
    "document.return": _lazy("Returned to the drafter"),
    "document.approve": _lazy("Approved the document"),
    "document.sign": _lazy("Signed the document"),
    "document.issue": _lazy("Numbered and issued"),
    "document.archive": _lazy("Archived the document"),
    "document.withdraw": _lazy("Withdrew the document"),
    "document.download": _lazy("Downloaded a file"),
    "document.view": _lazy("Viewed the document"),
    # signing
    "signing.signed": _lazy("Digital signature added to the PDF"),
    "signing.issued": _lazy("Number, date and seal added to the PDF"),
    "signing.sign.refused": _lazy("Signing was refused"),
    "signing.issue.refused": _lazy("Issuing was refused"),
    "signing.remote.prepared": _lazy("Prepared for signing with a USB token"),
    "signing.remote.expired": _lazy("A two-step signature expired unused"),
    "signing.profile.image": _lazy("Signature image changed"),
    "signing.profile.certificate": _lazy("Signing certificate registered"),
    # meetings
    "meeting.schedule": _lazy("Meeting scheduled"),
    "meeting.edit": _lazy("Meeting details changed"),
    "meeting.send_for_approval": _lazy("Papers sent for approval"),
    "meeting.publish": _lazy("Meeting published to participants"),
    "meeting.start": _lazy("Session opened"),
    "meeting.close": _lazy("Session closed"),
    "meeting.conclude": _lazy("Meeting concluded"),
    "meeting.cancel": _lazy("Meeting cancelled"),
    "meeting.postpone": _lazy("Meeting postponed"),
    "meeting.reschedule": _lazy("Meeting rescheduled"),
    "meeting.participant.add": _lazy("Participant added"),
    "meeting.participant.remove": _lazy("Participant removed"),
    "meeting.agenda.add": _lazy("Agenda item added"),
    "meeting.agenda.edit": _lazy("Agenda item changed"),
    "meeting.agenda.remove": _lazy("Agenda item removed"),
    "meeting.agenda.reorder": _lazy("Agenda reordered"),
    "meeting.paper.attach": _lazy("Paper attached"),
    "meeting.paper.replace": _lazy("Paper replaced"),
    "meeting.paper.detach": _lazy("Paper removed"),
    "meeting.paper.restrict": _lazy("Paper readers restricted"),
    "meeting.paper.changed": _lazy("A paper changed after publication"),
    "meeting.invitation": _lazy("Invitations sent"),
    "meeting.attendance.confirm": _lazy("Confirmed attendance"),
    "meeting.attendance.decline": _lazy("Declined the invitation"),
    "meeting.attendance.delegate": _lazy("Sent a delegate"),
    "meeting.check_in": _lazy("Checked in"),
    "meeting.current_item": _lazy("Moved to agenda item"),
    "meeting.speak.request": _lazy("Asked to speak"),
    "meeting.speak.withdraw": _lazy("Withdrew a request to speak"),
    "meeting.speak.next": _lazy("Gave the floor"),
    "meeting.minutes": _lazy("Minutes drafted"),
    "meeting.conclusion": _lazy("Conclusion notice drafted"),
    "vote.open": _lazy("Vote opened"),
    "vote.close": _lazy("Vote closed"),
    "vote.ballot": _lazy("Voted"),
    "task.create": _lazy("Follow-up task created"),
    "task.done": _lazy("Follow-up task done"),
    "task.reopen": _lazy("Follow-up task reopened"),
}

_PDF = re.compile(r"PDF (\d+) pages?, SHA-256 ([0-9a-f]{64})")
_PAPER_REASONS = {"file": _lazy("new file version"), "edit": _lazy("text edited")}


@dataclass(frozen=True)
class Described:
    label: str
    detail: str


def label(action: str) -> str:
    """The plain label of an event code; never the code itself."""
    found = LABELS.get(action)
    if found is not None:
        return str(found)
    return _("Other change")


def _pdf_detail(comment: str) -> str | None:
    match = _PDF.search(comment or "")
    if not match:
        return None
    pages, digest = int(match.group(1)), match.group(2)
    text = ngettext("PDF of %(count)d page", "PDF of %(count)d pages", pages) % {"count": pages}
    symbol = comment.split(";", 1)[0].strip() if ";" in comment else ""
    parts = [_("No. %(symbol)s") % {"symbol": symbol}] if symbol else []
    parts += [text, _("fingerprint %(digest)s…") % {"digest": digest[:16]}]
    return " · ".join(parts)


def _subject(document_id: str) -> str:
    from workflow.documents.models import Document

    try:
        pk = int(document_id)
    except (TypeError, ValueError):
        return ""
    return Document.objects.filter(pk=pk).values_list("subject", flat=True).first() or ""


def detail(action: str, comment: str) -> str:
    """The comment of an entry in words; identifiers and codes left out."""
    comment = (comment or "").strip()
    if action in ("signing.signed", "signing.issued"):
        return _pdf_detail(comment) or ""
    if action == "meeting.paper.changed":
        doc_id, _sep, reason = comment.partition(":")
        subject = _subject(doc_id)
        why = _PAPER_REASONS.get(reason.strip())
        return " — ".join(str(p) for p in (subject, why) if p)
    if action == "meeting.paper.attach":
        doc_id, sep, subject = comment.partition(":")
        return subject.strip() if sep and doc_id.strip().isdigit() else comment
    if action == "meeting.paper.replace":
        old, _sep, new = comment.partition("→")
        names = [_subject(old.strip()), _subject(new.strip())]
        return " → ".join(n for n in names if n)
    if action == "meeting.paper.detach":
        return _subject(comment)
    if action in ("meeting.paper.restrict", "meeting.invitation"):
        return ""  # internal ids only
    return comment


def describe(entry) -> Described:
    return Described(label(entry.action), detail(entry.action, entry.comment))
