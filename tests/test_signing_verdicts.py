"""Verdicts that never overstate (ETSI EN 319 102-1): each case through the CLI, the page
and the API, on PDFs signed here with pyHanko over certomancer PKIs.

The verifier runs like a production server: the test PKI's root is a configured trust
root and the DEMO mode (with its locally made CRLs) is off, so revocation is known only
from what the file carries or what ``fetch`` downloads from the loopback OCSP/CRL server.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import shutil
import subprocess

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from signing import pki
from tests.factories import pdf_bytes
from tests.signing_fixtures import signing_pki  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def foreign_pki(tmp_path_factory):
    """Another CA, unknown to the server, with its own OCSP/CRL server on loopback."""
    directory = tmp_path_factory.mktemp("foreign")
    pki.build(directory, [pki.EndEntity("foreign", "Lê Văn Ngoại", organisation="Sở Ngoài")])
    # Its own CA names: two CAs with one name would be one CA to a path builder.
    config = directory / "certomancer.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("MTTQ", "FOREIGN"),
                      encoding="utf-8")
    demo = pki.load(directory)
    demo.root_pem_path.write_bytes(pki.cert_pem(demo.cert("root")))
    server = pki.PkiServer(demo).start()
    yield demo
    server.stop()


@pytest.fixture(autouse=True)
def production_like(settings, signing_pki):  # noqa: F811
    settings.SIGNING_DEMO_PKI = False
    settings.SIGNING_TRUST_ROOTS = [str(signing_pki.root_pem_path)]
    settings.SIGNING_PKI_DIR = str(signing_pki.directory)
    settings.LANGUAGE_CODE = "en"
    cache.clear()  # the API's throttle counts live in the cache


# --- making PDFs ----------------------------------------------------------------------------


def _timestamper(demo, at: dt.datetime | None = None):
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    return DummyTimeStamper(tsa_cert=demo.cert("tsa"), tsa_key=demo.private_key("tsa"),
                            fixed_dt=at)


def sign(data: bytes, demo, label: str, *, field: str = "Sig1", timestamp=True,
         ts_at: dt.datetime | None = None, ltv: bool = False, lock_all: bool = False) -> bytes:
    """``lock_all``: an approval signature whose field locks every field and allows no
    further change (FieldMDP ALL, /P 1), as a leader locking the approved text would."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = signers.SimpleSigner(
        signing_cert=demo.cert(label), signing_key=demo.private_key(label),
        cert_registry=SimpleCertificateStore.from_certs([demo.cert("interm"),
                                                         demo.cert("root")]))
    meta = dict(field_name=field, subfilter=fields.SigSeedSubFilter.PADES)
    field_spec = None
    if lock_all:
        field_spec = fields.SigFieldSpec(
            field, box=(50, 50, 250, 100),
            field_mdp_spec=fields.FieldMDPSpec(fields.FieldMDPAction.ALL),
            doc_mdp_update_value=fields.MDPPerm.NO_CHANGES)
    if ltv:
        meta.update(embed_validation_info=True, validation_context=ValidationContext(
            trust_roots=[demo.cert("root")], allow_fetching=True))
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    out = PdfSigner(PdfSignatureMetadata(**meta), signer,
                    timestamper=_timestamper(demo, ts_at) if timestamp else None,
                    new_field_spec=field_spec).sign_pdf(writer)
    return out.getvalue()


def ocsp_now(demo, label: str):
    """The OCSP responder's answer for ``label`` now, as a B-LT extension would fetch it."""
    from asn1crypto import algos, ocsp
    from certomancer.registry import ServiceLabel

    cert, issuer = demo.cert(label), demo.cert("interm")
    cert_id = ocsp.CertId({"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha1"}),
                           "issuer_name_hash": issuer.subject.sha1,
                           "issuer_key_hash": issuer.public_key.sha1,
                           "serial_number": cert.serial_number})
    request = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
    responder = demo.arch.service_registry.summon_responder(ServiceLabel("interm"),
                                                            at_time=dt.datetime.now(dt.UTC))
    return responder.build_ocsp_response(request)


def add_revinfo(data: bytes, demo, label: str) -> bytes:
    """Append the CAs' CRLs and an OCSP answer for ``label`` to the DSS (a B-LT extension).

    The DEMO CRLs are issued on a weekly schedule from the CA's start, so they predate a
    revocation of the last hour; the OCSP answer is of now.
    """
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    out = io.BytesIO(data)
    DocumentSecurityStore.add_dss(out, None, crls=demo.crls(), ocsps=[ocsp_now(demo, label)],
                                  certs=[demo.cert("interm"), demo.cert("tsa")])
    return out.getvalue()


# --- checking through the three doors -------------------------------------------------------


def via_cli(tmp_path, data: bytes, *args: str) -> tuple[int, dict]:
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    out = io.StringIO()
    code = 0
    try:
        call_command("verify_pdf", str(path), "--json", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def verifier():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="verifier")
    return user


def via_page(client, data: bytes, *, root: bytes | None = None, fetch=False) -> str:
    if fetch:  # only people signed in may make the server fetch
        client.force_login(verifier())
    payload = {"file": SimpleUploadedFile("in.pdf", data, content_type="application/pdf")}
    if root is not None:
        payload["trust_root"] = SimpleUploadedFile("root.pem", root)
    if fetch:
        payload["fetch"] = "1"
    response = client.post("/signing/verify/", payload, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def via_api(data: bytes, *, root: bytes | None = None, fetch=False,
            anonymous: bool = False) -> dict:
    api = APIClient()
    if fetch and not anonymous:
        api.force_authenticate(verifier())
    payload = {"file": SimpleUploadedFile("in.pdf", data, content_type="application/pdf")}
    if root is not None:
        payload["trust_root"] = SimpleUploadedFile("root.pem", root)
    if fetch:
        payload["fetch"] = "true"
    response = api.post("/api/signing/verify/", payload, format="multipart",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    return response.json()


def check_everywhere(tmp_path, client, data: bytes, verdict: str, sub: str = "", *,
                     root_path=None, fetch=False, index: int = 0) -> dict:
    """The CLI, the page and the API agree on the file's and signature ``index``'s verdict."""
    args = (["--fetch"] if fetch else []) + (["--trust-root", str(root_path)] if root_path
                                             else [])
    code, cli = via_cli(tmp_path, data, *args)
    root = root_path.read_bytes() if root_path else None
    api = via_api(data, root=root, fetch=fetch)
    page = via_page(client, data, root=root, fetch=fetch)
    for report in (cli, api):
        assert report["verdict"] == verdict, report
        assert report["ok"] is (verdict == "PASSED")
        assert report["signatures"][index]["verdict"] == verdict
        assert report["signatures"][index]["sub_indication"] == sub, report
    assert code == {"PASSED": 0, "INDETERMINATE": 3, "FAILED": 4}[verdict] == cli["exit_code"]
    assert f'data-testid="verify-summary" data-verdict="{verdict}"' in page
    assert f'data-verdict="{verdict}" data-sub="{sub}"' in page
    # Fields never contradict each other.
    for sig in cli["signatures"]:
        assert not (sig["valid"] and not sig["intact"])
        if sig["verdict"] == "PASSED":
            assert sig["intact"] and sig["valid"] and sig["trusted"]
            assert sig["revocation"] in ("good", "revoked")
            assert sig["revocation_evidence"], "PASSED names its revocation evidence"
    return cli


def pdfsig(data: bytes, tmp_path, *, certificates: bool = False) -> str:
    """poppler's opinion. Its NSS store trusts none of the test roots, so certificate
    checks (``certificates``) are only compared where that does not matter."""
    if shutil.which("pdfsig") is None:
        pytest.skip("pdfsig (poppler-utils) is not installed")
    path = tmp_path / "pdfsig.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfsig", *([] if certificates else ["-nocert"]), str(path)],
                          capture_output=True, text=True).stdout


# --- the cases ------------------------------------------------------------------------------


def test_b_t_without_revocation_data_is_not_passed_until_fetched(tmp_path, client,
                                                                  signing_pki):  # noqa: F811
    data = sign(pdf_bytes("B-T"), signing_pki, "leader")
    report = check_everywhere(tmp_path, client, data, "INDETERMINATE", "TRY_LATER")
    sig = report["signatures"][0]
    assert sig["trusted"] and sig["revocation"] == "not_checked" and sig["intact"]
    assert sig["trust_anchor_kind"] == "configured"
    report = check_everywhere(tmp_path, client, data, "PASSED", fetch=True)
    evidence = report["signatures"][0]["revocation_evidence"]
    assert {e["source"] for e in evidence} == {"fetched"}
    assert all(e["status"] == "good" for e in evidence)
    assert "Signature is Valid" in pdfsig(data, tmp_path)
    # Anonymous callers cannot make the server fetch (it would call URLs they wrote).
    anonymous = via_api(data, fetch=True, anonymous=True)
    assert anonymous["verdict"] == "INDETERMINATE" and anonymous["fetched"] is False


def test_b_lt_passes_with_embedded_evidence_named(tmp_path, client, signing_pki):  # noqa: F811
    data = sign(pdf_bytes("B-LT"), signing_pki, "leader", ltv=True)
    report = check_everywhere(tmp_path, client, data, "PASSED")
    sig = report["signatures"][0]
    assert sig["level"] == "B-LT" and sig["revocation"] == "good"
    assert {e["source"] for e in sig["revocation_evidence"]} <= {"embedded_dss",
                                                                 "embedded_signature"}
    assert "embedded in" in sig["revocation_evidence"][0]["description"]
    assert "Signature is Valid" in pdfsig(data, tmp_path)


def test_untrusted_chain_is_indeterminate_and_a_supplied_root_resolves_it(
        tmp_path, client, foreign_pki, caplog):
    data = sign(pdf_bytes("Foreign"), foreign_pki, "foreign")
    caplog.set_level(logging.INFO)
    report = check_everywhere(tmp_path, client, data, "INDETERMINATE",
                              "NO_CERTIFICATE_CHAIN_FOUND")
    assert report["signatures"][0]["trusted"] is False
    assert report["signatures"][0]["revocation"] == "not_checked"
    # An expected outcome: one line each, no pyHanko traceback.
    pyhanko = [r for r in caplog.records if r.name.startswith("pyhanko")]
    assert pyhanko and all(r.exc_info is None and "\n" not in r.getMessage()
                           for r in pyhanko)
    assert "Traceback" not in caplog.text
    out = pdfsig(data, tmp_path, certificates=True)
    assert "Signature is Valid" in out and "isn't Trusted" in out
    root = tmp_path / "foreign-root.pem"
    root.write_bytes(foreign_pki.root_pem_path.read_bytes())
    report = check_everywhere(tmp_path, client, data, "PASSED", root_path=root, fetch=True)
    assert report["signatures"][0]["trust_anchor_kind"] == "request"
    page = via_page(client, data, root=root.read_bytes(), fetch=True)
    assert "through the root you supplied" in page


def test_leaf_revoked_before_signing_fails(tmp_path, client, signing_pki):  # noqa: F811
    data = sign(pdf_bytes("Revoked"), signing_pki, "revoked")
    report = check_everywhere(tmp_path, client, data, "FAILED", "REVOKED", fetch=True)
    sig = report["signatures"][0]
    assert sig["revocation"] == "revoked" and sig["revocation_time"]
    assert any(e["status"] == "revoked" and e["source"] == "fetched"
               for e in sig["revocation_evidence"])
    # The same with the CRL embedded in the file, nothing fetched.
    check_everywhere(tmp_path, client, add_revinfo(data, signing_pki, "revoked"), "FAILED",
                     "REVOKED")


def test_a_slow_ocsp_answer_still_counts_when_fetching(
        monkeypatch, signing_pki):  # noqa: F811
    """A revoked certificate fails even when the OCSP responder answers seconds late.

    pyHanko fixes "now" when the validation context is made; a fetched OCSP response is
    issued later, and with a one-second tolerance a loaded machine or a slow responder made
    it "too recent" to use. The check then fell back on the CA's weekly CRL, issued before
    the revocation, and the revoked signer PASSED (seen once in a full run under load).
    """
    import time

    from pyhanko_certvalidator.fetchers.requests_fetchers.ocsp_client import (
        RequestsOCSPFetcher,
    )

    from signing.validation import verify_pdf

    fetch_single = RequestsOCSPFetcher._fetch_single

    async def slow_fetch_single(self, url, request):
        time.sleep(3)  # well past pyHanko's one-second tolerance, whatever the load
        return await fetch_single(self, url, request)

    monkeypatch.setattr(RequestsOCSPFetcher, "_fetch_single", slow_fetch_single)
    report = verify_pdf(sign(pdf_bytes("Slow OCSP"), signing_pki, "revoked"), fetch=True)
    sig = report.signatures[0]
    assert (report.verdict, sig.verdict, sig.sub_indication) == ("FAILED", "FAILED", "REVOKED")
    assert sig.revocation == "revoked" and sig.revocation_time
    assert any(e.kind == "ocsp" and e.status == "revoked" and e.source == "fetched"
               for e in sig.revocation_evidence)
    # Signing checks the certificate with the same kind of context: still refused.
    from signing.signers import SignerError, check_certificate
    from signing.trust import validation_context

    with pytest.raises(SignerError):
        check_certificate(signing_pki.cert("revoked"), expected_name="",
                          validation_context=validation_context(fetch=True))


def test_a_path_found_good_against_revoked_evidence_is_not_passed(signing_pki):  # noqa: F811
    """Whatever the validator concludes, a report never says "not revoked" next to an OCSP
    response it names saying revoked (the slow-OCSP case above, or any other way the
    validator may pass over an answer)."""
    from types import SimpleNamespace

    from signing.revinfo import _Inputs
    from signing.validation import _judge_path
    from signing.verdicts import SignatureReport

    root = signing_pki.cert("root")
    path = SimpleNamespace(trust_anchor=SimpleNamespace(certificate=root), first=root)
    found_good = SimpleNamespace(trust_problem_indic=None, validation_path=path,
                                 signing_cert=signing_pki.cert("revoked"))
    inputs = _Inputs(roots=[root], demo_root=None, request_roots=[], other_certs=[], crls=[],
                     ocsps=[], sources={}, fetchers=None)
    report = SignatureReport(field="Sig1", kind="signature")
    vc = SimpleNamespace(ocsps=[ocsp_now(signing_pki, "revoked")], crls=[])
    _judge_path(report, found_good, None, inputs, None, None, vc)
    assert (report.verdict, report.revocation) == ("INDETERMINATE", "not_checked")
    assert [e.status for e in report.revocation_evidence] == ["revoked"]
    # An answer about another certificate does not hold a good signature back.
    report = SignatureReport(field="Sig1", kind="signature")
    found_good.signing_cert = signing_pki.cert("leader")
    _judge_path(report, found_good, None, inputs, None, None, vc)
    assert (report.verdict, report.revocation_evidence) == ("PASSED", [])


def test_leaf_revoked_after_a_timestamp_passes_with_the_evidence_named(
        tmp_path, client, signing_pki):  # noqa: F811
    # The DEMO PKI revoked this certificate an hour ago; the timestamp is two hours old.
    data = add_revinfo(sign(pdf_bytes("Before revocation"), signing_pki, "revoked",
                            ts_at=NOW - dt.timedelta(hours=2)), signing_pki, "revoked")
    report = check_everywhere(tmp_path, client, data, "PASSED")
    sig = report["signatures"][0]
    assert sig["revocation"] == "revoked" and sig["validation_time"]
    assert "after the trusted timestamp" in sig["reason"]
    assert any(e["kind"] == "ocsp" and e["source"] == "embedded_dss"
               and e["status"] == "revoked" for e in sig["revocation_evidence"])
    page = via_page(client, data)
    assert "OCSP response embedded in the file (DSS)" in page
    # Without the timestamp before the revocation nothing proves when it was signed.
    late = add_revinfo(sign(pdf_bytes("No proof"), signing_pki, "revoked", timestamp=False),
                       signing_pki, "revoked")
    check_everywhere(tmp_path, client, late, "FAILED", "REVOKED")


def test_expired_leaf_without_timestamp_is_indeterminate(tmp_path, client,
                                                          signing_pki):  # noqa: F811
    data = add_revinfo(sign(pdf_bytes("Expired"), signing_pki, "expired", timestamp=False),
                       signing_pki, "expired")
    report = check_everywhere(tmp_path, client, data, "INDETERMINATE", "OUT_OF_BOUNDS_NO_POE")
    assert report["signatures"][0]["level"] == "B-B"
    assert "Certificate has Expired" in pdfsig(data, tmp_path, certificates=True)


def test_a_byte_changed_in_the_signed_range_fails(tmp_path, client, signing_pki):  # noqa: F811
    data = bytearray(sign(pdf_bytes("Tampered text"), signing_pki, "leader", ltv=True))
    match = re.search(rb"/Producer|/Creator|/MediaBox", data)
    assert match
    data[match.start() + 1] ^= 0x01  # e.g. /Producer -> /Qroducer, inside the signed bytes
    report = check_everywhere(tmp_path, client, bytes(data), "FAILED", "HASH_FAILURE")
    sig = report["signatures"][0]
    assert sig["intact"] is False and sig["valid"] is False
    out = pdfsig(bytes(data), tmp_path)
    assert "Signature is Valid" not in out and re.search(r"Digest Mismatch|Invalid", out)


def test_signing_beyond_what_the_approval_lock_allows_fails(tmp_path, client,
                                                            signing_pki):  # noqa: F811
    approved = sign(pdf_bytes("Approval"), signing_pki, "leader", field="Approval", ltv=True,
                    lock_all=True)
    both = sign(approved, signing_pki, "seal", field="Seal", ltv=True)
    report = check_everywhere(tmp_path, client, both, "FAILED", "SIG_CONSTRAINTS_FAILURE")
    first, second = report["signatures"]
    # pyHanko's difference analysis calls a change to a locked field "other changes".
    assert first["modification"] == "OTHER" and first["modification_allowed"] is False
    assert "beyond what the signature allows" in first["reason"]
    assert second["verdict"] == "PASSED"
    assert "Signature is Valid" in pdfsig(both, tmp_path)


def test_unsigned_and_broken_files(tmp_path, client):
    code, report = via_cli(tmp_path, pdf_bytes("Unsigned"))
    assert (code, report["verdict"], report["ok"]) == (3, "INDETERMINATE", False)
    code, report = via_cli(tmp_path, b"not a pdf")
    assert (code, report["verdict"], report["sub_indication"]) == (4, "FAILED", "FORMAT_FAILURE")
    response = APIClient().post("/api/signing/verify/", {}, format="multipart")
    assert response.status_code == 400
    response = APIClient().post("/api/signing/verify/", {
        "file": SimpleUploadedFile("a.pdf", pdf_bytes()),
        "trust_root": SimpleUploadedFile("r.pem", b"nonsense")}, format="multipart",
        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "trust root" in response.json()["message"]


def test_cli_refuses_an_unreadable_trust_root(tmp_path, signing_pki):  # noqa: F811
    from django.core.management.base import CommandError

    path = tmp_path / "x.pdf"
    path.write_bytes(sign(pdf_bytes(), signing_pki, "leader"))
    bad = tmp_path / "bad.pem"
    bad.write_bytes(b"garbage")
    with pytest.raises(CommandError):
        call_command("verify_pdf", str(path), "--trust-root", str(bad))


def test_schema_lists_verify_and_the_api_is_throttled(signing_pki, settings):  # noqa: F811
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/signing/verify/"]["post"]
    assert operation["operationId"] == "signing_verify"
    assert "multipart/form-data" in operation["requestBody"]["content"]
    data = pdf_bytes("Throttle")
    codes = [APIClient().post("/api/signing/verify/",
                              {"file": SimpleUploadedFile("a.pdf", data)},
                              format="multipart").status_code for _ in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_demo_root_is_named_on_the_page(client, settings, signing_pki):  # noqa: F811
    settings.SIGNING_DEMO_PKI = True
    settings.SIGNING_TRUST_ROOTS = []
    data = sign(pdf_bytes("Demo"), signing_pki, "leader")
    page = via_page(client, data)
    assert 'data-verdict="PASSED"' in page
    assert "only the DEMO root of this installation" in page
    assert "made by the DEMO CA of this server" in page
    # Times as dd/mm/yyyy HH:mm, no ISO stamps, no English codes in the fields.
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", page)
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", page)
    assert "Common Name" not in page and ">good<" not in page
    # And in Vietnamese, what the users see by default.
    settings.LANGUAGE_CODE = "vi"
    page = client.post("/signing/verify/", {"file": SimpleUploadedFile(
        "in.pdf", data, content_type="application/pdf")}).content.decode()
    assert "Hợp lệ" in page and "chứng thư gốc DEMO của hệ thống này" in page
    assert "chưa bị thu hồi" in page and "FORM_FILLING" not in page


def test_the_public_function_takes_a_path_and_gives_a_typed_report(tmp_path,
                                                                   signing_pki):  # noqa: F811
    from signing.validation import verify_pdf
    from signing.verdicts import PdfReport

    path = tmp_path / "incoming.pdf"
    path.write_bytes(sign(pdf_bytes("Incoming"), signing_pki, "leader", ltv=True))
    report = verify_pdf(path)
    assert isinstance(report, PdfReport) and report.verdict == "PASSED" and report.ok
    assert verify_pdf(tmp_path / "missing.pdf").verdict == "FAILED"


def test_only_expected_validation_outcomes_lose_their_traceback(caplog):
    from pyhanko_certvalidator.errors import PathBuildingError

    logger = logging.getLogger("pyhanko.sign.validation.generic_cms")
    caplog.set_level(logging.INFO)
    for exc in (PathBuildingError("no path"), RuntimeError("a bug")):
        try:
            raise exc
        except Exception as caught:  # noqa: BLE001
            logger.warning("Failed to build path\nfor X", exc_info=caught)
    expected, unexpected = caplog.records[-2:]
    assert expected.exc_info is None and expected.levelno == logging.INFO
    assert expected.getMessage() == "Failed to build path for X (PathBuildingError: no path)"
    assert unexpected.exc_info is not None and unexpected.levelno == logging.WARNING
