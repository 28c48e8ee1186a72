"""Signing operations: render, the person's signature, issue (number + date + seal).

Registered as the handlers of the "sign" and "issue" actions, so views, API
and CLI that call ``workflow.documents.services.perform`` get the PDF work
and the state change in ONE transaction: any failure rolls both back, the
register number included. Refusals are written to the audit log after the
rollback so they are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.access import Action
from workflow.audit.services import record
from workflow.documents import services as doc_services
from workflow.documents.errors import Conflict, InvalidInput, WorkflowError
from workflow.documents.models import Document, FileKind, State

from . import capacity as capacities
from . import conf, pdfops, render
from .models import PdfStage, SealProfile, SignatureProfile, SignedPdf
from .signers import SignerError, check_certificate, open_signer, path_refusal, reuse_signers

logger = logging.getLogger(__name__)


class SigningRefused(InvalidInput):
    """Signing or issuing was refused; nothing was signed or issued."""


# --- shared pieces ------------------------------------------------------------------------


_timestampers: dict = {}
_ssl_context = None


def _tls_context():
    """One TLS context for every TSA call (building one loads the CA bundle: ~50 ms)."""
    global _ssl_context
    if _ssl_context is None:
        import ssl

        try:
            import certifi

            _ssl_context = ssl.create_default_context(cafile=certifi.where())
        except ImportError:
            _ssl_context = ssl.create_default_context()
    return _ssl_context


def _http_timestamper(url: str):
    from contextlib import asynccontextmanager

    import aiohttp
    from pyhanko.sign.timestamps import HTTPTimeStamper

    class SharedTlsTimeStamper(HTTPTimeStamper):
        # pyHanko opens a session per request (each signature runs in its own
        # event loop); only the TLS context, which is loop-independent, is shared.
        @asynccontextmanager
        async def _acquire_session(self):
            connector = aiohttp.TCPConnector(ssl=_tls_context())
            async with aiohttp.ClientSession(connector=connector) as session:
                yield session

    return SharedTlsTimeStamper(url, timeout=10)


def timestamper():
    """The configured TSA client, reused: pyHanko caches its size-estimation answer in it."""
    url = conf.tsa_url()
    if url:
        if url not in _timestampers:
            _timestampers[url] = _http_timestamper(url)
        return _timestampers[url]
    if conf.demo_enabled():
        from . import pki

        key = ("demo", str(conf.pki_dir()))
        if key not in _timestampers:
            demo = pki.load(conf.pki_dir())
            if demo is None:
                raise SignerError(_("No time-stamping service is configured "
                                    "(SIGNING_TSA_URL)."))
            _timestampers[key] = demo.timestamper()
        return _timestampers[key]
    raise SignerError(_("No time-stamping service is configured (SIGNING_TSA_URL)."))


def sign_context(*, ltv: bool = True, vc=None) -> pdfops.SignContext:
    """``vc``: the validation context the certificate check already filled (revocation
    answers, fetched certificates), so nothing is fetched twice."""
    from .trust import validation_context

    return pdfops.SignContext(timestamper=timestamper(),
                              validation_context=vc or validation_context(fetch=True),
                              embed_validation_info=ltv)


def _store(document: Document, stage: str, data: bytes, *, user=None, content_hash: str = "",
           source_file=None, created: list | None = None,
           page_count: int | None = None, **signed_in) -> SignedPdf:
    """``page_count``: known when ``data`` is an incremental update of a counted PDF
    (signatures and form filling add no pages), which saves parsing it again."""
    digest = hashlib.sha256(data).hexdigest()
    if page_count is None:
        page_count = render.page_count_of(data)
    pdf = SignedPdf(document=document, stage=stage, sha256=digest, size=len(data),
                    page_count=page_count, content_hash=content_hash,
                    created_by=user if getattr(user, "is_authenticated", False) else None,
                    source_file=source_file, **signed_in)
    pdf.blob.save(f"{stage}.pdf", ContentFile(data), save=False)
    if created is not None:
        created.append(pdf)
    pdf.save()
    return pdf


def _read_checked(pdf: SignedPdf) -> bytes:
    data = pdf.read()
    if hashlib.sha256(data).hexdigest() != pdf.sha256:
        raise Conflict(_("The stored PDF does not match its recorded checksum; it was altered."))
    return data


def latest(document: Document, stage: str) -> SignedPdf | None:
    return document.pdf_versions.filter(stage=stage, source_file__isnull=True).order_by(
        "-created_at", "-pk").first()


_SHOWN_STAGES = (PdfStage.ISSUED, PdfStage.SIGNED, PdfStage.ATTACHMENT)


def published_pdfs(document: Document) -> list[SignedPdf]:
    """The signed PDFs a document page lists: issued first, then signed, then attachments.

    The preview rendered for signing is not one of them (it carries no signature).
    """
    pdfs = list(document.pdf_versions.filter(stage__in=_SHOWN_STAGES)
                .select_related("created_by", "source_file"))
    order = {stage: index for index, stage in enumerate(_SHOWN_STAGES)}
    pdfs.sort(key=lambda p: (order[p.stage], -p.created_at.timestamp(), -p.pk))
    return pdfs


def ensure_rendered(document: Document, user=None, created: list | None = None,
                    capacity: capacities.SigningCapacity | None = None) -> SignedPdf:
    """The PDF of the document's current content, rendered once and kept.

    ``capacity``: the one the signer signs in (default: the signer's first). A stored
    rendering is reused only when everything printed is the same (content, capacity,
    marks, recipients: :func:`signing.capacity.layout_key`).
    """
    content_hash = document.content_hash()
    layout = render.layout_for(document, capacity)
    key = capacities.layout_key(layout)
    existing = document.pdf_versions.filter(stage=PdfStage.RENDERED, content_hash=content_hash,
                                            layout_key=key).first()
    if existing is not None:
        return existing
    try:
        rendered = render.render_document(document, layout)
    except render.RenderError as exc:
        raise InvalidInput(str(exc)) from exc
    return _store(document, PdfStage.RENDERED, rendered.data, user=user,
                  content_hash=content_hash, created=created, page_count=rendered.page_count,
                  layout_key=key)


def _refused(document_id, user, action: str, message: str) -> None:
    """Audit a refusal after the rollback, so the record survives it."""
    document = Document.objects.filter(pk=document_id).first()
    if document is not None:
        with transaction.atomic():
            record(document, f"signing.{action}.refused", actor=user, from_state=document.state,
                   to_state=document.state, comment=message[:2000])


def _cleanup(created: list[SignedPdf]) -> None:
    for pdf in created:
        try:
            pdf.blob.delete(save=False)
        except OSError:
            logger.warning("could not delete %s", pdf.blob.name)


@contextmanager
def _refusals(pk, user, action: str):
    """Around a signing transaction: yields the list of files written so far.

    On failure those files are deleted (the transaction only rolls back rows) and
    the refusal is audited after the rollback, so its record survives; signer
    errors become :class:`SigningRefused` with the signer's message.
    """
    created: list[SignedPdf] = []
    try:
        yield created
    except SignerError as exc:
        _cleanup(created)
        _refused(pk, user, action, str(exc))
        raise SigningRefused(str(exc)) from exc
    except WorkflowError as exc:
        _cleanup(created)
        _refused(pk, user, action, str(exc.message))
        raise
    except Exception:
        _cleanup(created)
        raise


def _sign_with_fallback(op, *, ltv_first: bool = True, vc=None):
    """Sign at B-LT; if validation data cannot be gathered, at B-T. TSA errors refuse."""
    from pyhanko.sign.timestamps import TimestampRequestError

    try:
        return op(sign_context(ltv=ltv_first, vc=vc))
    except TimestampRequestError as exc:
        raise SignerError(_("The time-stamping service did not answer; nothing was signed."))\
            from exc
    except SignerError:
        raise
    except Exception as exc:  # noqa: BLE001 - retried without revocation data below
        # At B-LT pyHanko validates the signer's path first: a revoked or untrusted
        # certificate is refused, never retried at B-T.
        refusal = path_refusal(exc, signing=True)
        if refusal is not None:
            raise refusal from exc
        if not ltv_first:
            raise SignerError(_("Signing failed: %(error)s") % {"error": exc}) from exc
        logger.info("B-LT signing failed (%s); retrying at B-T", exc)
    try:
        return op(sign_context(ltv=False))
    except TimestampRequestError as exc:
        raise SignerError(_("The time-stamping service did not answer; nothing was signed."))\
            from exc
    except SignerError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SignerError(_("Signing failed: %(error)s") % {"error": exc}) from exc


def _image(field) -> bytes | None:
    if not field:
        return None
    with field.open("rb") as handle:
        return handle.read()


def _check_state(document: Document, expected_state: str | None, needed: str) -> None:
    if expected_state and document.state != expected_state:
        raise Conflict(
            _("This document is already “%(state)s”; your action was not applied again.")
            % {"state": document.get_state_display()}
        )
    if document.state != needed:
        raise Conflict(
            _("This document is “%(state)s”; it cannot be processed now.")
            % {"state": document.get_state_display()}
        )


# --- the competent person's signature --------------------------------------------------------


def approved_for_signing(user, pk, expected_state: str | None = None) -> Document:
    """The document ``user`` may sign now, locked: approved, and unchanged since approval.

    The row lock makes a second click wait, then find the state moved on.
    """
    document = doc_services.get_for(user, pk, lock=True)
    _check_state(document, expected_state, State.APPROVED)
    doc_services.get_for(user, pk, action=Action.SIGN)
    if document.content_hash() != document.approved_hash:
        raise Conflict(_("The document changed after approval; it cannot be signed."))
    return document


def sign_document(user, pk, action: str = "sign", *, comment: str = "",
                  expected_state: str | None = None, capacity: str | None = None,
                  **kwargs) -> Document:
    """PAdES approval signature of the named signer, then the "sign" transition.

    ``capacity``: the code the signer chose (TM, KT, Q, TUQ, TL); by default the first
    they hold. Outside a valid delegation signing is refused (Decree 30 Art. 13).
    """
    with _refusals(pk, user, "sign") as created, transaction.atomic():
        document = approved_for_signing(user, pk, expected_state)
        signed_in = capacities.resolve(user, document, capacity)
        base = ensure_rendered(document, user, created, signed_in)
        data = _read_checked(base)
        profile = SignatureProfile.objects.select_related("key").filter(user=user).first()
        if profile is None or profile.key is None:
            raise SignerError(_("You have no signing key configured in your profile."))
        name = user.full_name or user.get_full_name() or user.username
        image = _image(profile.image)
        with open_signer(profile.key) as signer:
            from .trust import validation_context

            # Dates, usage and name here; the path (trust, revocation) is validated by
            # pyHanko before it signs, with the same context, and refused as here.
            check_certificate(signer.signing_cert, expected_name=name)
            vc = validation_context(fetch=True)
            signed = _sign_with_fallback(lambda ctx: pdfops.sign_person(
                data, signer, ctx, name=name, title=signed_in.appearance_title,
                signature_png=image, location=document.unit.place_name,
                reason=capacities.reason(pdfops.PERSON_REASON, signed_in)), vc=vc)
        pdf = _store(document, PdfStage.SIGNED, signed, user=user,
                     content_hash=document.approved_hash, created=created,
                     page_count=base.page_count, **signed_fields(signed_in))
        document = doc_services.transition(user, pk, Action.SIGN, comment=comment,
                                           signed_at=timezone.now())
        record(document, "signing.signed", actor=user, from_state=State.APPROVED,
               to_state=document.state, version_hash=pdf.sha256,
               comment=f"{signed_in.label}; PDF {pdf.page_count} pages, SHA-256 {pdf.sha256}")
        return document


def signed_fields(signed_in: capacities.SigningCapacity) -> dict:
    """What a signed PDF row keeps of the capacity it was signed in."""
    return {"capacity": signed_in.code, "authority": signed_in.label[:400],
            "delegation_id": signed_in.delegation_id}


def approve_and_sign(user, pk, *, comment: str = "",
                     expected_state: str | None = None, capacity: str | None = None) -> Document:
    """Approval and the approval signature as one decision of the same leader.

    Both or neither: a refused signature leaves the document awaiting approval, as
    before the click. The refusal is audited after the rollback, so it is kept.
    """
    try:
        with transaction.atomic():
            doc_services.perform(user, pk, Action.APPROVE.value, comment=comment,
                                 expected_state=expected_state)
            return sign_document(user, pk, expected_state=State.APPROVED, capacity=capacity)
    except WorkflowError as exc:
        _refused(pk, user, "sign", str(exc.message))
        raise


def can_sign_at_once(user) -> bool:
    """Whether ``user`` signs on the server (key file, HSM, CSC), not on their own token."""
    from .models import KeyKind

    profile = SignatureProfile.objects.select_related("key").filter(user=user).first()
    return bool(profile and profile.key and profile.key.kind != KeyKind.REMOTE)


# --- number, date, seal --------------------------------------------------------------------


def date_line(place: str, moment: dt.datetime) -> str:
    """Appendix I §II.4: day < 10 and months 1, 2 get a leading zero."""
    local = timezone.localtime(moment, pdfops.VN)
    month = f"{local.month:02d}" if local.month < 3 else str(local.month)
    text = f"ngày {local.day:02d} tháng {month} năm {local.year}"
    return f"{place}, {text}" if place else text.capitalize()


def issue_document(user, pk, action: str = "issue", *, comment: str = "",
                   expected_state: str | None = None, **kwargs) -> Document:
    """Number, date and the organisation's seal signature (B-LTA), atomically."""
    with _refusals(pk, user, "issue") as created, transaction.atomic():
        document = doc_services.get_for(user, pk, lock=True)
        _check_state(document, expected_state, State.SIGNED)
        # Permission before anything else: a refusal must not reveal PDF state.
        doc_services.get_for(user, pk, action=Action.ISSUE)
        signed = latest(document, PdfStage.SIGNED)
        if signed is None:
            raise Conflict(_("The document has no digitally signed PDF to issue."))
        data = _read_checked(signed)
        seal = SealProfile.objects.select_related("key").filter(unit=document.unit).first()
        if seal is None or seal.key is None:
            raise SignerError(_("The organisation has no seal key configured."))
        # Takes the number inside this transaction: a failure below gives it back.
        document = doc_services.transition(user, pk, Action.ISSUE, comment=comment)
        filled = pdfops.fill_fields(data, {
            render.NUMBER_FIELD: document.symbol,
            render.DATE_FIELD: date_line(document.unit.place_name, document.issued_at),
        })
        image = _image(seal.image)
        with open_signer(seal.key) as signer:
            from .trust import validation_context

            check_certificate(signer.signing_cert, expected_name="")  # path: see above
            vc = validation_context(fetch=True)
            sealed = _sign_with_fallback(lambda ctx: pdfops.sign_seal(
                filled, signer, ctx, organisation=document.unit.name, seal_png=image),
                vc=vc)
            pdf = _store(document, PdfStage.ISSUED, sealed, user=user,
                         content_hash=signed.content_hash, created=created,
                         page_count=signed.page_count, capacity=signed.capacity,
                         authority=signed.authority, delegation_id=signed.delegation_id)
            for file in document.files.filter(kind=FileKind.ATTACHMENT).select_related(
                    "current_version"):
                version = file.current_version
                if version is None or version.content_type != "application/pdf":
                    continue
                with version.blob.open("rb") as handle:
                    attachment = handle.read()
                out = _sign_with_fallback(lambda ctx, a=attachment: pdfops.sign_attachment(
                    a, signer, ctx, organisation=document.unit.name, symbol=document.symbol),
                    vc=vc)
                _store(document, PdfStage.ATTACHMENT, out, user=user, source_file=file,
                       content_hash=signed.content_hash, created=created)
        record(document, "signing.issued", actor=user, from_state=State.SIGNED,
               to_state=document.state, version_hash=pdf.sha256,
               comment=f"{document.symbol}; PDF {pdf.page_count} pages, SHA-256 {pdf.sha256}")
        return document


def issue_many(user, pks, progress=None) -> list[dict]:
    """Issue several documents, each in its own transaction; one failure does not stop the rest."""
    results = []
    pks = list(pks)
    with reuse_signers():
        for index, pk in enumerate(pks, 1):
            results.append(_issue_one(user, pk))
            if progress is not None:
                progress(index, len(pks), results[-1])
    return results


def sign_many(user, pks, progress=None) -> list[dict]:
    """Sign several approved documents, each in its own transaction (batch "Ký số")."""
    results = []
    pks = list(pks)
    with reuse_signers():
        for index, pk in enumerate(pks, 1):
            results.append(_sign_one(user, pk))
            if progress is not None:
                progress(index, len(pks), results[-1])
    return results


def _sign_one(user, pk) -> dict:
    try:
        sign_document(user, pk, expected_state=State.APPROVED)
        return {"pk": pk, "ok": True, "symbol": "", "message": ""}
    except WorkflowError as exc:
        return {"pk": pk, "ok": False, "symbol": "", "message": str(exc.message)}
    except Exception as exc:  # noqa: BLE001 - reported per document, the batch goes on
        logger.exception("signing %s failed", pk)
        return {"pk": pk, "ok": False, "symbol": "",
                "message": _("Unexpected error: %(error)s") % {"error": exc}}


def _issue_one(user, pk) -> dict:
    try:
        document = issue_document(user, pk, expected_state=State.SIGNED)
        return {"pk": pk, "ok": True, "symbol": document.symbol, "message": ""}
    except WorkflowError as exc:
        return {"pk": pk, "ok": False, "symbol": "", "message": str(exc.message)}
    except Exception as exc:  # noqa: BLE001 - reported per document, the batch goes on
        logger.exception("issuing %s failed", pk)
        return {"pk": pk, "ok": False, "symbol": "",
                "message": _("Unexpected error: %(error)s") % {"error": exc}}
