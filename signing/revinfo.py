"""The evidence one file is checked against: trust roots (configured, DEMO, given with the
request), certificates, OCSP responses and CRLs from the PDF's document security store (DSS and
VRI) and the signature's revocation attribute, optional fetching, and naming which piece of
evidence answered for a certificate. It may call :mod:`signing.trust` and
:mod:`signing.verdicts`; judging a signature on it is :mod:`signing.validation`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .trust import demo_ca_certs, demo_crls, demo_root_path, load_certificates, trust_roots
from .verdicts import (
    REVOCATION_GOOD,
    REVOCATION_REVOKED,
    SOURCE_DEMO,
    SOURCE_DSS,
    SOURCE_FETCHED,
    Evidence,
    TrustRootError,
)

# The log name stays "signing.validation" (as before the split), so log filters and
# handlers configured for it keep working.
logger = logging.getLogger("signing.validation")


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

        # Revocation data issued after the validation time is always usable. At a time a
        # timestamp proves, later data may show the certificate was not revoked then (that is
        # what B-LT data is for). At "now", pyHanko fixes the moment when the context is
        # made, so an OCSP answer fetched during the check is issued after it: beyond the
        # one-second tolerance (a loaded machine, a slow responder, a responder's clock
        # ahead) pyHanko dropped it as "too recent" and judged on an older CRL alone, which
        # passed a certificate the OCSP answer said was revoked.
        kwargs: dict = {"trust_roots": self.roots, "other_certs": self.other_certs + list(certs),
                        "crls": self.crls + list(crls), "ocsps": self.ocsps + list(ocsps),
                        "revocation_mode": mode, "retroactive_revinfo": True}
        if self.fetchers is not None:
            kwargs.update(allow_fetching=True, fetchers=self.fetchers)
        if moment is not None:
            kwargs.update(moment=moment)
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


def _answers_for(cert_id, cert) -> bool:
    """An OCSP CertID names ``cert``: its serial number and its issuer's name (a serial
    number is unique only under one issuer)."""
    import hashlib

    if cert_id["serial_number"].native != cert.serial_number:
        return False
    try:
        digest = hashlib.new(cert_id["hash_algorithm"]["algorithm"].native,
                             cert.issuer.dump()).digest()
    except (ValueError, TypeError):  # a hash this Python does not know: the serial decides
        return True
    return cert_id["issuer_name_hash"].native == digest


def _evidence_for(cert, vc, sources: dict) -> list[Evidence]:
    """The OCSP responses and CRLs the context holds (given or fetched) about ``cert``."""
    found = []
    for response in vc.ocsps:
        try:
            basic = response["response_bytes"]["response"].parsed
            data = basic["tbs_response_data"]
            for single in data["responses"]:
                if not _answers_for(single["cert_id"], cert):
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
