"""DEMO keys: a local PKI, PKCS#12 files and generated signature/seal images.

Used by the demo run command and by the tests. Every certificate says DEMO -
UNTRUSTED; passphrases are random and stored only encrypted.
"""

from __future__ import annotations

import io
import math
import secrets
from pathlib import Path

from django.core.files.base import ContentFile

from . import pki
from .models import KeyKind, SealProfile, SignatureProfile, SigningKey
from .signers import set_secret


def signature_png(name: str) -> bytes:
    """A blue, transparent, handwriting-like stroke (real scans replace it)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (480, 200), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    seed = sum(ord(c) for c in name)
    points = [(30 + i * 6, 100 + 45 * math.sin(i / (4 + seed % 3)) * math.cos(i / 11))
              for i in range(72)]
    draw.line(points, fill=(20, 50, 190, 255), width=6, joint="curve")
    draw.line([(60, 150), (420, 130)], fill=(20, 50, 190, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seal_png(organisation: str, size_mm: float = 36, dpi: int = 300) -> bytes:
    """A red round seal, transparent, drawn at real size for ``dpi``."""
    from PIL import Image, ImageDraw

    px = int(size_mm / 25.4 * dpi)
    image = Image.new("RGBA", (px, px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    red = (210, 20, 20, 235)
    draw.ellipse((6, 6, px - 6, px - 6), outline=red, width=14)
    draw.ellipse((70, 70, px - 70, px - 70), outline=red, width=6)
    # A five-pointed star in the centre, as on the Front's seals.
    cx = cy = px / 2
    r_out, r_in = px * 0.16, px * 0.065
    star = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        angle = -math.pi / 2 + k * math.pi / 5
        star.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(star, fill=red)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _pkcs12_key(demo: pki.DemoPki, label: str, title: str) -> SigningKey:
    passphrase = secrets.token_urlsafe(18)
    key = SigningKey(label=title, kind=KeyKind.PKCS12, is_demo=True)
    set_secret(key, passphrase)
    key.pkcs12_file.save(f"{label}.p12", ContentFile(demo.pkcs12(label, passphrase.encode())),
                         save=False)
    key.certificate_pem = pki.cert_pem(demo.cert(label)).decode("ascii")
    key.save()
    return key


def provision(directory: Path, people=(), units=(), extra: list[pki.EndEntity] = (),
              port: int | None = None) -> pki.DemoPki:
    """Build the DEMO PKI for ``people`` (leaders) and ``units`` (seals), and their profiles."""
    entities = [pki.EndEntity(f"person-{u.pk}", u.full_name or u.username) for u in people]
    entities += [pki.EndEntity(f"seal-{u.pk}", u.name, organisation=u.name, kind="seal")
                 for u in units]
    entities += list(extra)
    demo = pki.build(Path(directory), entities, port=port)
    for user in people:
        key = _pkcs12_key(demo, f"person-{user.pk}", f"DEMO {user}")
        profile, _ = SignatureProfile.objects.get_or_create(user=user)
        profile.key = key
        profile.image.save(f"sig-{user.pk}.png", ContentFile(signature_png(str(user))),
                           save=False)
        profile.save()
    for unit in units:
        key = _pkcs12_key(demo, f"seal-{unit.pk}", f"DEMO seal {unit}")
        profile, _ = SealProfile.objects.get_or_create(unit=unit)
        profile.key = key
        profile.image.save(f"seal-{unit.pk}.png", ContentFile(seal_png(unit.name)), save=False)
        profile.save()
    return demo


def attach_key(user, demo: pki.DemoPki, label: str, *, image: bool = False) -> SigningKey:
    """Point ``user``'s profile at a DEMO certificate (tests, refusals, demo reprovisioning)."""
    key = _pkcs12_key(demo, label, f"DEMO {label}")
    profile, _ = SignatureProfile.objects.get_or_create(user=user)
    profile.key = key
    if image and not profile.image:
        profile.image.save(f"sig-{user.pk}.png", ContentFile(signature_png(str(user))),
                           save=False)
    profile.save()
    return key


def attach_seal(unit, demo: pki.DemoPki, label: str) -> SigningKey:
    """Give ``unit`` a seal profile with the DEMO certificate ``label`` and a seal image."""
    key = _pkcs12_key(demo, label, f"DEMO seal {unit}")
    profile, _ = SealProfile.objects.get_or_create(unit=unit)
    profile.key = key
    if not profile.image:
        profile.image.save(f"seal-{unit.pk}.png", ContentFile(seal_png(unit.name)), save=False)
    profile.save()
    return key


def provision_missing(directory: Path, people=(), units=()) -> tuple[int, int]:
    """Give keys to those of ``people`` and ``units`` that have none; safe to run again.

    The DEMO PKI is rebuilt with the same time anchor, port and keys, so the CA
    certificates do not change and earlier signatures stay valid. Returns how
    many people and units were given a key.
    """
    directory = Path(directory)
    people = [u for u in people if not SignatureProfile.objects.filter(
        user=u, key__isnull=False).exists()]
    units = [u for u in units if not SealProfile.objects.filter(
        unit=u, key__isnull=False).exists()]
    existing = pki.load(directory)
    if not people and not units and existing is not None:
        return 0, 0
    anchor = pki.anchor_of(directory)
    now, port = anchor if anchor else (None, None)
    entities = {e.label: e for e in (existing.entities if existing else [])}
    for user in people:
        entities[f"person-{user.pk}"] = pki.EndEntity(f"person-{user.pk}",
                                                      user.full_name or user.username)
    for unit in units:
        entities[f"seal-{unit.pk}"] = pki.EndEntity(f"seal-{unit.pk}", unit.name,
                                                    organisation=unit.name, kind="seal")
    demo = pki.build(directory, list(entities.values()), port=port, now=now)
    for user in people:
        attach_key(user, demo, f"person-{user.pk}", image=True)
    for unit in units:
        attach_seal(unit, demo, f"seal-{unit.pk}")
    return len(people), len(units)


def prepare_demo(demo) -> None:
    """``seed_demo`` hook, before any document: DEMO keys for the demo leaders and units.

    Run before the documents are made so that the core seed signs and issues its
    documents through ``services.perform`` and the signing handlers, like the UI.
    Keys already there are kept (see :func:`provision_missing`), so seeding again
    creates nothing. With the DEMO PKI disabled nothing is provisioned and the
    demo documents stop at "approved".
    """
    from workflow.organisation.models import Role

    from . import conf

    if not conf.demo_enabled():
        return
    leaders = [demo.person(level, Role.LEADER) for level in demo.demo_units]
    units = list(demo.demo_units.values())
    people, seals = provision_missing(conf.pki_dir(), people=leaders, units=units)
    demo.count("signing keys", people + seals)
    demo.signing_ready = True


def demo_session():
    """``seed_demo`` hook around the whole seed: each DEMO key file is opened once.

    Opening a PKCS#12 file (key derivation, key validation) costs more CPU than the
    signature itself, and the seed signs about sixty times with six keys.
    """
    from .signers import reuse_signers

    return reuse_signers()
