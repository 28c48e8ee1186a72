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
from django.utils.translation import gettext_lazy, ngettext

LABELS = {
    # documents
    "document.create": gettext_lazy("Created the draft"),
    "document.edit": gettext_lazy("Edited the draft"),
    "file.upload": gettext_lazy("Uploaded a file"),
    "document.comment": gettext_lazy("Commented"),
    "document.submit": gettext_lazy("Submitted for review"),
    "document.forward": gettext_lazy("Forwarded to the next step"),
    "document.return": gettext_lazy("Returned to the drafter"),
    "document.approve": gettext_lazy("Approved the document"),
    "document.sign": gettext_lazy("Signed the document"),
    "document.issue": gettext_lazy("Numbered and issued"),
    "document.archive": gettext_lazy("Archived the document"),
    "document.withdraw": gettext_lazy("Withdrew the document"),
    "document.download": gettext_lazy("Downloaded a file"),
    "document.view": gettext_lazy("Viewed the document"),
    "document.delivered": gettext_lazy("Delivered to the recipient units"),
    "document.recalled": gettext_lazy("Recalled from its recipients"),
    "document.replaced": gettext_lazy("Replaced by a new document"),
    "document.replacement_drafted": gettext_lazy("Replacement document drafted"),
    "document.edxml_exported": gettext_lazy("Exported as an edXML package"),
    "document.edxml_status": gettext_lazy("Status message from an exchange partner"),
    "document.reorganised": gettext_lazy("Moved to the successor unit (reorganisation)"),
    "document.resent": gettext_lazy("Sent again to a unit that returned it"),
    # signing
    "signing.signed": gettext_lazy("Digital signature added to the PDF"),
    "signing.issued": gettext_lazy("Number, date and seal added to the PDF"),
    "signing.sign.refused": gettext_lazy("Signing was refused"),
    "signing.issue.refused": gettext_lazy("Issuing was refused"),
    "signing.remote.prepared": gettext_lazy("Prepared for signing with a USB token"),
    "signing.delegation.created": gettext_lazy("Delegation to sign recorded"),
    "signing.delegation.ended": gettext_lazy("Delegation to sign ended"),
    "signing.register.signed": gettext_lazy("Outgoing register printed and signed"),
    "signing.remote.expired": gettext_lazy("A two-step signature expired unused"),
    "signing.file_altered": gettext_lazy("A stored file was found altered (not served)"),
    "signing.file_missing": gettext_lazy("A stored file was found missing"),
    "signing.key.secret_rotated": gettext_lazy("Key passphrase re-encrypted"),
    "signing.profile.image": gettext_lazy("Signature image changed"),
    "signing.profile.certificate": gettext_lazy("Signing certificate registered"),
    # meetings
    "meeting.schedule": gettext_lazy("Meeting scheduled"),
    "meeting.edit": gettext_lazy("Meeting details changed"),
    "meeting.send_for_approval": gettext_lazy("Papers sent for approval"),
    "meeting.publish": gettext_lazy("Meeting published to participants"),
    "meeting.start": gettext_lazy("Session opened"),
    "meeting.close": gettext_lazy("Session closed"),
    "meeting.conclude": gettext_lazy("Meeting concluded"),
    "meeting.cancel": gettext_lazy("Meeting cancelled"),
    "meeting.postpone": gettext_lazy("Meeting postponed"),
    "meeting.reschedule": gettext_lazy("Meeting rescheduled"),
    "meeting.participant.add": gettext_lazy("Participant added"),
    "meeting.participant.remove": gettext_lazy("Participant removed"),
    "meeting.agenda.add": gettext_lazy("Agenda item added"),
    "meeting.agenda.edit": gettext_lazy("Agenda item changed"),
    "meeting.agenda.remove": gettext_lazy("Agenda item removed"),
    "meeting.agenda.reorder": gettext_lazy("Agenda reordered"),
    "meeting.paper.attach": gettext_lazy("Paper attached"),
    "meeting.paper.replace": gettext_lazy("Paper replaced"),
    "meeting.paper.detach": gettext_lazy("Paper removed"),
    "meeting.paper.restrict": gettext_lazy("Paper readers restricted"),
    "meeting.paper.changed": gettext_lazy("A paper changed after publication"),
    "meeting.invitation": gettext_lazy("Invitations sent"),
    "meeting.attendance.confirm": gettext_lazy("Confirmed attendance"),
    "meeting.attendance.decline": gettext_lazy("Declined the invitation"),
    "meeting.attendance.delegate": gettext_lazy("Sent a delegate"),
    "meeting.attendance.delegate_requested": gettext_lazy("Asked to send a delegate"),
    "meeting.attendance.delegate_confirmed": gettext_lazy("Delegate confirmed by the organiser"),
    "meeting.attendance.delegate_refused": gettext_lazy("Delegate refused by the organiser"),
    "meeting.participant.deputies": gettext_lazy("Deputies listed for a participant"),
    "meeting.check_in": gettext_lazy("Checked in"),
    "meeting.current_item": gettext_lazy("Moved to agenda item"),
    "meeting.speak.request": gettext_lazy("Asked to speak"),
    "meeting.speak.withdraw": gettext_lazy("Withdrew a request to speak"),
    "meeting.speak.next": gettext_lazy("Gave the floor"),
    "meeting.minutes": gettext_lazy("Minutes drafted"),
    "meeting.conclusion": gettext_lazy("Conclusion notice drafted"),
    "vote.open": gettext_lazy("Vote opened"),
    "vote.close": gettext_lazy("Vote closed"),
    "vote.ballot": gettext_lazy("Voted"),
    "task.create": gettext_lazy("Follow-up task created"),
    "task.done": gettext_lazy("Follow-up task done"),
    "task.reopen": gettext_lazy("Follow-up task reopened"),
    # case files and archive (Decree 30 Art. 28–31, workflow/records)
    "records.plan.created": gettext_lazy("File plan created"),
    "records.plan.copied": gettext_lazy("File plan made from the previous year's"),
    "records.plan.entry_added": gettext_lazy("File added to the plan"),
    "records.plan.entry_removed": gettext_lazy("File removed from the plan"),
    "records.plan.approved": gettext_lazy("File plan approved"),
    "records.file.created": gettext_lazy("Case file opened"),
    "records.file.edited": gettext_lazy("Case file details corrected"),
    "records.file.filed": gettext_lazy("Document filed into the case file"),
    "records.file.unfiled": gettext_lazy("Document taken out of the case file"),
    "records.file.closed": gettext_lazy("Case file closed"),
    "records.file.reopened": gettext_lazy("Case file reopened by an administrator"),
    "records.file.handed_over": gettext_lazy("Handed over to the archive"),
    "records.document.filed": gettext_lazy("Filed into a case file"),
    "records.handover.created": gettext_lazy("Files handed over to the archive"),
    "records.handover.retried": gettext_lazy("Archive package built again"),
}

_PDF = re.compile(r"PDF (\d+) pages?, SHA-256 ([0-9a-f]{64})")
_PAPER_REASONS = {"file": gettext_lazy("new file version"), "edit": gettext_lazy("text edited")}


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
    if action in ("records.file.closed", "records.handover.created") and comment.isdigit():
        count = int(comment)  # stored as a number, worded in the reader's language
        if action == "records.file.closed":
            return ngettext("%(count)d document", "%(count)d documents", count) % {
                "count": count}
        return ngettext("%(count)d file", "%(count)d files", count) % {"count": count}
    if action in ("meeting.paper.restrict", "meeting.invitation"):
        return ""  # internal ids only
    return comment


def describe(entry) -> Described:
    return Described(label(entry.action), detail(entry.action, entry.comment))
