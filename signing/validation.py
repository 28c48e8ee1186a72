"""Verification of any PDF: every signature and document timestamp, with a verdict.

Trust roots are configuration: ``SIGNING_TRUST_ROOTS`` lists PEM/DER files
(VGCA, public CAs); in demo mode the local DEMO root is added, and reports
say so.
"""

from __future__ import annotations

import io
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from . import conf

logger = logging.getLogger(__name__)


# Verdicts of ETSI EN 319 102-1 (§ 5.1.3), worst last: a file is as good as its worst
# signature.
PASSED = "PASSED"
INDETERMINATE = "INDETERMINATE"
FAILED = "FAILED"
_SEVERITY = {PASSED: 0, INDETERMINATE: 1, FAILED: 2}

# Exit codes of ``manage.py verify_pdf`` (documented in docs/signing.md). 1 stays for a file
# or trust root that cannot be read (CommandError) and 2 for a usage error (argparse).
EXIT_CODES = {PASSED: 0, INDETERMINATE: 3, FAILED: 4}

# Revocation status of the signing certificate, only from evidence actually checked.
REVOCATION_GOOD = "good"
REVOCATION_REVOKED = "revoked"
REVOCATION_NOT_CHECKED = "not_checked"

# Where a piece of revocation evidence came from.
SOURCE_DSS = "embedded_dss"  # the document security store (DSS/VRI) of the PDF
SOURCE_SIGNATURE = "embedded_signature"  # adbe-revocation-info-archival signed attribute
SOURCE_FETCHED = "fetched"  # downloaded now because the caller asked (--fetch)
SOURCE_DEMO = "demo_local"  # CRL made on this server by the DEMO CA (demo mode only)


class TrustRootError(ValueError):
    """An extra trust root given with the request is not a certificate."""


@dataclass
class Evidence:
    """One OCSP response or CRL that answered for the signing certificate."""

    kind: str  # "ocsp" or "crl"
    source: str  # SOURCE_*
    time: datetime | None  # OCSP producedAt / CRL thisUpdate
    status: str  # "good" or "revoked"

    def describe(self) -> str:
        what = _("OCSP response") if self.kind == "ocsp" else _("CRL")
        where = {
            SOURCE_DSS: _("embedded in the file (DSS)"),
            SOURCE_SIGNATURE: _("embedded in the signature"),
            SOURCE_FETCHED: _("fetched from the issuer now"),
            SOURCE_DEMO: _("made by the DEMO CA of this server"),
        }.get(self.source, self.source)
        return _("%(what)s %(where)s, issued %(time)s: %(status)s") % {
            "what": what, "where": where, "status": revocation_label(self.status),
            "time": local_time(self.time)}

    def as_dict(self) -> dict:
        return {"kind": self.kind, "source": self.source,
                "time": self.time.isoformat() if self.time else None, "status": self.status,
                "description": self.describe()}


@dataclass
class SignatureReport:
    """What was checked for one signature or document timestamp, and the verdict.

    ``intact``: the signed bytes hash to the signed digest. ``valid``: intact AND the
    signature value verifies with the certificate's key (so never ``valid`` without
    ``intact``). ``trusted``: a path to a trust root was built (says nothing about
    revocation, see ``revocation``).
    """

    field: str
    kind: str  # "signature" or "timestamp"
    verdict: str = INDETERMINATE
    sub_indication: str = ""
    reason: str = ""
    signer: str = ""
    capacity: str = ""  # as the signature's /Reason states it (signing.capacity)
    organisation: str = ""
    certificate: str = ""  # the subject in full (asn1crypto's English labels)
    issuer: str = ""
    issuer_name: str = ""
    serial: str = ""
    signing_time: datetime | None = None  # claimed by the signer: not proof
    timestamp_time: datetime | None = None
    timestamp_authority: str = ""
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    trust_anchor: str = ""
    trust_anchor_kind: str = ""  # "configured", "demo" (the DEMO root) or "request"
    revocation: str = REVOCATION_NOT_CHECKED
    revocation_time: datetime | None = None
    revocation_evidence: list[Evidence] = field(default_factory=list)
    validation_time: datetime | None = None  # the moment the certificate path was judged at
    level: str = ""
    modification: str = ""
    modification_allowed: bool | None = None
    coverage: str = ""

    @property
    def demo_root(self) -> bool:
        return self.trust_anchor_kind == "demo"

    def as_dict(self) -> dict:
        data = {}
        for key, value in asdict(self).items():
            if isinstance(value, datetime):
                value = value.isoformat()
            data[key] = value
        data["revocation_evidence"] = [e.as_dict() for e in self.revocation_evidence]
        return data


@dataclass
class PdfReport:
    """The whole file: ``verdict`` is the worst of its signatures' verdicts.

    The one report the rest of the project stores or shows (``verdict`` is the string
    ``PASSED``, ``FAILED`` or ``INDETERMINATE``); ``ok`` only when it is PASSED.
    """

    verdict: str
    message: str
    signatures: list[SignatureReport] = field(default_factory=list)
    sub_indication: str = ""
    fetched: bool = False

    @property
    def ok(self) -> bool:
        return self.verdict == PASSED

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "sub_indication": self.sub_indication, "ok": self.ok,
                "exit_code": self.exit_code, "message": self.message,
                "fetched": self.fetched,
                "signatures": [s.as_dict() for s in self.signatures]}


def verdict_label(verdict: str) -> str:
    return {PASSED: pgettext("verdict", "Passed"), FAILED: pgettext("verdict", "Failed"),
            INDETERMINATE: pgettext("verdict", "Indeterminate")}.get(verdict, verdict)


def revocation_label(status: str) -> str:
    return {REVOCATION_GOOD: _("not revoked"), REVOCATION_REVOKED: _("revoked"),
            REVOCATION_NOT_CHECKED: _("not checked")}.get(status, status)


def modification_label(level: str) -> str:
    """pyHanko's modification levels in words (ModificationLevel names)."""
    return {
        "NONE": _("no change"),
        "LTA_UPDATES": _("only validation data and timestamps added"),
        "FORM_FILLING": _("only form fields filled in or signatures added"),
        "ANNOTATIONS": _("form filling and annotations"),
        "OTHER": _("other changes"),
    }.get(level, level or "-")

def load_certificates(data: bytes) -> list:
    """Certificates in a PEM (one or more) or DER blob; TrustRootError if there are none."""
    from asn1crypto import pem, x509

    try:
        blobs = [der for _t, _h, der in pem.unarmor(data, multiple=True)] \
            if pem.detect(data) else [data]
        certs = [x509.Certificate.load(der) for der in blobs]
        for cert in certs:
            cert.native  # noqa: B018 - parses the whole structure now, not later in pyHanko
    except Exception as exc:  # noqa: BLE001 - asn1crypto raises many kinds
        raise TrustRootError(_("The trust root is not a PEM or DER certificate.")) from exc
    if not certs:
        raise TrustRootError(_("The trust root is not a PEM or DER certificate."))
    return certs


def trust_roots() -> list:
    roots = []
    paths = conf.trust_root_files()
    demo = demo_root_path()
    if demo is not None:
        paths.append(demo)
    for path in paths:
        try:
            roots += load_certificates(path.read_bytes())
        except (OSError, TrustRootError):
            logger.warning("trust root %s cannot be read", path)
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


def local_time(moment: datetime | None) -> str:
    """dd/mm/yyyy HH:mm in the active time zone (the user's), as the pages show times."""
    if moment is None:
        return "-"
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


def _level(has_ts: bool, has_revinfo: bool, later_doc_ts: bool) -> str:
    level = "B-B"
    if has_ts:
        level = "B-T"
        if has_revinfo:
            level = "B-LT"
            if later_doc_ts:
                level = "B-LTA"
    return level


@dataclass
class _Inputs:
    """What every signature of one file is checked against."""

    roots: list
    demo_root: object | None
    request_roots: list
    other_certs: list
    crls: list  # asn1crypto CertificateList, from the DSS and the DEMO CA
    ocsps: list
    sources: dict  # DER bytes of a CRL/OCSP response -> SOURCE_*
    fetchers: object | None  # shared by every context of this request: one download each

    def context(self, *, mode: str, crls=(), ocsps=(), certs=(), moment=None):
        from pyhanko_certvalidator import ValidationContext

        kwargs: dict = {"trust_roots": self.roots, "other_certs": self.other_certs + list(certs),
                        "crls": self.crls + list(crls), "ocsps": self.ocsps + list(ocsps),
                        "revocation_mode": mode}
        if self.fetchers is not None:
            kwargs.update(allow_fetching=True, fetchers=self.fetchers)
        if moment is not None:
            # Validation at the time a timestamp proves: revocation data issued later may
            # show the certificate was not revoked then (that is what B-LT data is for).
            kwargs.update(moment=moment, retroactive_revinfo=True)
        return ValidationContext(**kwargs)


def _stream_blobs(container, key: str) -> list[bytes]:
    blobs = []
    try:
        refs = container[key]
    except (KeyError, TypeError):
        return blobs
    for ref in refs:
        try:
            blobs.append(ref.get_object().data)
        except Exception:  # noqa: BLE001 - one unreadable stream does not spoil the others
            logger.info("unreadable DSS entry under %s", key)
    return blobs


def _dss_material(reader) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """Certificates, OCSP responses and CRLs of the DSS, its VRI entries included."""
    certs: list[bytes] = []
    ocsps: list[bytes] = []
    crls: list[bytes] = []
    try:
        if "/DSS" not in reader.root:
            return certs, ocsps, crls
        dss = reader.root["/DSS"].get_object()
        certs, ocsps, crls = (_stream_blobs(dss, "/Certs"), _stream_blobs(dss, "/OCSPs"),
                              _stream_blobs(dss, "/CRLs"))
        vri = dss["/VRI"].get_object() if "/VRI" in dss else {}
        for entry in vri.values():
            entry = entry.get_object()
            certs += _stream_blobs(entry, "/Cert")
            ocsps += _stream_blobs(entry, "/OCSP")
            crls += _stream_blobs(entry, "/CRL")
    except Exception as exc:  # noqa: BLE001 - a malformed DSS only loses its evidence
        logger.info("malformed DSS: %s", exc)
    return certs, ocsps, crls


def _parse_all(blobs: list[bytes], loader) -> list:
    parsed, seen = [], set()
    for blob in blobs:
        if blob in seen:
            continue
        seen.add(blob)
        try:
            item = loader(blob)
            item.native  # noqa: B018 - parse now; a broken entry is skipped, not fatal later
            parsed.append(item)
        except Exception:  # noqa: BLE001
            logger.info("unparseable revocation or certificate entry skipped")
    return parsed


def _inputs(reader, *, fetch: bool, extra_roots) -> _Inputs:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import ocsp as asn1_ocsp
    from asn1crypto import x509

    roots = trust_roots()
    demo_root = None
    demo_path = demo_root_path()
    if demo_path is not None:
        try:
            demo_root = load_certificates(demo_path.read_bytes())[0]
        except (OSError, TrustRootError):
            demo_root = None
    request_roots = list(extra_roots)
    cert_blobs, ocsp_blobs, crl_blobs = _dss_material(reader)
    ocsps = _parse_all(ocsp_blobs, asn1_ocsp.OCSPResponse.load)
    crls = _parse_all(crl_blobs, asn1_crl.CertificateList.load)
    sources = {item.dump(): SOURCE_DSS for item in ocsps + crls}
    for item in demo_crls():
        if item.dump() not in sources:  # the same CRL may already be in the file
            sources[item.dump()] = SOURCE_DEMO
            crls.append(item)
    fetchers = None
    if fetch:
        # The requests backend holds no event-loop-bound HTTP session, so nothing is left
        # unclosed when pyHanko's synchronous calls end their own event loops.
        from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

        fetchers = RequestsFetcherBackend(per_request_timeout=10).get_fetchers()
    return _Inputs(roots=roots + request_roots, demo_root=demo_root,
                   request_roots=request_roots,
                   other_certs=_parse_all(cert_blobs, x509.Certificate.load) + demo_ca_certs(),
                   crls=crls, ocsps=ocsps, sources=sources, fetchers=fetchers)


def _signature_revinfo(emb) -> tuple[list, list]:
    """CRLs and OCSP responses in the signature's adbe-revocation-info-archival attribute."""
    from pyhanko.sign.general import find_unique_cms_attribute

    try:
        archival = find_unique_cms_attribute(emb.signer_info["signed_attrs"],
                                             "adobe_revocation_info_archival")
    except Exception:  # noqa: BLE001 - absent (the usual case) or malformed
        return [], []
    crls = list(archival["crl"]) if archival["crl"].native is not None else []
    ocsps = list(archival["ocsp"]) if archival["ocsp"].native is not None else []
    return crls, ocsps


def _evidence_for(cert, vc, sources: dict) -> list[Evidence]:
    """The OCSP responses and CRLs the context holds (given or fetched) about ``cert``."""
    found = []
    for response in vc.ocsps:
        try:
            basic = response["response_bytes"]["response"].parsed
            data = basic["tbs_response_data"]
            for single in data["responses"]:
                if single["cert_id"]["serial_number"].native != cert.serial_number:
                    continue
                status = single["cert_status"].name
                found.append(Evidence(
                    "ocsp", sources.get(response.dump(), SOURCE_FETCHED),
                    data["produced_at"].native,
                    REVOCATION_REVOKED if status == "revoked" else REVOCATION_GOOD))
        except Exception:  # noqa: BLE001, S112 - an odd response is simply not named
            continue
    for crl in vc.crls:
        try:
            tbs = crl["tbs_cert_list"]
            if tbs["issuer"] != cert.issuer:
                continue
            revoked = any(entry["user_certificate"].native == cert.serial_number
                          for entry in (tbs["revoked_certificates"] or []))
            found.append(Evidence("crl", sources.get(crl.dump(), SOURCE_FETCHED),
                                  tbs["this_update"].native,
                                  REVOCATION_REVOKED if revoked else REVOCATION_GOOD))
        except Exception:  # noqa: BLE001, S112 - an odd CRL is simply not named
            continue
    unique: list[Evidence] = []
    for item in found:  # one CRL may sit in the DSS and in a VRI entry, or be given twice
        if item not in unique:
            unique.append(item)
    return unique


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
