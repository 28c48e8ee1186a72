from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import AuditEntry


def record(
    target: models.Model,
    action: str,
    *,
    actor=None,
    from_state: str = "",
    to_state: str = "",
    comment: str = "",
    version_hash: str = "",
) -> AuditEntry:
    """Append one audit record for ``target``; call inside the changing transaction."""
    return AuditEntry.objects.create(
        content_type=ContentType.objects.get_for_model(target),
        object_id=str(target.pk),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        version_hash=version_hash,
    )


def history(target: models.Model):
    return AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(target), object_id=str(target.pk)
    ).select_related("actor")
