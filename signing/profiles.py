"""The competent person's own signature profile: handwritten-signature image and certificate.

Decree 30, Appendix I: the person's digital signature shows their handwritten
signature (blue, transparent PNG). Everything uploaded is checked in full
before anything is stored, so a refused upload leaves the previous image or
certificate in place; every accepted change is written to the audit log.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from workflow.audit.services import record
from workflow.documents.errors import InvalidInput

from .models import KeyKind, SealProfile, SignatureProfile, SigningKey
from .signers import SignerError, check_certificate

logger = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_IMAGE_BYTES = 1024 * 1024
MIN_WIDTH, MAX_WIDTH = 100, 2000
MIN_HEIGHT, MAX_HEIGHT = 30, 2000
MAX_CERTIFICATE_BYTES = 64 * 1024


def signer_name(user) -> str:
    """The name the certificate must carry: the same rule the signing operations apply."""
    return user.full_name or user.get_full_name() or user.username


# --- the handwritten-signature image ------------------------------------------------------------


@dataclass(frozen=True)
class CheckedImage:
    data: bytes  # re-encoded by Pillow: no trailing bytes or odd chunks survive
    width: int
    height: int
    bluish: bool


def _read_limited(upload, limit: int) -> bytes:
    if upload is None:
        raise InvalidInput(_("Choose a file to upload."))
    size = getattr(upload, "size", None)
    if size is not None and size > limit:
        raise InvalidInput(_("The file is larger than the limit of %(kb)d KB.")
                           % {"kb": limit // 1024})
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(_("The file is larger than the limit of %(kb)d KB.")
                           % {"kb": limit // 1024})
    if not data:
        raise InvalidInput(_("The file is empty."))
    return data


def _is_bluish(image) -> bool:
    """Is the ink (the mostly opaque pixels) predominantly blue, as Appendix I asks?"""
    from PIL import ImageStat

    mask = image.getchannel("A").point(lambda a: 255 if a >= 128 else 0)
    if mask.getbbox() is None:
        return False
    red, green, blue = ImageStat.Stat(image.convert("RGB"), mask).mean
    return blue > red + 20 and blue > green + 10


def check_signature_image(data: bytes) -> CheckedImage:
    """A real PNG of sensible size whose alpha channel makes the background transparent."""
    from PIL import Image, UnidentifiedImageError

    if not data.startswith(PNG_MAGIC):
        raise InvalidInput(_("The signature image must be a PNG file."))
    not_png = _("The file is not a valid PNG image.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG":
                raise InvalidInput(not_png)
            width, height = probe.size
            # Dimensions come from the header: checked before any pixel is decoded.
            if not (MIN_WIDTH <= width <= MAX_WIDTH and MIN_HEIGHT <= height <= MAX_HEIGHT):
                raise InvalidInput(
                    _("The image is %(width)d × %(height)d pixels; it must be %(min_w)d to "
                      "%(max_w)d pixels wide and %(min_h)d to %(max_h)d pixels high.")
                    % {"width": width, "height": height, "min_w": MIN_WIDTH,
                       "max_w": MAX_WIDTH, "min_h": MIN_HEIGHT, "max_h": MAX_HEIGHT})
            if getattr(probe, "n_frames", 1) > 1:
                raise InvalidInput(_("Animated images cannot be used as a signature."))
            has_alpha = probe.mode in ("RGBA", "LA", "PA") or "transparency" in probe.info
            if not has_alpha:
                raise InvalidInput(_("The image has no transparency (alpha channel); export "
                                     "the signature as a PNG with a transparent background."))
            probe.load()
            image = probe.convert("RGBA")
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError,
            Image.DecompressionBombError) as exc:
        raise InvalidInput(not_png) from exc
    lowest, highest = image.getchannel("A").getextrema()
    if lowest > 0:
        raise InvalidInput(_("The image has no transparent pixels; the background must be "
                             "transparent so the document shows through."))
    if highest == 0:
        raise InvalidInput(_("The image is completely transparent; there is no signature in "
                             "it."))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return CheckedImage(data=out.getvalue(), width=width, height=height,
                        bluish=_is_bluish(image))


def set_signature_image(user, upload) -> CheckedImage:
    """Check ``upload`` and make it ``user``'s signature image; the old one stays if refused."""
    checked = check_signature_image(_read_limited(upload, MAX_IMAGE_BYTES))
    digest = hashlib.sha256(checked.data).hexdigest()
    old_name = ""
    new_name = ""
    try:
        with transaction.atomic():
            profile, _created = SignatureProfile.objects.select_for_update().get_or_create(
                user=user)
            old_name = profile.image.name if profile.image else ""
            # A name per content: browsers never show a cached earlier image.
            profile.image.save(f"sig-{user.pk}-{digest[:12]}.png", ContentFile(checked.data),
                               save=False)
            new_name = profile.image.name
            profile.save(update_fields=["image"])
            record(profile, "signing.profile.image", actor=user, version_hash=digest,
                   comment=f"{checked.width}×{checked.height} px, {len(checked.data)} bytes")
            if old_name and old_name != new_name:
                storage = profile.image.storage
                transaction.on_commit(lambda: _delete_quietly(storage, old_name))
    except Exception:
        if new_name and new_name != old_name:
            _delete_quietly(SignatureProfile._meta.get_field("image").storage, new_name)
        raise
    return checked


def _delete_quietly(storage, name: str) -> None:
    try:
        storage.delete(name)
    except OSError:
        logger.warning("could not delete %s", name)


# --- the certificate of a USB token (two-step signing) ----------------------------------------


def _parse_certificates(data: bytes) -> list:
    from .remote import load_certificates

    try:
        certs = load_certificates(data)
        for cert in certs:
            cert.native  # noqa: B018 - parses fully: garbage inside PEM armour fails here
            cert.subject.native  # noqa: B018
    except InvalidInput:
        raise
    except Exception as exc:  # noqa: BLE001 - asn1crypto reports bad input in many types
        raise InvalidInput(_("The certificate cannot be read.")) from exc
    if not certs:
        raise InvalidInput(_("The certificate cannot be read."))
    return certs


def _signer_first(certs: list) -> list:
    """The end-entity certificate first, then whatever CA certificates came with it."""
    leaves = [c for c in certs if not c.ca]
    if not leaves:
        raise InvalidInput(_("This is a certification authority's certificate, not a "
                             "personal signing certificate."))
    signer = leaves[0]
    return [signer] + [c for c in certs if c is not signer]


def register_certificate(user, upload) -> SigningKey:
    """Register the certificate of ``user``'s USB token so the server can prepare signatures.

    The key itself never reaches the server: the profile's key becomes a
    two-step (remote) key that holds only the certificate.
    """
    from .remote import _pem_chain

    certs = _signer_first(_parse_certificates(_read_limited(upload, MAX_CERTIFICATE_BYTES)))
    signer = certs[0]
    try:
        # Trust and revocation are checked again at each signature, when they matter.
        check_certificate(signer, expected_name=signer_name(user))
    except SignerError as exc:
        raise InvalidInput(str(exc)) from exc
    info = describe_certificate(signer)
    with transaction.atomic():
        profile, _created = SignatureProfile.objects.select_for_update().get_or_create(user=user)
        key = profile.key
        if key is None or key.kind != KeyKind.REMOTE or _shared(key, profile):
            # Another kind of key (or one shared with others) is left as it is for the
            # administrator; the person's profile points at their own token from now on.
            key = SigningKey(kind=KeyKind.REMOTE)
        key.label = (_("USB token of %(name)s") % {"name": signer_name(user)})[:120]
        key.certificate_pem = _pem_chain(certs)
        key.is_demo = False
        key.save()
        if profile.key_id != key.pk:
            profile.key = key
            profile.save(update_fields=["key"])
        record(profile, "signing.profile.certificate", actor=user,
               version_hash=info["fingerprint"],
               comment=f"{info['subject']}; serial {info['serial']}; "
                       f"valid until {info['not_after']:%Y-%m-%d}")
    return key


def _shared(key: SigningKey, profile: SignatureProfile) -> bool:
    return (SignatureProfile.objects.filter(key=key).exclude(pk=profile.pk).exists()
            or SealProfile.objects.filter(key=key).exists())


# --- what the profile page shows (never secrets) ---------------------------------------------


def describe_certificate(cert) -> dict:
    validity = cert["tbs_certificate"]["validity"]
    not_before: datetime = validity["not_before"].native
    not_after: datetime = validity["not_after"].native
    now = timezone.now()
    return {
        "subject": cert.subject.human_friendly,
        "common_name": cert.subject.native.get("common_name", ""),
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "X"),
        "not_before": not_before,
        "not_after": not_after,
        "valid_now": not_before <= now <= not_after,
        "fingerprint": hashlib.sha256(cert.dump()).hexdigest(),
    }


def describe_key(key: SigningKey | None) -> dict | None:
    if key is None:
        return None
    from .remote import load_certificates

    certificate = None
    if key.certificate_pem:
        try:
            certificate = describe_certificate(load_certificates(key.certificate_pem)[0])
        except Exception:  # noqa: BLE001 - a damaged stored certificate must not break the page
            logger.warning("stored certificate of key %s cannot be read", key.pk)
    return {
        "label": key.label,
        "kind": key.kind,
        "kind_label": key.get_kind_display(),
        "is_demo": key.is_demo,
        "two_step": key.kind == KeyKind.REMOTE,
        "certificate": certificate,
    }


def profile_of(user) -> SignatureProfile | None:
    return SignatureProfile.objects.select_related("key").filter(user=user).first()
