"""What a verification reports: the verdicts of ETSI EN 319 102-1 (PASSED, INDETERMINATE,
FAILED) and the ``manage.py verify_pdf`` exit codes, revocation statuses and where evidence came
from, the report of one signature (:class:`SignatureReport`) and of the whole file
(:class:`PdfReport`), and these in words for pages, API and command. Pure data and wording: it
calls nothing else of the project, and :mod:`signing.validation`, :mod:`signing.revinfo`, the
API, the command and the template tags import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

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


def local_time(moment: datetime | None) -> str:
    """dd/mm/yyyy HH:mm in the active time zone (the user's), as the pages show times."""
    if moment is None:
        return "-"
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")
