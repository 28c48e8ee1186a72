"""Quiet logs for expected validation outcomes.

pyHanko and its certificate validator log every failed path ("no path to a trust root",
a revoked or expired certificate) as a WARNING with the whole traceback. For a verifier
these are ordinary answers about somebody's file, already in the report: one INFO line
is enough. Anything else (a bug, an outage) keeps its traceback.
"""

from __future__ import annotations

import logging

# The modules that log validation failures with exc_info (pyHanko 0.38, certvalidator 0.33).
LOGGERS = (
    "pyhanko.sign.validation.generic_cms",
    "pyhanko.sign.validation.pdf_embedded",
    "pyhanko.sign.validation.status",
    "pyhanko.sign.validation.ades",
    "pyhanko.sign.diff_analysis.policies",
    "pyhanko.sign.signers.pdf_signer",
    "pyhanko_certvalidator.validate",
    "pyhanko_certvalidator.revinfo.validate_crl",
    "pyhanko_certvalidator.revinfo.validate_ocsp",
    "pyhanko_certvalidator.fetchers.requests_fetchers.cert_fetch_client",
)


def _expected_types() -> tuple[type[BaseException], ...]:
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko_certvalidator.errors import (
        CRLValidationError,
        OCSPValidationError,
        PathError,
        ValidationError,
    )

    return (ValidationError, PathError, CRLValidationError, OCSPValidationError,
            SignatureValidationError)


class ExpectedValidationOutcome(logging.Filter):
    """Turns a record about an expected validation failure into one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is None or not isinstance(exc, _expected_types()):
            return True
        message = record.getMessage()
        detail = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        record.msg = "%s (%s)"
        record.args = (message.replace("\n", " "), detail)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        if record.levelno > logging.INFO:
            record.levelno, record.levelname = logging.INFO, "INFO"
        # The level was checked against WARNING when the record was made; check again.
        return logging.getLogger(record.name).isEnabledFor(record.levelno)


def install() -> None:
    quiet = ExpectedValidationOutcome()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedValidationOutcome) for f in logger.filters):
            logger.addFilter(quiet)
