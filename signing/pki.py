"""A local DEMO PKI (root, intermediate, TSA, OCSP responder, CRLs), made at runtime.

Everything here is labelled DEMO and is untrusted outside this installation:
the keys are generated on the machine the first time they are needed and are
written under the var directory (never committed). Certomancer turns a small
declarative description into certificates, CRLs, OCSP answers and RFC 3161
time-stamps; :class:`PkiServer` serves them on loopback for tests and the demo.

Production deployments do not use this module: their keys sit in tokens, HSMs
or remote signing services, and trust roots are configured (see
``SIGNING_TRUST_ROOTS``).
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ARCH = "mttq-demo"
DEMO_PREFIX = "DEMO - UNTRUSTED"
KEY_PASSWORD = b"demo-only-not-secret"  # demo keys on disk; real keys never pass here


@dataclass(frozen=True)
class EndEntity:
    """One end-entity certificate of the demo PKI.

    ``kind`` is ``person`` (leader), ``seal`` (organisation) or a test variant:
    ``revoked``, ``expired`` or ``no-signing`` (key usage without digitalSignature).
    """

    label: str
    common_name: str
    organisation: str = "Mặt trận Tổ quốc Việt Nam (DEMO)"
    kind: str = "person"


@dataclass
class DemoPki:
    directory: Path
    url_prefix: str
    entities: list[EndEntity] = field(default_factory=list)

    # Loaded lazily: certomancer builds certificates on first use.
    _arch = None

    @property
    def arch(self):
        if self._arch is None:
            self._arch = _load_arch(self.directory)
        return self._arch

    def cert(self, label: str):
        from certomancer.registry import CertLabel

        return self.arch.get_cert(CertLabel(label))

    def private_key(self, label: str):
        from certomancer.registry import KeyLabel

        return self.arch.key_set.get_private_key(KeyLabel(label))

    @property
    def root_pem_path(self) -> Path:
        return self.directory / "demo-root-UNTRUSTED.pem"

    @property
    def tsa_url(self) -> str:
        return f"{self.url_prefix}/{ARCH}/tsa/tsa"

    def pkcs12(self, label: str, passphrase: bytes) -> bytes:
        """The key and certificate of ``label`` with the CA chain, as a PKCS#12 file.

        Made here rather than by certomancer's ``package_pkcs12`` so the key parsed when
        the PKI was loaded is used again (see :func:`demo_key`).
        """
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import (
            BestAvailableEncryption,
            pkcs12,
        )

        def cert(name: str):
            return x509.load_der_x509_certificate(self.cert(name).dump())

        return pkcs12.serialize_key_and_certificates(
            name=None, key=demo_key(self.private_key(label).dump()), cert=cert(label),
            cas=[cert("interm"), cert("root")],
            encryption_algorithm=BestAvailableEncryption(passphrase))

    def key_pem(self, label: str) -> bytes:
        return (self.directory / "keys" / f"{label}.key.pem").read_bytes()

    def timestamper(self):
        """An in-process RFC 3161 TSA (the same key and certificate as the HTTP one).

        Used when no TSA is served (the demo run command): the tokens are
        standard RFC 3161 answers signed by the DEMO TSA certificate.
        """
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        return _timestamper_class()(
            tsa_cert=self.cert("tsa"), tsa_key=self.private_key("tsa"),
            certs_to_embed=SimpleCertificateStore.from_certs([self.cert("root")]))

    def crls(self) -> list:
        """Current CRLs of the DEMO root and intermediate, made in-process (no server needed)."""
        from certomancer.registry import ServiceLabel

        registry = self.arch.service_registry
        return [registry.get_crl(ServiceLabel(label)) for label in ("root", "interm")]


_TIMESTAMPER = None


def _timestamper_class():
    """pyHanko's in-process TSA, parsing its private key once rather than once per token.

    The parent parses (and for RSA fully validates) the key for every time-stamp, about
    60 ms of CPU each; the demo seed makes about a hundred. The tokens are the same.
    """
    global _TIMESTAMPER
    if _TIMESTAMPER is not None:
        return _TIMESTAMPER
    from asn1crypto import cms, core
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import general
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class KeyInMemoryTimeStamper(DummyTimeStamper):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._key = demo_key(self.tsa_key.dump())
            if not isinstance(self._key, rsa.RSAPrivateKey):
                raise NotImplementedError("The DEMO TSA key must be RSA.")

        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt):
            digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            digest.update(tst_info_data)
            attribute = general.simple_cms_attribute
            signed_attrs = cms.CMSAttributes([
                attribute("content_type", "tst_info"),
                attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt)})),
                attribute("signing_certificate",
                          general.as_signing_certificate(self.tsa_cert)),
                attribute("message_digest", digest.finalize()),
            ])
            signature = self._key.sign(signed_attrs.dump(), PKCS1v15(),
                                       get_pyca_cryptography_hash(md_algorithm.upper()))
            return signature, signed_attrs

    _TIMESTAMPER = KeyInMemoryTimeStamper
    return _TIMESTAMPER


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _key(path: Path) -> None:
    if path.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(KEY_PASSWORD),
    )
    path.write_bytes(data)
    path.chmod(0o600)
    _remember_key(data, key)  # certomancer reads the file next: no need to parse it


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def _ee_cert(entity: EndEntity, now: dt.datetime) -> dict:
    usage = ["digital_signature", "non_repudiation"]
    if entity.kind == "no-signing":
        usage = ["key_encipherment"]
    spec: dict = {
        "issuer": "interm",
        "validity": {
            "valid-from": _iso(now - dt.timedelta(days=1)),
            "valid-to": _iso(now + dt.timedelta(days=3 * 365)),
        },
        "extensions": [
            {"id": "key_usage", "critical": True,
             "smart-value": {"schema": "key-usage", "params": usage}},
            {"id": "crl_distribution_points",
             "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["interm"]}}},
            {"id": "authority_information_access",
             "smart-value": {"schema": "aia-urls", "params": {
                 "ocsp-responder-names": ["interm"],
                 "ca-issuer-links": [{"repo": "interm"}]}}},
        ],
    }
    if entity.kind == "expired":
        spec["validity"] = {"valid-from": _iso(now - dt.timedelta(days=400)),
                            "valid-to": _iso(now - dt.timedelta(days=2))}
    if entity.kind == "revoked":
        spec["revocation"] = {"revoked-since": _iso(now - dt.timedelta(hours=1)),
                              "reason": "key_compromise"}
    return spec


def build(directory: Path, entities: list[EndEntity], *, port: int | None = None,
          now: dt.datetime | None = None) -> DemoPki:
    """Write keys and the certomancer description for ``entities`` under ``directory``.

    ``now`` anchors every validity period: rebuilding with the same anchor (see
    :func:`anchor_of`) and the same keys gives the same CA certificates, so
    documents signed earlier stay valid when people are added.
    """
    directory = Path(directory)
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    prefix = f"http://127.0.0.1:{port}"
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    labels = ["root", "interm", "interm-ocsp", "tsa"] + [e.label for e in entities]
    for label in labels:
        _key(directory / "keys" / f"{label}.key.pem")
    ca_validity = {"valid-from": _iso(now - dt.timedelta(days=2)),
                   "valid-to": _iso(now + dt.timedelta(days=10 * 365))}
    org = "MTTQ e-Office " + DEMO_PREFIX
    config = {
        "external-url-prefix": prefix,
        "keysets": {ARCH: {"path-prefix": "keys", "keys": {
            label: {"path": f"{label}.key.pem", "password": KEY_PASSWORD.decode()}
            for label in labels}}},
        "pki-architectures": {ARCH: {
            "keyset": ARCH,
            "entity-defaults": {"country-name": "VN", "organization-name": org},
            "entities": {
                "root": {"common-name": f"MTTQ Root CA ({DEMO_PREFIX})"},
                "interm": {"common-name": f"MTTQ Signing CA ({DEMO_PREFIX})"},
                "interm-ocsp": {"common-name": f"MTTQ OCSP ({DEMO_PREFIX})"},
                "tsa": {"common-name": f"MTTQ TSA ({DEMO_PREFIX})"},
                **{e.label: {"common-name": e.common_name, "organization-name": e.organisation}
                   for e in entities},
            },
            "certs": {
                "root": {"subject": "root", "issuer": "root", "validity": ca_validity,
                         "extensions": [
                             {"id": "basic_constraints", "critical": True,
                              "value": {"ca": True}},
                             {"id": "key_usage", "critical": True, "smart-value": {
                                 "schema": "key-usage",
                                 "params": ["digital_signature", "key_cert_sign", "crl_sign"]}},
                         ]},
                "interm": {"issuer": "root", "validity": ca_validity, "extensions": [
                    {"id": "basic_constraints", "critical": True,
                     "value": {"ca": True, "path-len-constraint": 0}},
                    {"id": "key_usage", "critical": True, "smart-value": {
                        "schema": "key-usage",
                        "params": ["digital_signature", "key_cert_sign", "crl_sign"]}},
                    {"id": "crl_distribution_points", "smart-value": {
                        "schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
                ]},
                "interm-ocsp": {"issuer": "interm", "validity": ca_validity, "extensions": [
                    {"id": "key_usage", "critical": True, "smart-value": {
                        "schema": "key-usage", "params": ["digital_signature"]}},
                    {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                    {"id": "ocsp_no_check"},
                ]},
                "tsa": {"issuer": "root", "validity": ca_validity, "extensions": [
                    {"id": "key_usage", "critical": True, "smart-value": {
                        "schema": "key-usage", "params": ["digital_signature"]}},
                    {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                    {"id": "crl_distribution_points", "smart-value": {
                        "schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}},
                ]},
                **{e.label: _ee_cert(e, now) for e in entities},
            },
            "services": {
                "ocsp": {"interm": {"for-issuer": "interm", "responder-cert": "interm-ocsp",
                                    "signing-key": "interm-ocsp"}},
                "crl-repo": {
                    "root": {"for-issuer": "root", "signing-key": "root",
                             "simulated-update-schedule": "P90D"},
                    "interm": {"for-issuer": "interm", "signing-key": "interm",
                               "simulated-update-schedule": "P7D"},
                },
                "cert-repo": {
                    "root": {"for-issuer": "root", "publish-issued-certs": True},
                    "interm": {"for-issuer": "interm", "publish-issued-certs": True},
                },
                "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa",
                                          "certs-to-embed": ["root"]}},
            },
        }},
    }
    (directory / "certomancer.yml").write_text(
        "# DEMO PKI generated by signing.pki - UNTRUSTED, for tests and demos only\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    pki = DemoPki(directory=directory, url_prefix=prefix, entities=list(entities))
    pki.root_pem_path.write_bytes(_pem(pki.cert("root")))
    (directory / "README-DEMO.txt").write_text(
        "This directory holds a DEMO PKI generated at runtime. It is NOT trusted and must "
        "never be used for real documents.\n", encoding="utf-8")
    return pki


def anchor_of(directory: Path) -> tuple[dt.datetime, int] | None:
    """The time anchor and port of an existing DEMO PKI, to rebuild it identically."""
    from urllib.parse import urlparse

    cfg = Path(directory) / "certomancer.yml"
    if not cfg.exists():
        return None
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    root = data["pki-architectures"][ARCH]["certs"]["root"]["validity"]["valid-from"]
    start = dt.datetime.strptime(root, "%Y-%m-%dT%H:%M:%S%z")
    return start + dt.timedelta(days=2), urlparse(data["external-url-prefix"]).port


# Parsing an RSA private key validates it, about 60 ms of CPU. certomancer parses a DEMO
# key again for every certificate or CRL it signs (and twice when loading it), pyHanko's
# test TSA for every time-stamp: the DEMO PKI's keys are parsed once per process here.
# DEMO keys only, by their PKCS#8 DER or by the bytes of the key file this process wrote;
# a few per PKI directory (bounded for test runs making many).
_DEMO_KEYS: dict[bytes, object] = {}


def demo_key(der: bytes):
    """The parsed (pyca/cryptography) DEMO private key of PKCS#8 ``der``."""
    key = _DEMO_KEYS.get(der)
    if key is None:
        key = serialization.load_der_private_key(der, password=None)
        _remember_key(der, key)
    return key


def _remember_key(der: bytes, key) -> None:
    if len(_DEMO_KEYS) >= 256:
        _DEMO_KEYS.clear()
    _DEMO_KEYS[der] = key


def _use_key_cache() -> None:
    """Make certomancer (which only the DEMO PKI uses) sign with the parsed DEMO keys.

    certomancer's crypto backend is its documented extension point; this one differs
    from the default only in parsing each key once.
    """
    from asn1crypto import keys, pem
    from certomancer import crypto_utils
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15

    if getattr(crypto_utils.CRYPTO_BACKEND, "parses_keys_once", False):
        return

    class KeyCachingBackend(crypto_utils.PycaCryptographyBackend):
        parses_keys_once = True

        def load_private_key(self, key_bytes: bytes, password: bytes | None):
            key = _DEMO_KEYS.get(key_bytes)  # a key file written by this process
            if key is None:
                load = (serialization.load_pem_private_key if pem.detect(key_bytes)
                        else serialization.load_der_private_key)
                key = load(key_bytes, password=password)
            der = key.private_bytes(serialization.Encoding.DER,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            _remember_key(der, key)
            public = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            return keys.PrivateKeyInfo.load(der), keys.PublicKeyInfo.load(public)

        def generic_sign(self, private_key, tbs_bytes: bytes, sd_algo) -> bytes:
            if sd_algo.signature_algo != "rsassa_pkcs1v15":
                return super().generic_sign(private_key, tbs_bytes, sd_algo)
            key = demo_key(private_key.dump())
            return key.sign(tbs_bytes, PKCS1v15(), getattr(hashes, sd_algo.hash_algo.upper())())

    crypto_utils.CRYPTO_BACKEND = KeyCachingBackend()


# Loading the description parses (and validates) every key of the PKI, about a second of
# CPU; the timestamper, the CRLs and the key files each need it. Kept while the file is
# unchanged (a rebuild rewrites it).
_ARCHS: dict[tuple, object] = {}


def _load_arch(directory: Path):
    from certomancer.registry import ArchLabel, CertomancerConfig

    _use_key_cache()

    cfg = Path(directory) / "certomancer.yml"
    stat = cfg.stat()
    key = (str(cfg.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _ARCHS:
        config = CertomancerConfig.from_file(str(cfg), key_search_dir=str(directory))
        _ARCHS.clear()
        _ARCHS[key] = config.get_pki_arch(ArchLabel(ARCH))
    return _ARCHS[key]


def load(directory: Path) -> DemoPki | None:
    directory = Path(directory)
    cfg = directory / "certomancer.yml"
    if not cfg.exists():
        return None
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    arch = data["pki-architectures"][ARCH]
    skip = {"root", "interm", "interm-ocsp", "tsa"}
    entities = [EndEntity(label=k, common_name=v["common-name"],
                          organisation=v.get("organization-name", ""))
                for k, v in arch["entities"].items() if k not in skip]
    return DemoPki(directory=directory, url_prefix=data["external-url-prefix"],
                   entities=entities)


def cert_pem(cert) -> bytes:
    from asn1crypto import pem

    return pem.armor("CERTIFICATE", cert.dump())


_pem = cert_pem


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        return


class PkiServer:
    """Certomancer's Animator (OCSP, CRL, TSA, certificates) on 127.0.0.1 in a thread."""

    def __init__(self, pki: DemoPki):
        from urllib.parse import urlparse

        self.pki = pki
        self.port = urlparse(pki.url_prefix).port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> PkiServer:
        from certomancer.integrations.animator import Animator, AnimatorArchStore
        from certomancer.registry import ArchLabel

        app = Animator(AnimatorArchStore({ArchLabel(ARCH): self.pki.arch}), with_web_ui=False)
        self._server = make_server("127.0.0.1", self.port, app, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="demo-pki")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
