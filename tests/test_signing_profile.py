"""The person's own signature profile: signature image checks, USB-token certificate."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from signing import pki, profiles, remote
from signing.models import KeyKind, PendingSignature, SignatureProfile, SigningKey
from tests.factories import PASSWORD, advance, draft
from tests.signing_fixtures import LEADER_NAME
from workflow.audit.models import AuditEntry
from workflow.documents.errors import InvalidInput

pytestmark = pytest.mark.django_db

BLUE = (20, 50, 190, 255)


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English whatever the catalogue already translates."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_ACCEPT_LANGUAGE="en")


def png(size=(400, 150), mode="RGBA", ink=BLUE, background=(0, 0, 0, 0), fmt="PNG",
        **save) -> bytes:
    from PIL import Image, ImageDraw

    if mode == "RGBA":
        image = Image.new("RGBA", size, background)
        ImageDraw.Draw(image).line([(10, 10), (size[0] - 10, size[1] - 10)], fill=ink, width=5)
    else:
        image = Image.new(mode, size, "white")
        ImageDraw.Draw(image).line([(10, 10), (size[0] - 10, size[1] - 10)], fill="blue",
                                   width=5)
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def upload(data: bytes, name: str = "sig.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def audits(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


# --- the page --------------------------------------------------------------------------------


def test_page_needs_login(client):
    response = client.get(reverse("signing:profile"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_any_user_sees_the_page_and_the_menu_link(client, org):
    login(client, org.person("commune", "specialist"))
    response = client.get(reverse("signing:profile"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="no-signature"' in html and 'data-testid="no-key"' in html
    assert f'href="{reverse("signing:profile")}"' in html  # the user menu link in base.html
    inbox = client.get(reverse("documents:inbox")).content.decode()
    assert 'class="user-profile-link"' in inbox


# --- the signature image ------------------------------------------------------------------------


def test_upload_valid_image(client, org, django_capture_on_commit_callbacks):
    user = org.person("province", "leader")
    login(client, user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signing:profile"),
                               {"what": "image", "image": upload(png())})
    assert response.status_code == 302
    profile = SignatureProfile.objects.get(user=user)
    assert profile.image.name.endswith(".png")
    entry = AuditEntry.objects.get(action="signing.profile.image")
    assert entry.actor == user and entry.object_id == str(profile.pk) and entry.version_hash
    page = client.get(reverse("signing:profile")).content.decode()
    assert 'data-testid="signature-preview"' in page and "signature-preview" in page
    served = client.get(reverse("signing:profile_image"))
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content).startswith(profiles.PNG_MAGIC)
    # Replacing it drops the earlier file once the new one is committed.
    old = profile.image.name
    storage = profile.image.storage
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("signing:profile"),
                    {"what": "image", "image": upload(png(size=(500, 200)))})
    profile.refresh_from_db()
    assert profile.image.name != old and not storage.exists(old)
    assert storage.exists(profile.image.name)
    assert audits("signing.profile.image") == 2


def test_someone_elses_image_is_not_served(client, org):
    owner = org.person("province", "leader")
    profiles.set_signature_image(owner, upload(png()))
    login(client, org.person("province", "specialist"))
    assert client.get(reverse("signing:profile_image")).status_code == 404


def _rgb_with_trns() -> bytes:
    """An RGB PNG whose white is declared transparent (tRNS): allowed."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 100), (255, 255, 255))
    ImageDraw.Draw(image).line([(5, 5), (290, 90)], fill=(10, 40, 200), width=4)
    out = io.BytesIO()
    image.save(out, "PNG", transparency=(255, 255, 255))
    return out.getvalue()


def test_palette_and_trns_transparency_are_accepted(org):
    user = org.person("province", "leader")
    assert profiles.set_signature_image(user, upload(_rgb_with_trns())).width == 300
    from PIL import Image

    stored = SignatureProfile.objects.get(user=user).image
    with stored.open("rb") as handle, Image.open(handle) as image:
        assert image.mode == "RGBA"  # re-encoded with a real alpha channel


REFUSALS = {
    "jpeg": (lambda: png(mode="RGB", fmt="JPEG"), "must be a PNG"),
    "text": (lambda: b"hello, this is not an image", "must be a PNG"),
    "broken": (lambda: profiles.PNG_MAGIC + b"\x00" * 200, "not a valid PNG"),
    "truncated": (lambda: png()[:120], "not a valid PNG"),
    "no_alpha": (lambda: png(mode="RGB"), "no transparency"),
    "opaque": (lambda: png(background=(255, 255, 255, 255)), "no transparent pixels"),
    "empty_image": (lambda: png(ink=(0, 0, 0, 0)), "completely transparent"),
    "narrow": (lambda: png(size=(60, 40)), "60 × 40 pixels"),
    "wide": (lambda: png(size=(2400, 200)), "2400 × 200 pixels"),
    "flat": (lambda: png(size=(400, 10)), "400 × 10 pixels"),
    "empty_file": (lambda: b"", "empty"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_images_keep_the_old_one(client, org, case):
    user = org.person("province", "leader")
    profiles.set_signature_image(user, upload(png()))
    before = SignatureProfile.objects.get(user=user).image.name
    make, message = REFUSALS[case]
    login(client, user)
    response = client.post(reverse("signing:profile"),
                           {"what": "image", "image": upload(make())})
    assert response.status_code == 400
    assert message in response.content.decode()
    profile = SignatureProfile.objects.get(user=user)
    assert profile.image.name == before and profile.image.storage.exists(before)
    assert audits("signing.profile.image") == 1


def test_too_large_file_is_refused(client, org):
    user = org.person("province", "leader")
    login(client, user)
    data = png() + b"\x00" * (profiles.MAX_IMAGE_BYTES + 1)
    response = client.post(reverse("signing:profile"), {"what": "image", "image": upload(data)})
    assert response.status_code == 400 and "1024 KB" in response.content.decode()
    assert not SignatureProfile.objects.filter(user=user).exclude(image="").exists()


def test_missing_file_and_unknown_form(client, org):
    login(client, org.person("province", "leader"))
    response = client.post(reverse("signing:profile"), {"what": "image"})
    assert response.status_code == 400 and "Choose a file" in response.content.decode()
    response = client.post(reverse("signing:profile"), {"what": "other"})
    assert response.status_code == 400


def test_black_ink_is_saved_with_a_warning(client, org):
    login(client, org.person("province", "leader"))
    response = client.post(reverse("signing:profile"),
                           {"what": "image", "image": upload(png(ink=(0, 0, 0, 255)))},
                           follow=True)
    html = response.content.decode()
    assert "was saved" in html and "blue ink" in html


# --- the USB token certificate --------------------------------------------------------------


@pytest.fixture
def leader(org, settings, signing_pki):
    from tests.signing_fixtures import use_pki

    person = org.person("province", "leader")
    person.full_name = LEADER_NAME
    person.save()
    use_pki(settings, signing_pki)
    return person


def cert_upload(demo: pki.DemoPki, label: str, *, der: bool = False) -> SimpleUploadedFile:
    cert = demo.cert(label)
    data = cert.dump() if der else pki.cert_pem(cert)
    return SimpleUploadedFile(f"{label}.{'cer' if der else 'pem'}", data)


@pytest.mark.slow
def test_register_pem_certificate(client, leader, signing_pki):
    login(client, leader)
    response = client.post(reverse("signing:profile"),
                           {"what": "certificate", "certificate": cert_upload(signing_pki,
                                                                              "leader")})
    assert response.status_code == 302
    profile = SignatureProfile.objects.select_related("key").get(user=leader)
    assert profile.key.kind == KeyKind.REMOTE and not profile.key.secret_encrypted
    assert remote.load_certificates(profile.key.certificate_pem)[0].dump() == \
        signing_pki.cert("leader").dump()
    entry = AuditEntry.objects.get(action="signing.profile.certificate")
    assert entry.actor == leader and LEADER_NAME in entry.comment
    html = client.get(reverse("signing:profile")).content.decode()
    assert 'data-testid="key-info"' in html and LEADER_NAME in html
    assert str(KeyKind.REMOTE.label) in html


@pytest.mark.slow
def test_register_der_replaces_a_server_key_without_deleting_it(leader, signing_pki):
    from signing.demo import attach_key

    server_key = attach_key(leader, signing_pki, "leader")
    key = profiles.register_certificate(leader, cert_upload(signing_pki, "leader", der=True))
    assert key.pk != server_key.pk and key.kind == KeyKind.REMOTE
    assert SigningKey.objects.filter(pk=server_key.pk).exists()
    # Registering again updates the same two-step key in place.
    again = profiles.register_certificate(leader, cert_upload(signing_pki, "leader"))
    assert again.pk == key.pk and SigningKey.objects.filter(kind=KeyKind.REMOTE).count() == 1
    assert audits("signing.profile.certificate") == 2


@pytest.mark.slow
@pytest.mark.parametrize("label, message", [
    ("expired", "expired on"),
    ("nosign", "may not be used for signing"),
    ("stranger", "belongs to"),
])
def test_refused_certificates(client, leader, signing_pki, label, message):
    login(client, leader)
    response = client.post(reverse("signing:profile"),
                           {"what": "certificate", "certificate": cert_upload(signing_pki,
                                                                              label)})
    assert response.status_code == 400 and message in response.content.decode()
    assert not SignatureProfile.objects.filter(user=leader, key__isnull=False).exists()
    assert audits("signing.profile.certificate") == 0


@pytest.mark.slow
def test_unreadable_and_ca_certificates_are_refused(leader, signing_pki):
    garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    for data, message in [
        (garbage, "cannot be read"),
        (b"\x30\x03\x02\x01\x01", "cannot be read"),
        (b"plain words", "cannot be read"),
        (signing_pki.root_pem_path.read_bytes(), "certification authority"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            profiles.register_certificate(leader, SimpleUploadedFile("c.pem", data))
        assert message in str(caught.value.message)
    assert not SigningKey.objects.exists()


@pytest.mark.slow
def test_registered_certificate_prepares_a_two_step_signature(leader, org, signing_pki):
    profiles.set_signature_image(leader, upload(png()))
    profiles.register_certificate(leader, cert_upload(signing_pki, "leader"))
    doc = advance(org, draft(org, type_code="ke-hoach", subject="Kế hoạch thử chữ ký"),
                  "approved")
    pending = remote.prepare_remote_signature(leader, doc.pk)
    assert PendingSignature.objects.filter(pk=pending.pk).exists()
    assert remote.load_certificates(pending.certificate_pem)[0].dump() == \
        signing_pki.cert("leader").dump()
