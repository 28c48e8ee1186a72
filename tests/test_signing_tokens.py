"""Keys outside PKCS#12 files: a SoftHSM2 token (PKCS#11) and a CSC remote signing service."""

from __future__ import annotations

import pytest

from signing.models import KeyKind, PdfStage, SealProfile, SignedPdf, SigningKey
from signing.signers import set_secret
from signing.validation import verify_pdf
from tests.factories import advance, draft
from tests.signing_fixtures import check_with_tools
from workflow.documents import services

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def signed_document(env):
    org = env["org"]
    doc = draft(org, type_code="ke-hoach", subject="Kế hoạch giám sát năm 2025",
                body="<p>Căn cứ Điều lệ Mặt trận Tổ quốc Việt Nam;</p>")
    doc = advance(org, doc, "approved")
    return services.perform(env["leader"], doc.pk, "sign", expected_state="approved")


def test_issue_with_seal_key_on_softhsm_token(signing_env, softhsm, tmp_path):
    env = signing_env
    key = SigningKey(label="Seal (SoftHSM2)", kind=KeyKind.PKCS11, pkcs11_module=softhsm.module,
                     token_label=softhsm.label, key_label="seal", cert_label="seal")
    set_secret(key, softhsm.pin)
    key.save()
    SealProfile.objects.filter(unit=env["org"].units["province"]).update(key=key)

    doc = signed_document(env)
    doc = services.perform(env["clerk"], doc.pk, "issue", expected_state="signed")
    assert doc.state == "issued"
    data = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED).read()
    report = verify_pdf(data)
    assert report.ok, report.as_dict()
    person, seal, stamp = report.signatures
    assert seal.signer == "Ủy ban MTTQ tỉnh (DEMO)" and seal.trusted and seal.level == "B-LTA"
    assert person.modification == "FORM_FILLING" and person.intact and person.valid
    assert stamp.kind == "timestamp" and stamp.valid
    path = tmp_path / "issued-hsm.pdf"
    path.write_bytes(data)
    check_with_tools(path, 2)


def test_wrong_token_pin_is_refused(signing_env, softhsm):
    from signing.services import SigningRefused

    env = signing_env
    key = SigningKey(label="Seal (SoftHSM2)", kind=KeyKind.PKCS11, pkcs11_module=softhsm.module,
                     token_label=softhsm.label, key_label="seal")
    set_secret(key, "000000")
    key.save()
    SealProfile.objects.filter(unit=env["org"].units["province"]).update(key=key)
    doc = signed_document(env)
    with pytest.raises(SigningRefused):
        services.perform(env["clerk"], doc.pk, "issue")
    doc.refresh_from_db()
    assert doc.state == "signed" and doc.number is None


def test_issue_with_seal_on_csc_remote_signing_service(signing_env, csc_service, tmp_path):
    """pyHanko's CSC signer against certomancer-csc-dummy (hash-pinned SADs)."""
    env = signing_env
    key = SigningKey(label="Seal (CSC service)", kind=KeyKind.CSC, csc_url=csc_service,
                     csc_credential_id="mttq-demo/seal")
    set_secret(key, '{"token": "", "pin": "1234"}')
    key.save()
    SealProfile.objects.filter(unit=env["org"].units["province"]).update(key=key)
    doc = signed_document(env)
    doc = services.perform(env["clerk"], doc.pk, "issue", expected_state="signed")
    data = SignedPdf.objects.get(document=doc, stage=PdfStage.ISSUED).read()
    report = verify_pdf(data)
    assert report.ok, report.as_dict()
    person, seal, _stamp = report.signatures
    assert seal.signer == "Ủy ban MTTQ tỉnh (DEMO)" and seal.trusted and seal.level == "B-LTA"
    assert person.modification == "FORM_FILLING"
    path = tmp_path / "issued-csc.pdf"
    path.write_bytes(data)
    check_with_tools(path, 2)


def test_csc_service_down_is_refused(signing_env):
    from signing import pki
    from signing.services import SigningRefused

    env = signing_env
    key = SigningKey.objects.create(label="Seal (CSC service)", kind=KeyKind.CSC,
                                    csc_url=f"http://127.0.0.1:{pki.free_port()}",
                                    csc_credential_id="mttq-demo/seal")
    SealProfile.objects.filter(unit=env["org"].units["province"]).update(key=key)
    doc = signed_document(env)
    with pytest.raises(SigningRefused):
        services.perform(env["clerk"], doc.pk, "issue")
    doc.refresh_from_db()
    assert doc.state == "signed" and doc.number is None


def test_a_path_error_is_the_signer_s_only_under_pyhanko_s_signer_validation():
    from pyhanko.sign.general import SigningError
    from pyhanko_certvalidator.errors import PathBuildingError

    from signing.signers import path_refusal

    def chained(outer: Exception | None, inner: Exception) -> Exception:
        if outer is None:
            return inner
        try:
            raise outer from inner
        except Exception as exc:  # noqa: BLE001 - building a chain
            return exc

    untrusted = PathBuildingError("No path to a trust root")
    signer = chained(SigningError("The signer's certificate could not be validated"), untrusted)
    own = str(path_refusal(untrusted))  # the signer's own path, checked before signing
    assert str(path_refusal(signer, signing=True)) == own
    # The same error from the time-stamping authority's certificate is the TSA's.
    tsa = chained(RuntimeError("timestamp"), PathBuildingError("No path to a trust root"))
    assert str(path_refusal(tsa, signing=True)) != own
    assert str(path_refusal(tsa)) == own
    assert path_refusal(RuntimeError("other"), signing=True) is None
