"""Two-step (remote) signing of the competent person's signature.

Step 1, :func:`prepare_remote_signature`: the server renders the approved PDF,
reserves the signature field, computes the CMS signed attributes and hands
out their SHA-256 digest. Step 2, :func:`complete_remote_signature`: a device
the server never sees (a USB token through ``signing/client/mttq_sign.py``,
or any remote service) returns the raw signature value; the server checks it
against the certificate, builds the CMS with an RFC 3161 timestamp (B-T),
writes it into the prepared PDF, adds revocation data (B-LT) when it can be
fetched and performs the "sign" transition, all in one transaction.

Everything needed for step 2 is in the :class:`PendingSignature` row (the
prepared PDF, the byte range digest, the signed attributes), so a server
restart in between loses nothing. A pending signature expires after
``SIGNING_PENDING_TTL`` seconds: it is refused and its PDF bytes are dropped.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import io
import logging
from datetime import datetime, timedelta

from asn1crypto import cms, pem, x509
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.access import Action
from workflow.audit.services import record
from workflow.documents import services as doc_services
from workflow.documents.errors import Conflict, InvalidInput, NotFound
from workflow.documents.models import Document, State

from . import capacity as capacities
from . import conf, pdfops
from .models import KeyKind, PdfStage, PendingSignature, PendingStatus, SignatureProfile
from .services import (
    SigningRefused,
    _check_state,
    _image,
    _read_checked,
    _refusals,
    _refused,
    _store,
    approved_for_signing,
    ensure_rendered,
    signed_fields,
    timestamper,
)
from .signers import SignerError, check_certificate

logger = logging.getLogger(__name__)

DIGEST_ALGORITHM = "sha256"


# --- certificates -----------------------------------------------------------------------------


def load_certificates(value: str | bytes | None) -> list[x509.Certificate]:
    """Certificates from PEM (one or several), base64 DER or raw DER; [] for nothing."""
    if not value:
        return []
    data = value.encode("ascii", "ignore") if isinstance(value, str) else value
    try:
        if pem.detect(data):
            return [x509.Certificate.load(der) for _t, _h, der in pem.unarmor(data, multiple=True)]
        if not data.startswith(b"\x30"):
            data = base64.b64decode(data, validate=False)
        cert = x509.Certificate.load(data)
        cert.native  # noqa: B018 - parses fully, so garbage fails here and not later
        return [cert]
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput(_("The certificate cannot be read.")) from exc


def _pem_chain(certs: list[x509.Certificate]) -> str:
    return "".join(pem.armor("CERTIFICATE", c.dump()).decode("ascii") for c in certs)


def _complete_chain(cert, extra, validation_context) -> list[x509.Certificate]:
    """Signer first, then its issuers as far as we know them (sent, fetched or trusted)."""
    known = {c.subject.dump(): c for c in extra}
    chain = [cert]
    current = cert
    for _depth in range(6):
        if current.self_signed != "no":
            break
        issuer = known.get(current.issuer.dump())
        if issuer is None and validation_context is not None:
            found = validation_context.certificate_registry.retrieve_by_name(current.issuer)
            issuer = found[0] if found else None
        if issuer is None or issuer in chain:
            break
        chain.append(issuer)
        current = issuer
    return chain


def verify_signature_value(cert: x509.Certificate, signed_attrs: bytes, value: bytes) -> bool:
    """Does ``value`` sign ``signed_attrs`` with the key of ``cert`` (RSA PKCS#1 v1.5 / ECDSA)?"""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

    public = serialization.load_der_public_key(cert.public_key.dump())
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(value, signed_attrs, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(value, signed_attrs, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _signature_size(cert: x509.Certificate) -> int:
    key = cert.public_key
    if key.algorithm == "rsa":
        return key.bit_size // 8
    # DER ECDSA: two integers of the curve size, plus headers.
    return 2 * (key.bit_size // 8 + 3) + 8


# --- step 1 -----------------------------------------------------------------------------------


def purge_expired(now: datetime | None = None) -> int:
    """Expire waiting signatures past their deadline and drop their PDF bytes.

    Runs on every page that lists waiting signatures and periodically
    (:func:`signing.tasks.expire_pending_signatures`), so a prepared PDF never
    outlives its deadline by much. Returns how many were expired.
    """
    now = now or timezone.now()
    waiting = PendingSignature.objects.filter(status=PendingStatus.WAITING, expires_at__lt=now)
    # Most calls find nothing: no transaction (on SQLite, a write lock) for those.
    if not waiting.exists():
        return 0
    with transaction.atomic():
        # skip_locked: a row being completed right now is left to that request.
        due = list(waiting.select_for_update(skip_locked=True)
                   .values_list("pk", "token", "document_id"))
        if due:
            PendingSignature.objects.filter(
                pk__in=[pk for pk, _t, _d in due], status=PendingStatus.WAITING
            ).update(status=PendingStatus.EXPIRED, prepared_pdf=b"")
            documents = Document.objects.in_bulk({d for _p, _t, d in due})
            for _pk, token, document_id in due:
                document = documents[document_id]
                record(document, "signing.remote.expired", from_state=document.state,
                       to_state=document.state, comment=str(token))
    return len(due)


def drop_stale_bytes() -> int:
    """Finished, failed or expired requests keep no PDF: a safety net for older rows."""
    return PendingSignature.objects.exclude(status=PendingStatus.WAITING)\
        .exclude(prepared_pdf=b"").update(prepared_pdf=b"")


def _signer_certificate(user, sent: list[x509.Certificate]):
    profile = SignatureProfile.objects.select_related("key").filter(user=user).first()
    key = profile.key if profile is not None else None
    pinned = load_certificates(key.certificate_pem) if key is not None else []
    if key is not None and key.kind not in (KeyKind.REMOTE, KeyKind.PKCS11) and not sent:
        raise SignerError(_("Your key is kept on the server; sign directly instead of in two "
                            "steps."))
    if sent and pinned and sent[0].dump() != pinned[0].dump():
        raise SignerError(_("This certificate is not the one registered in your signing "
                            "profile."))
    certs = sent or pinned
    if not certs:
        raise SignerError(_("No certificate: send the certificate of the key that will sign."))
    return certs[0], certs[1:], profile


def prepare_remote_signature(user, pk, *, certificate: str | bytes | None = None,
                             chain: list[str] | None = None,
                             capacity: str | None = None) -> PendingSignature:
    """Prepare the competent person's signature of document ``pk`` for an outside device."""
    purge_expired()
    sent = load_certificates(certificate)
    for extra in chain or []:
        sent += load_certificates(extra)
    with _refusals(pk, user, "sign") as created, transaction.atomic():
        document = approved_for_signing(user, pk)
        cert, extra, profile = _signer_certificate(user, sent)
        name = user.full_name or user.get_full_name() or user.username
        from .trust import validation_context

        vc = validation_context(fetch=True)
        check_certificate(cert, expected_name=name, validation_context=vc)
        chain_certs = _complete_chain(cert, extra, vc)
        signed_in = capacities.resolve(user, document, capacity)
        data = _read_checked(ensure_rendered(document, user, created, signed_in))
        prepared = _prepare(data, chain_certs, name=name,
                            title=signed_in.appearance_title,
                            image=_image(profile.image) if profile else None,
                            location=document.unit.place_name,
                            reason=capacities.reason(pdfops.PERSON_REASON, signed_in))
        # A new preparation replaces any earlier one for this document.
        PendingSignature.objects.filter(document=document, status=PendingStatus.WAITING)\
            .update(status=PendingStatus.EXPIRED, prepared_pdf=b"")
        pending = PendingSignature.objects.create(
            document=document, user=user, certificate_pem=_pem_chain(chain_certs),
            content_hash=document.approved_hash, capacity=signed_in.code,
            expires_at=timezone.now() + timedelta(seconds=conf.pending_ttl()), **prepared)
        record(document, "signing.remote.prepared", actor=user, from_state=document.state,
               to_state=document.state,
               comment=f"{pending.token} digest {pending.data_to_sign_digest}")
        return pending


def _prepare(data: bytes, chain, *, name: str, title: str, image, location: str,
             reason: str = pdfops.PERSON_REASON) -> dict:
    from pyhanko.sign.signers import ExternalSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = ExternalSigner(signing_cert=chain[0],
                            cert_registry=SimpleCertificateStore.from_certs(chain),
                            signature_value=_signature_size(chain[0]))
    # No revocation data at this stage: it is added after the signature (B-LT).
    ctx = pdfops.SignContext(timestamper=timestamper(), validation_context=None,
                             embed_validation_info=False)
    pdf_signer, writer = pdfops.person_pdf_signer(data, signer, ctx, name=name, title=title,
                                                  signature_png=image, location=location,
                                                  reason=reason)

    async def run():
        digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(writer)
        attrs = await signer.signed_attrs(digest.document_digest, DIGEST_ALGORITHM,
                                          use_pades=True)
        return digest, attrs, output

    try:
        digest, attrs, output = asyncio.run(run())
    except SignerError:
        raise
    except Exception as exc:  # noqa: BLE001 - TSA sizing call, PDF errors
        raise SignerError(_("The PDF could not be prepared for signing: %(error)s")
                          % {"error": exc}) from exc
    attrs_der = attrs.dump()
    return {
        "prepared_pdf": output.getvalue(),
        "document_digest": digest.document_digest,
        "reserved_start": digest.reserved_region_start,
        "reserved_end": digest.reserved_region_end,
        "signed_attrs": attrs_der,
        "data_to_sign_digest": hashlib.sha256(attrs_der).hexdigest(),
    }


# --- step 2 -----------------------------------------------------------------------------------


def get_pending(user, token) -> PendingSignature:
    pending = PendingSignature.objects.filter(token=token, user=user).first()
    if pending is None:
        raise NotFound()
    return pending


def waiting_for(user):
    purge_expired()
    return PendingSignature.objects.filter(user=user, status=PendingStatus.WAITING)\
        .select_related("document").defer("prepared_pdf")


def complete_remote_signature(user, token, signature: bytes,
                              certificate: str | bytes | None = None) -> Document:
    """Finish the prepared PDF with ``signature`` and perform the "sign" transition."""
    pending = get_pending(user, token)
    if pending.status == PendingStatus.WAITING and pending.expires_at < timezone.now():
        PendingSignature.objects.filter(pk=pending.pk).update(status=PendingStatus.EXPIRED,
                                                              prepared_pdf=b"")
        pending.status = PendingStatus.EXPIRED
    if pending.status == PendingStatus.EXPIRED:
        message = _("This signature request has expired; prepare the signature again.")
        _refused(pending.document_id, user, "sign", message)
        raise SigningRefused(message)
    if pending.status != PendingStatus.WAITING:
        raise Conflict(_("This signature request was already used."))
    chain = load_certificates(pending.certificate_pem)
    sent = load_certificates(certificate)
    if sent and sent[0].dump() != chain[0].dump():
        raise SigningRefused(_("This certificate is not the one the signature was prepared "
                               "for."))
    pk = pending.document_id
    with _refusals(pk, user, "sign") as created, transaction.atomic():
        # Locks in a fixed order (pending, then document) so two posts cannot both finish.
        pending = PendingSignature.objects.select_for_update().get(pk=pending.pk)
        if pending.status != PendingStatus.WAITING:
            raise Conflict(_("This signature request was already used."))
        document = doc_services.get_for(user, pk, lock=True)
        _check_state(document, None, State.APPROVED)
        doc_services.get_for(user, pk, action=Action.SIGN)
        if document.content_hash() != pending.content_hash or \
                document.approved_hash != pending.content_hash:
            raise Conflict(_("The document changed after approval; it cannot be signed."))
        # The delegation must still be valid when the signature is finished.
        signed_in = capacities.resolve(user, document, pending.capacity or None)
        signed_attrs = bytes(pending.signed_attrs)
        if not verify_signature_value(chain[0], signed_attrs, signature):
            raise SignerError(_("The signature does not match the prepared data or the "
                                "certificate; nothing was signed."))
        data = _finish(pending, chain, signature)
        pdf = _store(document, PdfStage.SIGNED, data, user=user,
                     content_hash=document.approved_hash, created=created,
                     **signed_fields(signed_in))
        pending.status = PendingStatus.DONE
        pending.prepared_pdf = b""
        pending.save(update_fields=["status", "prepared_pdf"])
        document = doc_services.transition(user, pk, Action.SIGN, signed_at=timezone.now())
        record(document, "signing.signed", actor=user, from_state=State.APPROVED,
               to_state=document.state, version_hash=pdf.sha256,
               comment=f"two-step; {signed_in.label}; PDF {pdf.page_count} pages, "
                       f"SHA-256 {pdf.sha256}")
        return document


def _finish(pending: PendingSignature, chain, signature: bytes) -> bytes:
    from pyhanko.sign.signers import ExternalSigner
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
    from pyhanko.sign.timestamps import TimestampRequestError
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = ExternalSigner(signing_cert=chain[0],
                            cert_registry=SimpleCertificateStore.from_certs(chain),
                            signature_value=signature)
    digest = PreparedByteRangeDigest(document_digest=bytes(pending.document_digest),
                                     reserved_region_start=pending.reserved_start,
                                     reserved_region_end=pending.reserved_end)
    output = io.BytesIO(bytes(pending.prepared_pdf))
    tsa = timestamper()

    async def run():
        sig_cms = await signer.async_sign_prescribed_attributes(
            DIGEST_ALGORITHM, signed_attrs=cms.CMSAttributes.load(bytes(pending.signed_attrs)),
            timestamper=tsa)
        await PdfTBSDocument.async_finish_signing(output, digest, sig_cms)

    try:
        asyncio.run(run())
    except TimestampRequestError as exc:
        raise SignerError(_("The time-stamping service did not answer; nothing was signed."))\
            from exc
    except Exception as exc:  # noqa: BLE001 - e.g. the signature does not fit the reservation
        raise SignerError(_("Signing failed: %(error)s") % {"error": exc}) from exc
    return _add_revocation_data(output.getvalue())


def _add_revocation_data(data: bytes) -> bytes:
    """B-T → B-LT: OCSP/CRL answers and certificates into the DSS, if they can be fetched."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import add_validation_info

    from .trust import validation_context

    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        embedded = reader.embedded_signatures[-1]
        out = add_validation_info(embedded, validation_context(fetch=True),
                                  output=io.BytesIO())
        return out.getvalue()
    except Exception as exc:  # noqa: BLE001 - B-T is still a valid signature
        logger.info("revocation data could not be added (%s); keeping B-T", exc)
        return data
