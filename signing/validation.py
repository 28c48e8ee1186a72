"""Verification of any PDF: every signature and document timestamp, with a verdict.

Trust roots are configuration: ``SIGNING_TRUST_ROOTS`` lists PEM/DER files
(VGCA, public CAs); in demo mode the local DEMO root is added, and reports
say so. This module judges (integrity, certificate path, revocation at the proven time,
modifications after signing) and owns the entry points ``verify_pdf`` and ``verify_upload``; it
may call :mod:`signing.revinfo` (the evidence), :mod:`signing.trust` (roots) and
:mod:`signing.verdicts` (the report and its words).
"""

from __future__ import annotations

import io
import logging
from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext as _

from .revinfo import _evidence_for, _Inputs, _inputs, _signature_revinfo
from .trust import load_certificates
from .verdicts import (
    _SEVERITY,
    FAILED,
    INDETERMINATE,
    PASSED,
    REVOCATION_GOOD,
    REVOCATION_NOT_CHECKED,
    REVOCATION_REVOKED,
    SOURCE_DSS,
    SOURCE_SIGNATURE,
    PdfReport,
    SignatureReport,
    TrustRootError,
    local_time,
    modification_label,
)

logger = logging.getLogger(__name__)


def _name(cert) -> str:
    try:
        return cert.subject.native.get("common_name") or cert.subject.human_friendly
    except Exception:  # noqa: BLE001 - a strange certificate still gets a report
        return ""


def _level(has_ts: bool, has_revinfo: bool, later_doc_ts: bool) -> str:
    level = "B-B"
    if has_ts:
        level = "B-T"
        if has_revinfo:
            level = "B-LT"
            if later_doc_ts:
                level = "B-LTA"
    return level


def _anchor(report: SignatureReport, path, inputs: _Inputs) -> None:
    try:
        anchor = path.trust_anchor
        cert = getattr(anchor, "certificate", None) or path.first
    except Exception:  # noqa: BLE001
        return
    report.trust_anchor = _name(cert) if cert is not None else ""
    if cert is None:
        return
    if inputs.demo_root is not None and cert.sha256 == inputs.demo_root.sha256:
        report.trust_anchor_kind = "demo"
    elif any(cert.sha256 == root.sha256 for root in inputs.request_roots):
        report.trust_anchor_kind = "request"
    else:
        report.trust_anchor_kind = "configured"


# Sub-indications pyHanko/certvalidator give when the path was otherwise fine but the
# revocation data the "require" policy asks for was missing or unusable.
_REVINFO_MISSING = {"CERTIFICATE_CHAIN_GENERAL_FAILURE", "TRY_LATER"}


def _judge_path(report: SignatureReport, status, rerun, inputs: _Inputs, poe: datetime | None,
                claimed: datetime | None, vc) -> None:
    """Verdict of the certificate side: trust, validity period, revocation.

    ``rerun(mode, moment)`` validates again with another revocation policy or at another
    time and returns (status, context).
    """
    indic = status.trust_problem_indic
    name = indic.name if indic is not None else ""
    if indic is not None and name in _REVINFO_MISSING:
        soft, soft_vc = rerun("soft-fail", None)
        soft_name = soft.trust_problem_indic.name if soft.trust_problem_indic else ""
        if soft.trust_problem_indic is None and soft.validation_path is not None:
            report.trusted = True
            _anchor(report, soft.validation_path, inputs)
            report.revocation = REVOCATION_NOT_CHECKED
            report.revocation_evidence = [e for e in _evidence_for(status.signing_cert, soft_vc,
                                                                   inputs.sources)]
            report.verdict, report.sub_indication = INDETERMINATE, "TRY_LATER"
            report.reason = (_("The revocation status of the certificate could not be obtained "
                               "from its issuer.") if inputs.fetchers is not None else
                             _("The revocation status of the certificate was not checked: the "
                               "file carries no usable OCSP response or CRL for it and none was "
                               "fetched (ask for fetching to check it online)."))
            return
        if soft_name not in _REVINFO_MISSING:
            status, vc, indic, name = soft, soft_vc, soft.trust_problem_indic, soft_name
    if indic is None and status.validation_path is not None:
        report.trusted = True
        _anchor(report, status.validation_path, inputs)
        report.revocation_evidence = _evidence_for(status.signing_cert, vc, inputs.sources)
        if any(e.status == REVOCATION_REVOKED for e in report.revocation_evidence):
            # The validator found the certificate good, yet an OCSP response or CRL at hand
            # says revoked: it was not used (unusable, or passed over). Never "not revoked"
            # against evidence saying otherwise.
            report.revocation = REVOCATION_NOT_CHECKED
            report.verdict, report.sub_indication = (INDETERMINATE,
                                                     "CERTIFICATE_CHAIN_GENERAL_FAILURE")
            report.reason = _("An OCSP response or CRL says the certificate is revoked, but "
                              "the check could not use it: the signature is not confirmed.")
            return
        report.revocation = REVOCATION_GOOD
        report.verdict, report.sub_indication = PASSED, ""
        return
    cert = status.signing_cert
    details = getattr(status, "revocation_details", None)
    if name in ("REVOKED_NO_POE", "REVOKED_CA_NO_POE") and details is not None:
        revoked_at = details.revocation_date
        report.revocation = REVOCATION_REVOKED
        report.revocation_time = revoked_at
        report.revocation_evidence = _evidence_for(cert, vc, inputs.sources)
        if poe is not None and poe < revoked_at:
            later, later_vc = rerun("require", poe)
            if later.trust_problem_indic is None and later.validation_path is not None:
                report.trusted = True
                _anchor(report, later.validation_path, inputs)
                report.validation_time = poe
                report.verdict, report.sub_indication = PASSED, ""
                report.reason = _(
                    "The certificate was revoked on %(revoked)s, after the trusted timestamp "
                    "of %(poe)s: the signature was made before the revocation and stays "
                    "valid.") % {"revoked": local_time(revoked_at), "poe": local_time(poe)}
                return
        if name == "REVOKED_NO_POE" and claimed is not None and claimed >= revoked_at:
            report.verdict, report.sub_indication = FAILED, "REVOKED"
            report.reason = _("The certificate was revoked on %(revoked)s, before this "
                              "signature was made (%(claimed)s).") % {
                "revoked": local_time(revoked_at), "claimed": local_time(claimed)}
            return
        report.verdict, report.sub_indication = INDETERMINATE, name
        report.reason = (_(
            "The certificate was revoked on %(revoked)s and nothing proves the signature "
            "existed before that.") if name == "REVOKED_NO_POE" else _(
            "A certificate authority of the chain was revoked on %(revoked)s and nothing "
            "proves the signature existed before that.")) % {"revoked": local_time(revoked_at)}
        return
    if name == "OUT_OF_BOUNDS_NO_POE":
        if poe is not None and cert.not_valid_before <= poe <= cert.not_valid_after:
            later, later_vc = rerun("require", poe)
            if later.trust_problem_indic is None and later.validation_path is not None:
                report.trusted = True
                _anchor(report, later.validation_path, inputs)
                report.validation_time = poe
                report.revocation = REVOCATION_GOOD
                report.revocation_evidence = _evidence_for(cert, later_vc, inputs.sources)
                report.verdict, report.sub_indication = PASSED, ""
                report.reason = _(
                    "The certificate is no longer valid, but a trusted timestamp proves the "
                    "signature was made on %(poe)s, while it was.") % {"poe": local_time(poe)}
                return
        report.trusted = status.validation_path is not None
        report.verdict, report.sub_indication = INDETERMINATE, name
        report.reason = _("The certificate was valid from %(start)s to %(end)s, and no trusted "
                          "timestamp proves the signature was made within that period.") % {
            "start": local_time(cert.not_valid_before), "end": local_time(cert.not_valid_after)}
        return
    report.verdict, report.sub_indication = INDETERMINATE, name or "NO_CERTIFICATE_CHAIN_FOUND"
    if report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND":
        report.reason = _("The certificate does not lead to a trusted root: anyone can make a "
                          "certificate with any name, so the signer is not confirmed.")
    elif name in ("CHAIN_CONSTRAINTS_FAILURE", "SIG_CONSTRAINTS_FAILURE"):
        report.reason = _("The certificate may not be used for this signature (key usage or "
                          "chain constraints).")
    elif name == "TRY_LATER":
        report.reason = _("The revocation data for the certificate is out of date; check "
                          "again later or fetch fresh data.")
    else:
        report.reason = _("The certificate chain could not be validated (%(code)s).") % {
            "code": name}


def _fail(report: SignatureReport, sub: str, reason: str) -> SignatureReport:
    report.verdict, report.sub_indication, report.reason = FAILED, sub, reason
    return report


def _cert_fields(report: SignatureReport, cert) -> None:
    if cert is None:
        return
    report.signer = _name(cert)
    try:
        report.organisation = cert.subject.native.get("organization_name") or ""
        report.issuer_name = cert.issuer.native.get("common_name") or ""
    except Exception:  # noqa: BLE001, S110 - a strange certificate still gets a report
        pass
    report.certificate = cert.subject.human_friendly
    report.issuer = cert.issuer.human_friendly
    report.serial = format(cert.serial_number, "x")


def _integrity(report: SignatureReport, status) -> SignatureReport | None:
    """FAILED verdicts any signature or timestamp can get from its bytes; None if none."""
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    report.intact = bool(status.intact)
    report.valid = report.intact and bool(status.valid)
    report.coverage = status.coverage.name if status.coverage else ""
    modification = getattr(status, "modification_level", None)
    report.modification = modification.name if modification is not None else ""
    if not status.intact:
        return _fail(report, "HASH_FAILURE",
                     _("The document was changed after this signature was made."))
    if not status.valid:
        return _fail(report, "SIG_CRYPTO_FAILURE",
                     _("The signature value does not verify with the certificate's key."))
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE,
                               SignatureCoverageLevel.ENTIRE_REVISION):
        return _fail(report, "FORMAT_FAILURE",
                     _("The signature does not cover the whole revision of the file it "
                       "signed."))
    allowed = getattr(status, "docmdp_ok", None)
    if allowed is None and report.modification:
        # Document timestamps carry no DocMDP verdict: only "other" changes are suspicious.
        allowed = report.modification != "OTHER"
    if allowed is not None:
        report.modification_allowed = bool(allowed)
        if not allowed:
            return _fail(report, "SIG_CONSTRAINTS_FAILURE", _(
                "The file was changed after this signature beyond what the signature allows "
                "(%(level)s).") % {"level": modification_label(report.modification)})
    return None


def _passed_reason(report: SignatureReport) -> str:
    if report.kind == "timestamp":
        return _("Valid document timestamp from a trusted authority.")
    return _("Valid signature from a trusted certificate, not revoked; the document was not "
             "changed beyond what the signature allows.")


def _check_signature(emb, inputs: _Inputs, *, later_doc_ts: bool,
                     has_dss: bool) -> SignatureReport:
    from pyhanko.sign.validation import validate_pdf_signature

    report = SignatureReport(field=emb.field_name or "", kind="signature")
    sig_crls, sig_ocsps = _signature_revinfo(emb)
    for item in sig_crls + sig_ocsps:
        inputs.sources.setdefault(item.dump(), SOURCE_SIGNATURE)
    # Timestamps are proof of existence; their authority's chain must be trusted, and
    # its revocation is checked where data is at hand.
    ts_vc = inputs.context(mode="soft-fail", crls=sig_crls, ocsps=sig_ocsps)

    def rerun(mode: str, moment):
        vc = inputs.context(mode=mode, crls=sig_crls, ocsps=sig_ocsps, moment=moment)
        return validate_pdf_signature(emb, signer_validation_context=vc,
                                      ts_validation_context=ts_vc), vc

    status, vc = rerun("require", None)
    _cert_fields(report, status.signing_cert)
    report.signing_time = getattr(status, "signer_reported_dt", None)
    ts = getattr(status, "timestamp_validity", None)
    poe = None
    if ts is not None:
        report.timestamp_time = ts.timestamp
        report.timestamp_authority = _name(ts.signing_cert)
        if ts.intact and ts.valid and ts.trusted:
            poe = ts.timestamp
    report.level = _level(ts is not None, has_dss or bool(sig_crls or sig_ocsps), later_doc_ts)
    if _integrity(report, status) is not None:
        return report
    if ts is not None and not (ts.intact and ts.valid):
        return _fail(report, "SIG_CRYPTO_FAILURE",
                     _("The timestamp inside this signature does not verify."))
    claimed = report.signing_time
    content_ts = getattr(status, "content_timestamp_validity", None)
    if content_ts is not None and content_ts.intact and content_ts.valid and content_ts.trusted:
        # A content timestamp proves the signature was made after it: a better bound
        # than the signer's own claim.
        claimed = max(claimed, content_ts.timestamp) if claimed else content_ts.timestamp
    _judge_path(report, status, rerun, inputs, poe, claimed, vc)
    if report.verdict == PASSED and ts is not None and poe is None:
        report.verdict, report.sub_indication = INDETERMINATE, "NO_POE"
        report.reason = _("The timestamp inside this signature comes from an authority "
                          "that is not trusted.")
    if report.verdict == PASSED and not report.reason:
        report.reason = _passed_reason(report)
    return report


def _check_timestamp(emb, inputs: _Inputs) -> SignatureReport:
    from pyhanko.sign.validation import validate_pdf_timestamp

    report = SignatureReport(field=emb.field_name or "", kind="timestamp",
                             level="DocTimeStamp")

    def rerun(mode: str, moment):
        vc = inputs.context(mode=mode, moment=moment)
        return validate_pdf_timestamp(emb, validation_context=vc), vc

    status, vc = rerun("require", None)
    _cert_fields(report, status.signing_cert)
    report.timestamp_time = status.timestamp
    report.timestamp_authority = report.signer
    if _integrity(report, status) is not None:
        return report
    _judge_path(report, status, rerun, inputs, None, None, vc)
    if report.verdict == PASSED and not report.reason:
        report.reason = _passed_reason(report)
    return report


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "this signature is broken", not "this program is broken"."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator.errors import PathError, ValidationError

    return (SignatureValidationError, PdfError, ValidationError, PathError, ValueError,
            KeyError, TypeError)


def _headline(verdict: str) -> str:
    return {
        PASSED: _("Every signature passed: intact, from trusted certificates, not revoked."),
        FAILED: _("At least one signature failed: do not rely on this file."),
        INDETERMINATE: _("At least one signature could not be confirmed: the file is not "
                         "verified (see the reasons)."),
    }[verdict]


def worst(verdicts) -> str:
    return max(verdicts, key=_SEVERITY.__getitem__, default=INDETERMINATE)


def verify_pdf(data: bytes | str | Path, *, fetch: bool = False,
               extra_roots=()) -> PdfReport:
    """Report on every signature and document timestamp in ``data``; never raises.

    ``data``: the PDF's bytes or a path to it. ``fetch``: download missing OCSP/CRL
    answers from the issuers (otherwise revocation is checked only against data embedded
    in the file, and in demo mode the DEMO CA's own CRL). ``extra_roots``: certificates
    (asn1crypto, see :func:`load_certificates`) trusted for this call only.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader

    if not isinstance(data, bytes | bytearray):
        try:
            data = Path(data).read_bytes()
        except OSError:
            return PdfReport(FAILED, _("The file cannot be read."), sub_indication="FORMAT_FAILURE")
    if not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        return PdfReport(FAILED, _("This file is not a PDF."), sub_indication="FORMAT_FAILURE")
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            return PdfReport(INDETERMINATE, _("The PDF is encrypted; it cannot be verified."),
                             sub_indication="FORMAT_FAILURE")
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # noqa: BLE001 - any parse failure is "damaged"
        logger.info("unreadable PDF: %s", exc)
        return PdfReport(FAILED, _("The PDF is damaged and cannot be read."),
                         sub_indication="FORMAT_FAILURE")
    if not embedded:
        return PdfReport(INDETERMINATE, _("The PDF has no digital signature."),
                         sub_indication="NO_SIGNATURE")
    inputs = _inputs(reader, fetch=fetch, extra_roots=extra_roots)
    has_dss = any(source == SOURCE_DSS for source in inputs.sources.values())
    expected = _expected_errors()
    reports = []
    for index, emb in enumerate(embedded):
        is_ts = emb.sig_object.get("/Type") == "/DocTimeStamp"
        later_ts = any(e.sig_object.get("/Type") == "/DocTimeStamp"
                       for e in embedded[index + 1:])
        try:
            if is_ts:
                report = _check_timestamp(emb, inputs)
            else:
                report = _check_signature(emb, inputs, later_doc_ts=later_ts, has_dss=has_dss)
        except expected as exc:
            report = SignatureReport(field=emb.field_name or "",
                                     kind="timestamp" if is_ts else "signature")
            _fail(report, "FORMAT_FAILURE", _("The signature is damaged and cannot be checked."))
            logger.info("signature %s cannot be checked: %s: %s", report.field,
                        type(exc).__name__, exc)
        except Exception:
            # Not an outcome of the file: a bug or an outage. Keep the traceback.
            logger.exception("verifying signature %s failed unexpectedly", emb.field_name)
            report = SignatureReport(field=emb.field_name or "",
                                     kind="timestamp" if is_ts else "signature",
                                     sub_indication="GENERIC",
                                     reason=_("The signature could not be checked because of "
                                              "an error on this server."))
        if not is_ts:
            from .capacity import from_reason

            report.capacity = from_reason(emb.sig_object.get("/Reason"))
        logger.info("verified %s %s: %s %s", report.kind, report.field, report.verdict,
                    report.sub_indication)
        reports.append(report)
    verdict = worst(r.verdict for r in reports)
    sub = next((r.sub_indication for r in reports if r.verdict == verdict), "")
    if verdict == PASSED and _unsigned_tail(data, reader, embedded[-1], reports[-1]):
        # Each signature is intact over the bytes it signed, but the file is more than
        # that: a stored PDF with bytes appended must not pass (issue 23 #10).
        return PdfReport(FAILED, _("Bytes were added after the last signature: this is not "
                                   "the file that was signed."), reports,
                         sub_indication="FORMAT_FAILURE", fetched=fetch)
    return PdfReport(verdict, _headline(verdict), reports, sub_indication=sub, fetched=fetch)


def _unsigned_tail(data: bytes, reader, last, report: SignatureReport) -> bool:
    """True when bytes follow what the signatures and the later revisions account for."""
    end = data.rstrip(b"\r\n\t\f \x00")
    if not end.endswith(b"%%EOF"):
        return True
    try:
        if last.signed_revision == reader.xrefs.total_revisions - 1:
            # Nothing came after the last signature: it must cover the whole file.
            return report.coverage != "ENTIRE_FILE"
    except Exception:  # noqa: BLE001 - an odd structure: do not vouch for the file
        return True
    # Later revisions (validation data) were judged by pyHanko's difference analysis.
    return False


MAX_ROOT_BYTES = 64 * 1024


class VerifyInputError(ValueError):
    """A verify request the page or the API refuses, with a translated message."""


def verify_upload(upload, *, root_upload=None, fetch: bool = False) -> PdfReport:
    """The verify page's and the API's one entry: size checks, the extra root, the report.

    Raises :class:`VerifyInputError` for input that cannot be verified at all.
    """
    from workflow.documents import uploads

    if upload is None:
        raise VerifyInputError(_("Choose a PDF file to verify."))
    if upload.size > uploads.max_upload_bytes():
        raise VerifyInputError(uploads._too_large_message())
    roots = []
    if root_upload is not None:
        if root_upload.size > MAX_ROOT_BYTES:
            raise VerifyInputError(_("The trust root is not a PEM or DER certificate."))
        try:
            roots = load_certificates(root_upload.read())
        except TrustRootError as exc:
            raise VerifyInputError(str(exc)) from exc
    return verify_pdf(upload.read(), fetch=fetch, extra_roots=roots)
