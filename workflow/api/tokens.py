"""API tokens: stored hashed, with an expiry, listed and revoked by their owner (issue 23 #11).

The tokens are django-rest-knox's: only a SHA-512 digest and the first 15 characters
(``token_key``, the id shown to the owner) are stored, each token expires after
``API_TOKEN_TTL_DAYS``, and a person holds at most ``API_TOKEN_LIMIT`` live tokens (a new
one retires the oldest). Issuing and revoking are audited on the person.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from knox.models import AuthToken

from workflow.audit.services import record
from workflow.documents.errors import NotFound


def live_tokens(user):
    """The person's tokens that still work, newest first."""
    return (AuthToken.objects.filter(user=user)
            .exclude(expiry__lt=timezone.now()).order_by("-created"))


@transaction.atomic
def issue_token(user) -> tuple[AuthToken, str]:
    """A new token for ``user``; the clear text is returned once and never stored."""
    # Expired ones are of no use to anyone; the oldest live ones go past the limit.
    AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
    limit = settings.API_TOKEN_LIMIT
    if limit:
        for old in live_tokens(user)[max(limit - 1, 0):]:
            old.delete()
            record(user, "api_token_retired", actor=user, comment=old.token_key)
    instance, token = AuthToken.objects.create(user=user)
    record(user, "api_token_issued", actor=user, comment=instance.token_key)
    return instance, token


@transaction.atomic
def revoke(user, token_key: str | None = None, *, actor=None) -> int:
    """Revoke one of the person's tokens by its id (``token_key``), or all with ``None``."""
    tokens = AuthToken.objects.filter(user=user)
    if token_key is not None:
        tokens = tokens.filter(token_key=token_key)
        if not tokens.exists():
            raise NotFound(_("You have no API token with this id."))
    keys = list(tokens.values_list("token_key", flat=True))
    tokens.delete()
    for key in keys:
        record(user, "api_token_revoked", actor=actor or user, comment=key)
    return len(keys)
