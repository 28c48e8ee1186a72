"""Thin views over signing.services and signing.validation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from workflow import access
from workflow.accounts import stepup
from workflow.audit import access_log
from workflow.documents import services as doc_services
from workflow.documents.errors import NotFound, WorkflowError
from workflow.documents.models import State

from . import batch, profiles, remote, services
from .models import BatchRun, KeyKind, PdfStage, SignatureProfile
from .validation import verify_pdf

MAX_VERIFY_BYTES = 50 * 1024 * 1024


@require_http_methods(["GET", "POST"])
def verify(request):
    """Anyone may upload any PDF; every outcome is a readable report, never a 500."""
    report = None
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a PDF file to verify.")
        elif upload.size > MAX_VERIFY_BYTES:
            error = _("The file is too large to verify here.")
        else:
            report = verify_pdf(upload.read())
    return render(request, "signing/verify.html", {"report": report, "error": error})


def _doc(request, pk, action):
    try:
        return doc_services.get_for(request.user, pk, action=action)
    except WorkflowError as exc:
        raise Http404(str(exc.message)) from exc


@login_required
@require_http_methods(["GET", "POST"])
def sign_confirm(request, pk):
    document = _doc(request, pk, access.Action.VIEW)
    if request.method == "POST":
        try:
            stepup.require_from_post(request, "sign", document)
            services.sign_document(request.user, pk, expected_state=State.APPROVED,
                                   comment=request.POST.get("comment", ""))
            messages.success(request, _("The document was digitally signed."))
            return redirect("documents:detail", pk=pk)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    can_sign = access.can(request.user, access.Action.SIGN, document)
    profile = SignatureProfile.objects.select_related("key").filter(user=request.user).first()
    two_step = bool(profile and profile.key and profile.key.kind == KeyKind.REMOTE)
    return render(request, "signing/sign_confirm.html",
                  {"document": document, "can_sign": can_sign, "two_step": two_step,
                   "pending": remote.waiting_for(request.user).filter(document=document).first()
                   if two_step else None, **stepup.form_context(request, "sign", document)})


@login_required
@require_http_methods(["POST"])
def prepare_remote(request, pk):
    """Prepare a two-step signature; the signing client on the leader's computer finishes it."""
    try:
        pending = remote.prepare_remote_signature(request.user, pk)
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
            messages.success(request, _("Issued as %(symbol)s.") % {"symbol": document.symbol})
            return redirect("documents:detail", pk=pk)
        except WorkflowError as exc:
            messages.error(request, str(exc.message))
    return render(request, "signing/issue_confirm.html", {
        "document": document, **stepup.form_context(request, "issue", document),
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
        handle = pdf.blob.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404() from None
    access_log.record_download(document, request.user, name=name, version_hash=pdf.sha256)
    return FileResponse(handle, content_type="application/pdf", filename=name,
                        as_attachment=request.GET.get("download") == "1")


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
    recent = BatchRun.objects.filter(created_by=request.user)[:5]
    return render(request, "signing/batch_issue.html",
                  {"documents": pending, "recent": recent,
                   **stepup.form_context(request, "batch_issue")})


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
    }, status=status)


@login_required
def profile_image(request):
    """The person's own signature image (only theirs: it is not public media)."""
    current = profiles.profile_of(request.user)
    if current is None or not current.image:
        raise Http404()
    try:
        handle = current.image.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404() from None
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response
