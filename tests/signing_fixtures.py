"""Shared signing fixtures: ONE demo PKI per test session, served on loopback.

Certomancer key generation and the loopback server are the slow part of the
signing tests, so they are made once; each test only creates its own key
records (PKCS#12 blobs, profiles) and points the settings at the session PKI.
Import the fixtures into a test module with
``from tests.signing_fixtures import signing_env, signing_pki  # noqa: F401``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing import pki
from signing.demo import attach_key, attach_seal

LEADER_NAME = "Nguyễn Thị Hằng"
SEAL_NAME = "Ủy ban MTTQ tỉnh (DEMO)"
SOFTHSM_LABEL = "mttq-test"
SOFTHSM_PIN = "123456"
SOFTHSM_SO_PIN = "12345678"
SOFTHSM_MODULES = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
]


@pytest.fixture(scope="session")
def signing_pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    entities = [
        pki.EndEntity("leader", LEADER_NAME),
        pki.EndEntity("seal", SEAL_NAME, organisation=SEAL_NAME, kind="seal"),
        pki.EndEntity("revoked", LEADER_NAME, kind="revoked"),
        pki.EndEntity("expired", LEADER_NAME, kind="expired"),
        pki.EndEntity("nosign", LEADER_NAME, kind="no-signing"),
        pki.EndEntity("stranger", "Trần Văn Khác"),
    ]
    demo = pki.build(directory, entities)
    server = pki.PkiServer(demo).start()
    yield demo
    server.stop()


def use_pki(settings, demo: pki.DemoPki) -> None:
    settings.SIGNING_PKI_DIR = str(demo.directory)
    settings.SIGNING_DEMO_PKI = True
    settings.SIGNING_TRUST_ROOTS = []
    settings.SIGNING_TSA_URL = demo.tsa_url


@pytest.fixture
def signing_env(org, settings, signing_pki):
    """Province leader with a PKCS#12 key and signature image, province seal, settings."""
    leader = org.person("province", "leader")
    leader.full_name = LEADER_NAME
    leader.save()
    attach_key(leader, signing_pki, "leader", image=True)
    attach_seal(org.units["province"], signing_pki, "seal")
    use_pki(settings, signing_pki)
    return {"org": org, "leader": leader, "clerk": org.person("province", "clerk"),
            "demo": signing_pki}


def pdfsig_valid_count(path) -> int:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    return len(re.findall(r"Signature Validation: Signature is Valid", out))


def check_with_tools(path: Path, expected_signatures: int) -> None:
    """pdfsig says every signature is valid; qpdf finds the file structurally sound."""
    if shutil.which("pdfsig"):
        assert pdfsig_valid_count(path) == expected_signatures
    if shutil.which("qpdf"):
        # 0: no problem, 3: warnings only (pyHanko's incremental xref streams are fine).
        assert subprocess.run(["qpdf", "--check", str(path)],
                              capture_output=True).returncode in (0, 3)


# --- SoftHSM2: a real PKCS#11 token initialised by the tests ---------------------------------


@dataclass
class SoftHsm:
    module: str
    conf: Path
    label: str = SOFTHSM_LABEL
    pin: str = SOFTHSM_PIN

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}


def softhsm_module() -> str | None:
    return next((m for m in SOFTHSM_MODULES if Path(m).exists()), None)


def _import_key(session, demo: pki.DemoPki, label: str, key_id: bytes) -> None:
    from pkcs11 import Attribute
    from pkcs11.util.rsa import decode_rsa_private_key

    private = demo.private_key(label)
    attrs = decode_rsa_private_key(private["private_key"].parsed.dump())
    attrs.update({Attribute.TOKEN: True, Attribute.PRIVATE: True, Attribute.SENSITIVE: True,
                  Attribute.LABEL: label, Attribute.ID: key_id})
    session.create_object(attrs)
    _import_cert(session, demo.cert(label), label, key_id)


def _import_cert(session, cert, label: str, key_id: bytes) -> None:
    from pkcs11 import Attribute
    from pkcs11.util.x509 import decode_x509_certificate

    attrs = decode_x509_certificate(cert.dump())
    attrs.update({Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: key_id})
    session.create_object(attrs)


@pytest.fixture(scope="session")
def softhsm(signing_pki, tmp_path_factory):
    """A SoftHSM2 token holding the leader's and the seal's keys and the CA certificate.

    SOFTHSM2_CONF is set for the whole test process before the library is first
    loaded: SoftHSM reads its configuration once, at C_Initialize.
    """
    module = softhsm_module()
    if module is None or shutil.which("softhsm2-util") is None:
        pytest.skip("SoftHSM2 is not installed (Debian package softhsm2)")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\n"
                    "objectstore.backend = file\nlog.level = ERROR\n", encoding="utf-8")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    token = SoftHsm(module=module, conf=conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", token.label,
                    "--pin", token.pin, "--so-pin", SOFTHSM_SO_PIN],
                   check=True, capture_output=True, env=token.env())
    import pkcs11

    lib = pkcs11.lib(module)
    with lib.get_token(token_label=token.label).open(rw=True, user_pin=token.pin) as session:
        _import_key(session, signing_pki, "leader", b"\x01")
        _import_key(session, signing_pki, "seal", b"\x02")
        _import_cert(session, signing_pki.cert("interm"), "interm", b"\x10")
    return token


# --- a CSC remote signing service: certomancer-csc-dummy over the same PKI -------------------


@pytest.fixture(scope="session")
def csc_service(signing_pki):
    """certomancer-csc-dummy on 127.0.0.1, signing with the session PKI's keys.

    It requires hash pinning (SCAL 2): every SAD is bound to the hashes it may sign.
    Credential ids are ``<architecture>/<certificate label>``, e.g. ``mttq-demo/seal``.
    """
    import asyncio
    import threading

    try:
        from aiohttp import web
        from certomancer.registry import CertomancerConfig
        from csc_dummy.csc_dummy_server import CSCWithCertomancer, DummyServiceParams
    except ImportError:
        pytest.skip("certomancer-csc-dummy is not installed (pip install certomancer-csc-dummy)")
    config = CertomancerConfig.from_file(str(signing_pki.directory / "certomancer.yml"),
                                         key_search_dir=str(signing_pki.directory))
    port = pki.free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state = {}

    def serve():
        asyncio.set_event_loop(loop)
        service = CSCWithCertomancer(config, service_params=DummyServiceParams(
            hash_pinning_required=True))
        service.register_routes()
        runner = web.AppRunner(service.app)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        state["runner"] = runner
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True, name="csc-dummy")
    thread.start()
    assert ready.wait(30), "the CSC dummy service did not start"
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
