"""The one call into the project's PDF verifier, for files that arrive.

Everything in this app goes through :func:`check_signature`, which keeps the
verifier's ETSI-style verdict (PASSED / FAILED / INDETERMINATE) with the signers.
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
    """Verify a delivered PDF with the project's verifier; never raises.

    The verdict is the verifier's own (ETSI EN 319 102-1, the worst signature of the
    file): PASSED only when every signature passed, with revocation checked from evidence.
    """
    from signing.validation import verify_pdf

    try:
        report = verify_pdf(data, fetch=False)
    except Exception as exc:  # noqa: BLE001 - a verifier crash flags the file, never hides it
        return SignatureCheck(INDETERMINATE, message=str(exc)[:500])
    signatures = [s for s in report.signatures if s.kind == "signature"]
    signers = [s.signer for s in signatures if s.signer]
    level = signatures[-1].level if signatures else ""
    when = next((s.timestamp_time or s.signing_time for s in reversed(signatures)
                 if s.timestamp_time or s.signing_time), None)
    verdict = report.verdict if report.verdict in (PASSED, FAILED) else INDETERMINATE
    return SignatureCheck(verdict, signers, level, when.isoformat() if when else "",
                          str(report.message))
