"""Trust roots and validation contexts: the configured roots (``SIGNING_TRUST_ROOTS``), the
DEMO root and the DEMO CA's CRLs made in-process in demo mode (cached ten minutes), certificates
read from PEM/DER, and the pyHanko ``ValidationContext`` that signing and verification use. It
may call :mod:`signing.conf`, :mod:`signing.pki` and :mod:`signing.verdicts`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.utils.translation import gettext as _

from . import conf
from .verdicts import TrustRootError

# The log name stays "signing.validation" (as before the split), so log filters and
# handlers configured for it keep working.
logger = logging.getLogger("signing.validation")


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
    # retroactive_revinfo: an OCSP answer fetched during the check is issued after the
    # moment the context fixed; over pyHanko's one-second tolerance it was dropped as "too
    # recent" and an older CRL let a revoked certificate sign (see revinfo._Inputs.context).
    return ValidationContext(trust_roots=trust_roots() + list(extra_roots), allow_fetching=fetch,
                             fetcher_backend=backend, crls=demo_crls(),
                             other_certs=demo_ca_certs(), revocation_mode="soft-fail",
                             retroactive_revinfo=True)
