"""Browser pages for outgoing documents.

Thin views: they parse input, call :mod:`workflow.documents.services`, and turn
every :class:`~workflow.documents.errors.WorkflowError` into a message for the
person (a document they cannot see answers 404, never 403, so its existence
does not leak).
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from workflow import access
from workflow.accounts import stepup
from workflow.audit import access_log
from workflow.ops.files import serve_file
from workflow.viewer import viewer_strings

from . import services
from .errors import Conflict, NotAllowed, NotFound, WorkflowError
from .forms import CommentForm, DocumentFilterForm, DocumentForm, UploadForm
from .models import Document, FileVersion, State
from .uploads import max_upload_bytes

PAGE_SIZE = 20
# Actions whose reason is mandatory; the template marks them and app.js checks before sending.
REASON_ACTIONS = {"return", "withdraw"}
# Order and look of the action buttons: the forward-moving step first, refusals last.
# Signing and sealing need a fresh second factor (workflow/accounts/stepup.py).
STEP_UP_ACTIONS = ("sign", "issue")
ACTION_ORDER = ["submit", "forward", "approve", "sign", "issue", "archive", "return", "withdraw"]
ACTION_STYLE = {
    "submit": "primary",
    "forward": "primary",
    "approve": "primary",
    "sign": "primary",
    "issue": "primary",
    "archive": "secondary",
    "return": "warning",
    "withdraw": "danger",
}


def _success_message(action: str) -> str:
    messages_by_action = {
        "submit": _("The document was submitted for review."),
        "forward": _("The document was forwarded."),
        "return": _("The document was returned to the drafter."),
        "approve": _("The document was approved."),
        "sign": _("The document was signed."),
        "issue": _("The document was numbered and issued."),
        "archive": _("The document was archived."),
        "withdraw": _("The document was withdrawn."),
    }
    return messages_by_action.get(action, _("Done."))


def _documents(queryset: QuerySet[Document]) -> QuerySet[Document]:
    return queryset.select_related("unit", "document_type", "drafter", "drafting_department")


def _paginate(request: HttpRequest, queryset: QuerySet) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _load(user, pk: int) -> Document:
    try:
        return services.get_for(user, pk)
    except NotFound:
        raise Http404(_("The document does not exist or you cannot see it.")) from None


def _after_action(user, pk: int) -> HttpResponse:
    """Back to the document if the person can still see it, else to their tasks."""
    try:
        services.get_for(user, pk)
    except WorkflowError:
        return redirect("documents:inbox")
    return redirect("documents:detail", pk=pk)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """Every kind of work waiting for the person (workflow/inbox.py), nearest deadline first."""
    from workflow import inbox as work

    kinds = work.sources()
    kind = request.GET.get("kind", "")
    if kind not in {s.kind for s in kinds}:
        kind = ""
    items, counts = work.collect(request.user, kind or None)
    drafts = _documents(
        Document.objects.filter(drafter=request.user, state=State.DRAFT)
    ).order_by("-updated_at")[:10]
    return render(
        request,
        "documents/inbox.html",
        {
            "page_obj": Paginator(items, PAGE_SIZE).get_page(request.GET.get("page")),
            "kinds": [{"kind": s.kind, "label": s.label, "count": counts.get(s.kind, 0)}
                      for s in kinds],
            "kind": kind,
            "total": sum(counts.values()),
            # Several documents waiting for the same decision: one batch for all of them.
            "to_sign": sum(1 for i in items if i.kind == "document"
                           and i.obj.state == State.APPROVED),
            "to_issue": sum(1 for i in items if i.kind == "document"
                            and i.obj.state == State.SIGNED),
            "drafts": drafts,
            "today": timezone.localdate(),
        },
    )


@login_required
def document_list(request: HttpRequest) -> HttpResponse:
    visible = access.visible_documents(request.user)
    form = DocumentFilterForm(request.GET or None, visible=visible)
    documents = form.filter(_documents(visible)) if form.is_bound else _documents(visible)
    return render(
        request,
        "documents/list.html",
        {"form": form, "page_obj": _paginate(request, documents.order_by("-updated_at", "-pk")),
         "may_print_register": access.register_units(request.user).exists()},
    )


@login_required
def create(request: HttpRequest) -> HttpResponse:
    if not access.drafting_units(request.user).exists():
        messages.error(request, _("You cannot draft documents for any unit."))
        return redirect("documents:inbox")
    form = DocumentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            document = services.create_document(
                request.user,
                unit=form.cleaned_data["unit"],
                data=form.service_data(),
                recipient_unit_ids=form.recipient_ids(),
            )
        except WorkflowError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(
                request,
                _("The draft was saved. Attach the main file or submit it when it is ready."),
            )
            return redirect("documents:detail", pk=document.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "documents/edit.html", {"form": form, "document": None}, status=status)


@login_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    document = _load(request.user, pk)
    if not access.can(request.user, "edit", document):
        messages.error(request, _("This document can no longer be edited."))
        return redirect("documents:detail", pk=pk)
    if request.method != "POST":
        form = DocumentForm(
            initial=DocumentForm.initial_for(document), user=request.user, document=document
        )
        return render(request, "documents/edit.html", {"form": form, "document": document})

    form = DocumentForm(request.POST, user=request.user, document=document)
    if form.is_valid():
        try:
            services.update_document(
                request.user,
                pk,
                data=form.service_data(),
                expected_version=form.cleaned_data.get("edit_version"),
                recipient_unit_ids=form.recipient_ids(),
            )
        except Conflict as error:
            messages.error(
                request,
                _("%(error)s Your changes are kept below: compare them with the current "
                  "version, then save again to replace it.") % {"error": error.message},
            )
            # Saving again is a deliberate overwrite of the newer version.
            data = request.POST.copy()
            document.refresh_from_db()
            data["edit_version"] = str(document.edit_version)
            form = DocumentForm(data, user=request.user, document=document)
            form.is_valid()
        except NotFound:
            raise Http404() from None
        except NotAllowed as error:
            # Submitted or withdrawn from another tab meanwhile: the page explains the state.
            messages.error(request, str(error.message))
            return redirect("documents:detail", pk=pk)
        except WorkflowError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("documents:detail", pk=pk)
    return render(
        request, "documents/edit.html", {"form": form, "document": document}, status=400
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = _load(request.user, pk)
    user = request.user
    allowed = access.allowed_actions(user, document)
    transitions = [a for a in ACTION_ORDER if a in allowed]
    files = list(
        document.files.select_related(
            "current_version", "current_version__extracted_text").prefetch_related(
            Prefetch(
                "versions",
                queryset=FileVersion.objects.select_related("uploaded_by").order_by("-number"),
            )
        )
    )
    access_log.record_view(document, user)
    entries = list(access_log.timeline(user, document))
    last_return = None
    if document.state == State.RETURNED:
        last_return = next((e for e in reversed(entries) if e.action == "document.return"), None)
    signed_pdfs: list[dict] = []
    panel = None
    if apps.is_installed("signing"):
        from signing.views import document_pdfs, sign_panel

        signed_pdfs = document_pdfs(document)
        if "sign" in transitions or "approve" in transitions:
            panel = sign_panel(user, document)
    context = {
        "document": document,
        "signed_pdfs": signed_pdfs,
        "sign_panel": panel,
        "viewer_i18n": viewer_strings() if panel else None,
        "actions": [
            {
                "name": name,
                "label": services.action_label(name),
                "style": ACTION_STYLE.get(name, "secondary"),
                "needs_reason": name in REASON_ACTIONS,
            }
            for name in transitions
        ],
        "needs_reason_any": any(name in REASON_ACTIONS for name in transitions),
        "can_edit": "edit" in allowed,
        "can_comment": "comment" in allowed,
        "files": files,
        "has_main": any(f.kind == "main" for f in files),
        "comments": document.comments.select_related("author"),
        "entries": entries,
        "last_return": last_return,
        "recipients": document.recipient_names,
        "comment_form": CommentForm(),
        "max_upload_mb": max_upload_bytes() // (1024 * 1024),
        # Scans whose OCR failed get a "read again" button for these people.
        "can_retry_ocr": access.can_retry_ocr(user, document),
    }
    sealing = [a for a in transitions if a in STEP_UP_ACTIONS]
    if sealing:
        context.update(stepup.form_context(request, sealing[0], document))
    return render(request, "documents/detail.html", context)


@login_required
@require_POST
def transition(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    try:
        if action in STEP_UP_ACTIONS:
            stepup.require_from_post(request, action, services.get_for(request.user, pk))
        services.perform(
            request.user,
            pk,
            action,
            comment=request.POST.get("comment", ""),
            expected_state=request.POST.get("expected_state") or None,
        )
    except NotFound:
        raise Http404() from None
    except WorkflowError as error:
        messages.error(request, str(error.message))
        return _after_action(request.user, pk)
    messages.success(request, _success_message(action))
    # Who acts next, named: the person's work does not end at a state change.
    next_step = services.next_step_note(pk)
    if next_step:
        messages.info(request, next_step)
    return _after_action(request.user, pk)


@login_required
@require_POST
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        services.add_comment(request.user, pk, text=request.POST.get("text", ""))
    except NotFound:
        raise Http404() from None
    except WorkflowError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Your comment was added."))
    return redirect(reverse("documents:detail", args=[pk]) + "#comments")


@login_required
@require_POST
def upload(request: HttpRequest, pk: int) -> HttpResponse:
    # Reading FILES runs the upload handlers, which set the too-large flag.
    upload_file = request.FILES.get("file")
    form = UploadForm(request.POST)
    target = reverse("documents:detail", args=[pk]) + "#files"
    if getattr(request, "upload_too_large", False):
        _load(request.user, pk)
        messages.error(
            request,
            _("The file is larger than the limit of %(mb)d MB.")
            % {"mb": max_upload_bytes() // (1024 * 1024)},
        )
        return redirect(target)
    if not form.is_valid():
        _load(request.user, pk)
        messages.error(request, _("The file does not exist."))
        return redirect(target)
    try:
        version = services.add_file(
            request.user,
            pk,
            upload=upload_file,
            kind=form.cleaned_data["kind"] or "attachment",
            file_id=form.cleaned_data.get("file_id"),
        )
    except NotFound as error:
        if form.cleaned_data.get("file_id"):
            # The document is visible but the file is not one of its files.
            _load(request.user, pk)
            messages.error(request, str(error.message))
            return redirect(target)
        raise Http404() from None
    except WorkflowError as error:
        messages.error(request, str(error.message))
        return redirect(target)
    messages.success(
        request,
        _("“%(name)s” was uploaded as version %(number)d.")
        % {"name": version.original_name, "number": version.number},
    )
    return redirect(target)


@login_required
def download(request: HttpRequest, pk: int, version_id: int) -> HttpResponse:
    """Serve a stored version after the same visibility check as the document itself."""
    document = _load(request.user, pk)
    version = (
        FileVersion.objects.filter(pk=version_id, file__document=document)
        .select_related("file")
        .first()
    )
    if version is None:
        raise Http404(_("The file does not exist."))
    # PDFs open in the browser's viewer; everything else downloads.
    inline = version.content_type == "application/pdf"
    try:
        response = serve_file(version.blob, as_attachment=not inline,
                              filename=version.original_name,
                              content_type=version.content_type)
    except (FileNotFoundError, ValueError):
        raise Http404(_("The file does not exist.")) from None
    access_log.record_download(document, request.user, version_hash=version.sha256,
                               name=f"{version.original_name} (v{version.number})")
    response["Cache-Control"] = "private, no-store" if document.confidential else "private"
    return response

