"""The one call into the project's PDF verifier, for files that arrive.

Another change reworks :mod:`signing.validation` to return ETSI-style verdicts
(PASSED / FAILED / INDETERMINATE). Everything in this app goes through
:func:`check_signature`, so rewiring to that API is a change of this function only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PASSED, FAILED, INDETERMINATE = "PASSED", "FAILED", "INDETERMINATE"


@dataclass
class SignatureCheck:
    verdict: str
    signers: list[str] = field(default_factory=list)
    level: str = ""
    time: str = ""
    message: str = ""


def check_signature(data: bytes) -> SignatureCheck:
    """Verify a delivered PDF; never raises.

    Today's verifier reports per signature (intact, valid, trusted, revoked); the
    mapping: any signature changed, broken or revoked → FAILED; every signature
    intact, valid and from a trusted authority → PASSED; anything else (no
    signature, unreadable, untrusted root) → INDETERMINATE.
    """
    from signing.validation import verify_pdf

    try:
        report = verify_pdf(data, fetch=False)
    except Exception as exc:  # noqa: BLE001 - a verifier crash flags the file, never hides it
        return SignatureCheck(INDETERMINATE, message=str(exc)[:500])
    signatures = [s for s in report.signatures if s.kind == "signature"]
    every = report.signatures
    signers = [s.signer for s in signatures if s.signer]
    level = signatures[-1].level if signatures else ""
    when = next((s.timestamp_time or s.signing_time for s in reversed(signatures)
                 if s.timestamp_time or s.signing_time), "")
    if not every:
        verdict = INDETERMINATE
    elif any(not s.intact or not s.valid or s.revocation == "revoked" for s in every):
        verdict = FAILED
    elif all(s.trusted for s in every):
        verdict = PASSED
    else:
        verdict = INDETERMINATE
    # The reworked verifier reports datetimes (found by issue #15's signed round trip).
    when = when.isoformat() if hasattr(when, "isoformat") else str(when or "")
    return SignatureCheck(verdict, signers, level, when, str(report.message))
