"""Thin views over signing.services and signing.validation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from workflow import access
from workflow.accounts import stepup
from workflow.audit import access_log
from workflow.documents import services as doc_services
from workflow.documents import uploads
from workflow.documents.errors import NotFound, WorkflowError
from workflow.documents.models import State
from workflow.ops.files import serve_file
from workflow.viewer import viewer_strings

from . import batch, integrity, profiles, remote, services
from .models import BatchKind, BatchRun, PdfStage
from .validation import VerifyInputError, verify_pdf, verify_upload

MAX_VERIFY_BYTES = 50 * 1024 * 1024


@require_http_methods(["GET", "POST"])
def verify(request):
    """Anyone may upload any PDF; every outcome is a readable report, never a 500."""
    report = None
    error = ""
    # Fetching makes the server call the URLs written in the uploaded certificates: only
    # for people signed in, never for anonymous visitors (no open proxy into the network).
    fetch = (request.method == "POST" and request.POST.get("fetch") == "1"
             and request.user.is_authenticated)
    if request.method == "POST":
        if getattr(request, "upload_too_large", False):
            error = uploads._too_large_message()
        else:
            try:
                report = verify_upload(request.FILES.get("file"),
                                       root_upload=request.FILES.get("trust_root"), fetch=fetch)
            except VerifyInputError as exc:
                error = str(exc)
    return render(request, "signing/verify.html", {"report": report, "error": error,
                                                   "fetch": fetch})


def _doc(request, pk, action):
    try:
        return doc_services.get_for(request.user, pk, action=action)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from exc


def sign_panel(user, document) -> dict:
    """What the signing dialog and page show: the PDF, the capacity, the key.

    The second factor (step-up authentication) will be asked in the same panel
    (templates/signing/_sign_panel.html, the ``second-factor`` slot).
    """
    from django.urls import reverse

    from . import capacity as capacities

    options = capacities.options_for(user, document)
    refusal = ""
    if not options:
        try:
            capacities.resolve(user, document)
        except capacities.CapacityRefused as exc:
            refusal = str(exc.message)
    shown = options[0] if options else capacities.for_layout(document, user)
    profile = profiles.profile_of(user)
    key = profiles.describe_key(profile.key if profile else None)
    allowed = access.allowed_actions(user, document)
    return {
        "document": document,
        "capacity": shown.lines,
        # More than one: the signer chooses (radio "capacity" in the signing form).
        "capacities": [{"code": o.code, "label": o.label} for o in options],
        "capacity_refusal": refusal,
        "signer_name": profiles.signer_name(user),
        "key": key,
        "has_image": bool(profile and profile.image),
        "two_step": bool(key and key["two_step"]),
        "can_sign": access.Action.SIGN in allowed,
        "can_approve_sign": access.Action.APPROVE in allowed and services.can_sign_at_once(user),
        "preview_url": reverse("signing:pdf", args=[document.pk, PdfStage.RENDERED]),
        "sign_url": reverse("signing:sign", args=[document.pk]),
        "approve_sign_url": reverse("signing:approve_sign", args=[document.pk]),
        "prepare_url": reverse("signing:prepare_remote", args=[document.pk]),
    }


def _done(request, pk, message) -> None:
    """The success message, then who acts next (a separate line, as after other steps)."""
    messages.success(request, message)
    next_step = doc_services.next_step_note(pk)
    if next_step:
        messages.info(request, next_step)


@login_required
@require_http_methods(["GET", "POST"])
def sign_confirm(request, pk):
    document = _doc(request, pk, access.Action.VIEW)
    if request.method == "POST":
        try:
            stepup.require_from_post(request, "sign", document)
            services.sign_document(request.user, pk, expected_state=State.APPROVED,
                                   comment=request.POST.get("comment", ""),
                                   capacity=request.POST.get("capacity") or None)
            _done(request, pk, _("The document was digitally signed."))
            return redirect("documents:detail", pk=pk)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    panel = {**sign_panel(request.user, document), "form_id": "sign-form"}
    return render(request, "signing/sign_confirm.html",
                  {"document": document, "panel": panel, "viewer_i18n": viewer_strings(),
                   "can_sign": panel["can_sign"], "two_step": panel["two_step"],
                   "pending": remote.waiting_for(request.user).filter(document=document).first()
                   if panel["two_step"] else None,
                   **stepup.form_context(request, "sign", document)})


@login_required
@require_http_methods(["POST"])
def approve_sign(request, pk):
    """Approve and sign in one step, for the leader who does both."""
    document = _doc(request, pk, access.Action.VIEW)
    try:
        if access.can(request.user, access.Action.APPROVE, document):
            # Approving needs no second factor, the signature that follows does.
            stepup.require(request, action="sign", target=document,
                           code=str(request.POST.get("otp_code") or ""),
                           pin=str(request.POST.get("token_pin") or ""),
                           keys=stepup.keys_for(request.user, "sign", document))
        services.approve_and_sign(request.user, pk, comment=request.POST.get("comment", ""),
                                  expected_state=request.POST.get("expected_state") or None,
                                  capacity=request.POST.get("capacity") or None)
        _done(request, pk, _("The document was approved and digitally signed."))
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
    return redirect("documents:detail", pk=pk)


@login_required
@require_http_methods(["POST"])
def prepare_remote(request, pk):
    """Prepare a two-step signature; the signing client on the leader's computer finishes it."""
    try:
        pending = remote.prepare_remote_signature(request.user, pk,
                                                  capacity=request.POST.get("capacity") or None)
        messages.success(request, _(
            "Ready for your USB token: run the signing client (mttq_sign.py) on your computer "
            "before %(time)s.") % {"time": timezone.localtime(pending.expires_at)
                                   .strftime("%H:%M")})
    except WorkflowError as exc:
        messages.error(request, str(exc.message))
    return redirect("signing:sign", pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def issue_confirm(request, pk):
    document = _doc(request, pk, access.Action.VIEW)
    if request.method == "POST":
        try:
            stepup.require_from_post(request, "issue", document)
            document = services.issue_document(request.user, pk, expected_state=State.SIGNED)
            messages.success(request, _("Issued as %(symbol)s. The issued PDF is listed first "
                                        "on the document.") % {"symbol": document.symbol})
            return redirect("documents:detail", pk=pk)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    return render(request, "signing/issue_confirm.html", {
        "document": document, "viewer_i18n": viewer_strings(),
        **stepup.form_context(request, "issue", document),
        "can_issue": access.can(request.user, access.Action.ISSUE, document)})


@login_required
def pdf_download(request, pk, stage):
    """The PDF at a stage; "rendered" is made on demand for the sign preview."""
    document = _doc(request, pk, access.Action.VIEW)
    if stage not in PdfStage.values:
        raise Http404()
    try:
        if stage == PdfStage.RENDERED:
            pdf = services.ensure_rendered(document, request.user)
        else:
            pdf = services.latest(document, stage)
    except (WorkflowError, NotFound) as exc:
        raise Http404(str(getattr(exc, "message", exc))) from exc
    if pdf is None:
        raise Http404()
    name = f"{document.symbol or document.pk}-{stage}.pdf".replace("/", "-")
    try:
        # Every signed or issued PDF is hashed before it is served (issue 23 #10).
        handle = integrity.open_checked(pdf, actor=request.user, where=request.path)
    except integrity.FileAltered as exc:
        return render(request, "400.html", {"title": _("File altered"),
                                            "message": exc.message}, status=409)
    except (FileNotFoundError, ValueError):
        raise Http404() from None
    access_log.record_download(document, request.user, name=name, version_hash=pdf.sha256)
    return serve_file(pdf.blob, content_type="application/pdf", filename=name,
                      as_attachment=request.GET.get("download") == "1", handle=handle)


def document_pdfs(document) -> list[dict]:
    """The signed PDFs listed first on the document page, with their links."""
    from django.urls import reverse

    from workflow.viewer import viewer_url

    rows = []
    for pdf in services.published_pdfs(document):
        url = reverse("signing:pdf_version", args=[document.pk, pdf.pk])
        if pdf.stage == PdfStage.ATTACHMENT and pdf.source_file:
            title = _("Signed attachment: %(name)s") % {"name": pdf.source_file.name}
        elif pdf.stage == PdfStage.ISSUED:
            title = _("Issued document %(symbol)s") % {"symbol": document.symbol} \
                if document.symbol else _("Issued document")
        else:
            title = _("Signed by the competent person, before numbering")
        rows.append({
            "pdf": pdf, "title": title, "stage": pdf.stage, "url": url,
            "download_url": url + "?download=1",
            "view_url": viewer_url(url, title=str(title)),
            "verify_url": reverse("signing:pdf_version_verify", args=[document.pk, pdf.pk]),
        })
    return rows


def _stored_pdf(request, pk, pdf_id):
    document = _doc(request, pk, access.Action.VIEW)
    pdf = document.pdf_versions.filter(pk=pdf_id).exclude(stage=PdfStage.RENDERED).first()
    if pdf is None:
        raise Http404()
    return document, pdf


@login_required
def pdf_version(request, pk, pdf_id):
    """One stored signed PDF (every signed version is kept and listed on the document)."""
    document, pdf = _stored_pdf(request, pk, pdf_id)
    name = f"{document.symbol or document.pk}-{pdf.stage}-{pdf.pk}.pdf".replace("/", "-")
    try:
        response = serve_file(pdf.blob, content_type="application/pdf", filename=name,
                              as_attachment=request.GET.get("download") == "1")
    except (FileNotFoundError, ValueError):
        raise Http404() from None
    access_log.record_download(document, request.user, name=name, version_hash=pdf.sha256)
    response["Cache-Control"] = "private, no-store" if document.confidential else "private"
    return response


@login_required
@require_http_methods(["GET"])
def pdf_version_verify(request, pk, pdf_id):
    """The verification report of a stored PDF, on the verify page, without uploading it."""
    _document, pdf = _stored_pdf(request, pk, pdf_id)
    try:
        data = pdf.read()
    except (FileNotFoundError, ValueError):
        raise Http404() from None
    return render(request, "signing/verify.html", {"report": verify_pdf(data), "error": ""})


@login_required
@require_http_methods(["GET", "POST"])
def batch_issue(request):
    """Choose signed documents to issue together; the batch then runs in the background."""
    if request.method == "POST":
        try:
            stepup.require_from_post(request, "batch_issue")
            run = batch.start_batch_issue(request.user, request.POST.getlist("documents"))
            return redirect("signing:batch_progress", token=run.token)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    pending = access.visible_documents(request.user).filter(state=State.SIGNED)
    pending = [d for d in pending.select_related("unit", "document_type")
               if access.can(request.user, access.Action.ISSUE, d)]
    recent = BatchRun.objects.filter(created_by=request.user, kind=BatchKind.ISSUE)[:5]
    return render(request, "signing/batch_issue.html",
                  {"documents": pending, "recent": recent,
                   **stepup.form_context(request, "batch_issue")})


@login_required
@require_http_methods(["GET", "POST"])
def batch_sign(request):
    """A leader chooses approved documents to sign together; progress as for batch issue."""
    if request.method == "POST":
        try:
            stepup.require_from_post(request, "sign")
            run = batch.start_batch_sign(request.user, request.POST.getlist("documents"))
            return redirect("signing:batch_progress", token=run.token)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    pending = access.inbox(request.user).filter(state=State.APPROVED)
    pending = [d for d in pending.select_related("unit", "document_type").order_by("pk")
               if access.can(request.user, access.Action.SIGN, d)]
    recent = BatchRun.objects.filter(created_by=request.user, kind=BatchKind.SIGN)[:5]
    return render(request, "signing/batch_sign.html", {
        "documents": pending, "recent": recent,
        "can_sign_at_once": services.can_sign_at_once(request.user),
        # Each document of a batch is signed in the signer's default capacity for it: no
        # choice is offered here (the signing page of one document offers it).
        "panel": {**sign_panel(request.user, pending[0]), "capacities": []} if pending
        else None,
        **stepup.form_context(request, "sign")})


@login_required
@require_http_methods(["GET"])
def batch_progress(request, token):
    """The progress of one batch; static/js/batch-progress.js refreshes it every second."""
    try:
        run = batch.get_run(request.user, token)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from exc
    return render(request, "signing/batch_progress.html",
                  {"run": run, "progress": batch.progress_of(run)})


@login_required
@require_http_methods(["GET"])
def batch_status(request, token):
    try:
        run = batch.get_run(request.user, token)
    except WorkflowError as exc:
        return JsonResponse({"error": str(exc.message)}, status=404)
    response = JsonResponse(batch.progress_of(run))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """The person's own handwritten-signature image and signing certificate."""
    status = 200
    if request.method == "POST":
        what = request.POST.get("what")
        try:
            if what == "image":
                checked = profiles.set_signature_image(request.user, request.FILES.get("image"))
                messages.success(request, _("Your signature image was saved."))
                if not checked.bluish:
                    messages.warning(request, _(
                        "Decree 30 asks for the signature in blue ink; this image does not "
                        "look blue."))
                return redirect("signing:profile")
            if what == "certificate":
                profiles.register_certificate(request.user, request.FILES.get("certificate"))
                messages.success(request, _(
                    "Your certificate was registered; you sign with your USB token in two "
                    "steps."))
                return redirect("signing:profile")
            messages.error(request, _("Nothing to save."))
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
        status = 400
    current = profiles.profile_of(request.user)
    return render(request, "signing/profile.html", {
        "profile": current,
        "key": profiles.describe_key(current.key if current else None),
        "expected_name": profiles.signer_name(request.user),
        "max_image_kb": profiles.MAX_IMAGE_BYTES // 1024,
        "min_width": profiles.MIN_WIDTH, "max_width": profiles.MAX_WIDTH,
        "may_delegate": access.delegation_units(request.user).exists(),
    }, status=status)


@login_required
def profile_image(request):
    """The person's own signature image (only theirs: it is not public media)."""
    current = profiles.profile_of(request.user)
    if current is None or not current.image:
        raise Http404()
    try:
        response = serve_file(current.image, content_type="image/png")
    except (FileNotFoundError, ValueError):
        raise Http404() from None
    response["Cache-Control"] = "private, max-age=3600"
    return response
