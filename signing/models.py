"""Signing data: keys, signature and seal profiles, produced PDFs, pending remote signatures."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class KeyKind(models.TextChoices):
    PKCS12 = "pkcs12", _("PKCS#12 file")
    PKCS11 = "pkcs11", _("PKCS#11 token or HSM")
    REMOTE = "remote", _("Two-step remote signing (USB token client)")
    CSC = "csc", _("Remote signing service (CSC API)")


class SigningKey(models.Model):
    """Where one key lives. Secrets (passphrases, PINs, tokens) are stored encrypted."""

    label = models.CharField(_("label"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=KeyKind.choices)
    pkcs12_file = models.FileField(_("PKCS#12 file"), upload_to="signing/keys/", blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False)
    pkcs11_module = models.CharField(_("PKCS#11 module"), max_length=300, blank=True)
    token_label = models.CharField(_("token label"), max_length=120, blank=True)
    key_label = models.CharField(_("key label"), max_length=120, blank=True)
    cert_label = models.CharField(_("certificate label"), max_length=120, blank=True)
    csc_url = models.URLField(_("CSC service URL"), blank=True)
    csc_credential_id = models.CharField(_("CSC credential ID"), max_length=200, blank=True)
    certificate_pem = models.TextField(_("certificate (PEM)"), blank=True)
    is_demo = models.BooleanField(_("demo key (untrusted)"), default=False)

    class Meta:
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")

    def __str__(self) -> str:
        return f"{self.label} ({self.get_kind_display()})"


class SignatureProfile(models.Model):
    """A competent person's signature image and key."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="signature_profile")
    image = models.FileField(_("signature image (transparent PNG)"),
                             upload_to="signing/signatures/", blank=True)
    key = models.ForeignKey(SigningKey, null=True, blank=True, on_delete=models.SET_NULL,
                            verbose_name=_("key"))

    class Meta:
        verbose_name = _("signature profile")
        verbose_name_plural = _("signature profiles")

    def __str__(self) -> str:
        return str(self.user)


class SealProfile(models.Model):
    """An organisation's seal image (real size) and the key of its digital signature."""

    unit = models.OneToOneField("organisation.Unit", on_delete=models.CASCADE,
                                related_name="seal_profile")
    image = models.FileField(_("seal image (transparent PNG)"), upload_to="signing/seals/",
                             blank=True)
    key = models.ForeignKey(SigningKey, null=True, blank=True, on_delete=models.SET_NULL,
                            verbose_name=_("key"))

    class Meta:
        verbose_name = _("seal profile")
        verbose_name_plural = _("seal profiles")

    def __str__(self) -> str:
        return str(self.unit)


class PdfStage(models.TextChoices):
    RENDERED = "rendered", _("Rendered for signing")
    SIGNED = "signed", _("Signed by the competent person")
    ISSUED = "issued", _("Numbered, sealed and issued")
    ATTACHMENT = "attachment", _("Signed attachment")


def pdf_upload_to(instance: SignedPdf, filename: str) -> str:
    return f"signing/{instance.document.uuid}/{instance.stage}-{instance.sha256[:16]}.pdf"


class SignedPdf(models.Model):
    """Every PDF version the pipeline produced, with its page count and SHA-256."""

    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE,
                                 related_name="pdf_versions")
    stage = models.CharField(max_length=12, choices=PdfStage.choices)
    source_file = models.ForeignKey("documents.DocumentFile", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    blob = models.FileField(upload_to=pdf_upload_to, max_length=400)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    page_count = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64, help_text="Document.content_hash() rendered")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The signing capacity printed in the signature block (Decree 30 Art. 13, Appendix I
    # §II.7b): its code and the lines as printed, so a rendered preview of another
    # capacity is never reused, and the verify page and audit name it.
    capacity = models.CharField(max_length=4, blank=True, default="")
    authority = models.CharField(max_length=400, blank=True, default="")
    delegation = models.ForeignKey("SigningDelegation", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    # Digest of everything printed besides the content (signing.capacity.layout_key).
    layout_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["document", "-created_at", "-pk"]
        verbose_name = _("signed PDF")
        verbose_name_plural = _("signed PDFs")

    def __str__(self) -> str:
        return f"{self.document_id} {self.stage} {self.sha256[:12]}"

    def read(self) -> bytes:
        with self.blob.open("rb") as handle:
            return handle.read()


class PendingStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for the signature")
    DONE = "done", _("Completed")
    EXPIRED = "expired", _("Expired")
    FAILED = "failed", _("Failed")


class PendingSignature(models.Model):
    """A two-step signature: the server prepared the PDF and waits for the signature value.

    Everything needed to finish is stored here (not in memory), so a restart in
    between loses nothing; past ``expires_at`` it can only be discarded.
    """

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE,
                                 related_name="pending_signatures")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    prepared_pdf = models.BinaryField()
    document_digest = models.BinaryField()
    reserved_start = models.PositiveIntegerField()
    reserved_end = models.PositiveIntegerField()
    signed_attrs = models.BinaryField()
    data_to_sign_digest = models.CharField(max_length=64)
    certificate_pem = models.TextField()
    content_hash = models.CharField(max_length=64)
    capacity = models.CharField(max_length=4, blank=True, default="")
    status = models.CharField(max_length=10, choices=PendingStatus.choices,
                              default=PendingStatus.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.document_id} {self.status}"


class BatchStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting to start")
    RUNNING = "running", _("In progress")
    DONE = "done", _("Finished")


class BatchItemStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    ISSUED = "issued", _("Issued")
    SIGNED = "signed", _("Signed")
    FAILED = "failed", _("Failed")


class BatchKind(models.TextChoices):
    ISSUE = "issue", _("Number and issue")
    SIGN = "sign", _("Digitally sign")


class BatchRun(models.Model):
    """One "issue several documents" request of a clerk, tracked document by document.

    The task updates each item as it goes, so the page can show progress while
    it runs (in a worker, or in a background thread when there is no broker).
    """

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                   related_name="+")
    # A clerk's batch issue, or a leader's batch signature (same progress page).
    kind = models.CharField(max_length=10, choices=BatchKind.choices, default=BatchKind.ISSUE)
    status = models.CharField(max_length=10, choices=BatchStatus.choices,
                              default=BatchStatus.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("batch issue")
        verbose_name_plural = _("batch issues")

    def __str__(self) -> str:
        return f"{self.token} {self.status}"


class BatchItem(models.Model):
    run = models.ForeignKey(BatchRun, on_delete=models.CASCADE, related_name="items")
    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE,
                                 related_name="+")
    position = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=BatchItemStatus.choices,
                              default=BatchItemStatus.PENDING)
    symbol = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "document"], name="batch_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} #{self.position} {self.status}"


class Capacity(models.TextChoices):
    """Decree 30 Appendix I §II.7b: how a signer signs, printed before the title."""

    TM = "TM", _("TM. (on behalf of the collective)")
    Q = "Q", _("Q. (acting head)")
    KT = "KT", _("KT. (for the head, by a deputy)")
    TUQ = "TUQ", _("TUQ. (by authorisation)")
    TL = "TL", _("TL. (by order)")


class SigningDelegation(models.Model):
    """A written delegation to sign (Decree 30 Art. 13 §1, §3, §4): who authorises whom,
    in which unit, for which document types (none = all), from when to when."""

    unit = models.ForeignKey("organisation.Unit", on_delete=models.PROTECT,
                             related_name="signing_delegations", verbose_name=_("unit"))
    grantor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("authorised by"))
    grantee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                related_name="signing_delegations",
                                verbose_name=_("authorised person"))
    capacity = models.CharField(_("capacity"), max_length=4,
                                choices=[(c.value, c.label) for c in Capacity
                                         if c != Capacity.TM])
    document_types = models.ManyToManyField("documents.DocumentType", blank=True,
                                            related_name="+", verbose_name=_("document types"),
                                            help_text=_("None selected: every type."))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True,
                            help_text=_("e.g. the decision that gives the delegation."))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["unit", "-valid_from", "-pk"]
        verbose_name = _("signing delegation")
        verbose_name_plural = _("signing delegations")
        indexes = [models.Index(fields=["grantee", "unit"])]

    def __str__(self) -> str:
        return f"{self.capacity}. {self.grantee} ({self.unit})"
