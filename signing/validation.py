"""Verification of any PDF: every signature and document timestamp, with a verdict.

Trust roots are configuration: ``SIGNING_TRUST_ROOTS`` lists PEM/DER files
(VGCA, public CAs); in demo mode the local DEMO root is added, and reports
say so.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from . import conf

logger = logging.getLogger(__name__)


@dataclass
class SignatureReport:
    field: str
    kind: str  # "signature" or "timestamp"
    signer: str = ""
    certificate: str = ""
    issuer: str = ""
    serial: str = ""
    signing_time: str = ""
    timestamp_time: str = ""
    timestamp_authority: str = ""
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    revocation: str = ""
    level: str = ""
    modification: str = ""
    coverage: str = ""
    # False when a later revision changed more than form filling, annotations or validation
    # data (pyHanko's difference analysis says OTHER): the bytes this signature covers are
    # intact, but the document shown is not the one signed.
    changes_allowed: bool = True
    verdict: str = ""


@dataclass
class PdfReport:
    ok: bool
    message: str
    signatures: list[SignatureReport] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "message": self.message,
                "signatures": [asdict(s) for s in self.signatures]}


def trust_roots() -> list:
    from asn1crypto import pem, x509

    roots = []
    paths = conf.trust_root_files()
    demo = demo_root_path()
    if demo is not None:
        paths.append(demo)
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError:
            logger.warning("trust root %s cannot be read", path)
            continue
        blobs = [der for _t, _h, der in pem.unarmor(data, multiple=True)] \
            if pem.detect(data) else [data]
        roots += [x509.Certificate.load(der) for der in blobs]
    return roots


def demo_root_path() -> Path | None:
    if not conf.demo_enabled():
        return None
    path = conf.pki_dir() / "demo-root-UNTRUSTED.pem"
    return path if path.exists() else None


_demo_crl_cache: dict = {}


def demo_crls() -> list:
    """The DEMO PKI's CRLs, made in-process: the demo needs no OCSP/CRL server."""
    return _demo_material()[0]


def demo_ca_certs() -> list:
    """The DEMO intermediate CA, so paths build without fetching it."""
    return _demo_material()[1]


def _demo_material() -> tuple[list, list]:
    """Cached for ten minutes per PKI directory (each CRL costs a signature)."""
    if not conf.demo_enabled():
        return [], []
    import time

    from . import pki

    directory = conf.pki_dir()
    key = (str(directory), int(time.time() // 600))
    if key not in _demo_crl_cache:
        demo = pki.load(directory)
        try:
            material = (demo.crls(), [demo.cert("interm")]) if demo is not None else ([], [])
        except Exception as exc:  # noqa: BLE001 - a broken demo PKI only loses revocation data
            logger.warning("demo CRLs unavailable: %s", exc)
            material = ([], [])
        _demo_crl_cache.clear()
        _demo_crl_cache[key] = material
    return _demo_crl_cache[key]


def validation_context(*, fetch: bool = True, extra_roots=()):
    from pyhanko_certvalidator import ValidationContext

    backend = None
    if fetch:
        # The requests backend holds no event-loop-bound HTTP session, so nothing is
        # left unclosed when pyHanko's synchronous calls end their own event loops.
        from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

        backend = RequestsFetcherBackend(per_request_timeout=10)
    return ValidationContext(trust_roots=trust_roots() + list(extra_roots), allow_fetching=fetch,
                             fetcher_backend=backend, crls=demo_crls(),
                             other_certs=demo_ca_certs(), revocation_mode="soft-fail")


def _name(cert) -> str:
    try:
        return cert.subject.native.get("common_name") or cert.subject.human_friendly
    except Exception:  # noqa: BLE001 - a strange certificate still gets a report
        return ""


def _level(emb, has_dss: bool, later_doc_ts: bool, status) -> str:
    level = "B-B"
    if getattr(status, "timestamp_validity", None) is not None:
        level = "B-T"
        if has_dss:
            level = "B-LT"
            if later_doc_ts:
                level = "B-LTA"
    return level


def _verdict(report: SignatureReport) -> str:
    if not report.intact or not report.changes_allowed:
        return _("INVALID: the document was changed after this signature was made.")
    if not report.valid:
        return _("INVALID: the signature does not verify.")
    if report.revocation == "revoked":
        return _("INVALID: the certificate was revoked.")
    if not report.trusted:
        return _("Signature intact, but the certificate is not issued by a trusted authority.")
    if report.kind == "timestamp":
        return _("Valid document timestamp.")
    return _("Valid signature; the document has not been changed beyond what is allowed.")


def verify_pdf(data: bytes, *, fetch: bool = False) -> PdfReport:
    """Report on every signature and document timestamp in ``data``; never raises."""
    from pyhanko.pdf_utils.misc import PdfReadError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp

    if not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        return PdfReport(False, _("This file is not a PDF."))
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted:
            return PdfReport(False, _("The PDF is encrypted; it cannot be verified."))
        embedded = list(reader.embedded_signatures)
    except (PdfReadError, Exception) as exc:  # noqa: BLE001 - any parse failure is "damaged"
        logger.info("unreadable PDF: %s", exc)
        return PdfReport(False, _("The PDF is damaged and cannot be read."))
    if not embedded:
        return PdfReport(False, _("The PDF has no digital signature."))
    has_dss = "/DSS" in reader.root
    reports = []
    vc_roots = trust_roots()
    from pyhanko_certvalidator import ValidationContext

    for index, emb in enumerate(embedded):
        is_ts = emb.sig_object.get("/Type") == "/DocTimeStamp"
        report = SignatureReport(field=emb.field_name or "", kind="timestamp" if is_ts else
                                 "signature")
        later_ts = any(e.sig_object.get("/Type") == "/DocTimeStamp"
                       for e in embedded[index + 1:])
        try:
            vc = ValidationContext(trust_roots=vc_roots, allow_fetching=fetch,
                                   revocation_mode="soft-fail")
            if is_ts:
                status = validate_pdf_timestamp(emb, validation_context=vc)
            else:
                status = validate_pdf_signature(emb, signer_validation_context=vc,
                                                ts_validation_context=vc)
        except Exception as exc:  # noqa: BLE001 - a broken signature is reported, not raised
            logger.info("signature %s failed to validate: %s", report.field, exc)
            report.verdict = _("INVALID: the signature is damaged.")
            reports.append(report)
            continue
        cert = status.signing_cert
        report.signer = _name(cert) if cert else ""
        report.certificate = cert.subject.human_friendly if cert else ""
        report.issuer = cert.issuer.human_friendly if cert else ""
        report.serial = format(cert.serial_number, "x") if cert else ""
        report.intact = bool(status.intact)
        report.valid = bool(status.valid)
        report.trusted = bool(status.trusted)
        report.coverage = status.coverage.name if status.coverage else ""
        modification = getattr(status, "modification_level", None)
        report.modification = modification.name if modification is not None else ""
        report.changes_allowed = report.modification != "OTHER"
        if getattr(status, "signer_reported_dt", None):
            report.signing_time = status.signer_reported_dt.isoformat()
        ts = getattr(status, "timestamp_validity", None)
        if is_ts:
            report.timestamp_time = status.timestamp.isoformat() if status.timestamp else ""
            report.timestamp_authority = report.signer
            report.level = "DocTimeStamp"
        else:
            if ts is not None:
                report.timestamp_time = ts.timestamp.isoformat()
                report.timestamp_authority = _name(ts.signing_cert)
            report.level = _level(emb, has_dss, later_ts, status)
        revoked = False
        if getattr(status, "revocation_details", None) is not None:
            revoked = True
        report.revocation = "revoked" if revoked else ("good" if report.trusted else "unknown")
        if not report.intact or not report.valid:
            report.revocation = report.revocation or "unknown"
        report.verdict = _verdict(report)
        reports.append(report)
    ok = all(r.intact and r.valid and r.changes_allowed for r in reports)
    message = _("All signatures are intact and valid.") if ok else \
        _("At least one signature is invalid.")
    if ok and _unsigned_tail(data, reader, embedded[-1], reports[-1]):
        # Each signature is intact over the bytes it signed, but the file is more than
        # that: a stored PDF with bytes appended must not be called valid (issue 23 #10).
        ok = False
        message = _("Bytes were added after the last signature: this is not the file that "
                    "was signed.")
    return PdfReport(ok, message, reports)


def _unsigned_tail(data: bytes, reader, last, report: SignatureReport) -> bool:
    """True when bytes follow what the signatures and the later revisions account for."""
    end = data.rstrip(b"\r\n\t\f \x00")
    if not end.endswith(b"%%EOF"):
        return True
    try:
        last_revision = reader.xrefs.total_revisions - 1
        if last.signed_revision == last_revision:
            # Nothing came after the last signature: it must cover the whole file.
            return report.coverage != "ENTIRE_FILE"
    except Exception:  # noqa: BLE001 - an odd structure: do not vouch for the file
        return True
    # Later revisions (validation data) were judged by pyHanko's diff analysis above.
    return False
