"""Writes of personal access tokens: issue and revoke, audited (the key never is)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.models import ApiToken
from guanxi.core import audit
from guanxi.core.models import AuditAction


@transaction.atomic
def token_create(*, actor, name: str) -> tuple[ApiToken, str]:
    """Issue a token for `actor`; returns (token, key). The key is shown once."""
    if not (actor.is_authenticated and actor.is_active):
        raise PermissionDenied(_("You may not create API tokens."))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the token a name.")]})
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise ValidationError({"name": [_("The name is too long.")]})
    token, key = ApiToken.issue(user=actor, name=name)
    audit.record(actor=actor, action=AuditAction.CREATE, obj=token,
                 changes={"name": [None, token.name], "prefix": [None, token.prefix]})
    return token, key


@transaction.atomic
def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    """Revoke one of the actor's own tokens (idempotent)."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != actor.pk:
        raise PermissionDenied(_("You may not revoke this token."))
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=token,
                 changes={"revoked_at": [None, token.revoked_at.isoformat()]})
    return token
