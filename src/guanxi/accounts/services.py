"""Administrator writes of users and the team tree: validate, save, audit, atomically.

Every function refuses (PermissionDenied, nothing written) unless the actor is an
active administrator. Passwords are never written to the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from guanxi.core import audit
from guanxi.core.models import AuditAction

from .models import Role, Team, TeamKind, User

USER_FIELDS = ["username", "display_name", "email", "phone", "role", "team", "is_active"]
USER_AUDIT = USER_FIELDS + ["is_staff", "is_superuser"]
TEAM_FIELDS = ["name", "kind", "parent", "city"]


def _require_admin(actor) -> None:
    if not (actor is not None and actor.is_active and actor.is_admin):
        raise PermissionDenied(_("Only an administrator can manage users and teams."))


def active_admins():
    return User.objects.filter(is_active=True).filter(Q(role=Role.ADMIN) | Q(is_superuser=True))


def _is_admin(user: User) -> bool:
    return bool(user.is_active and (user.is_superuser or user.role == Role.ADMIN))


# --- Users ---------------------------------------------------------------------------


def _apply_user(user: User, data: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for key in USER_FIELDS:
        if key in data:
            value = data[key]
            if isinstance(value, str):
                value = value.strip()
            setattr(user, key, value)
    if "username" in data:
        if not user.username:
            errors["username"] = [_("A user needs a user name.")]
        else:
            try:
                User.username_validator(user.username)
            except ValidationError as exc:
                errors["username"] = exc.messages
            clash = User.objects.filter(username__iexact=user.username).exclude(pk=user.pk)
            if clash.exists():
                errors["username"] = [_("The user name “%(name)s” is taken.")
                                      % {"name": user.username}]
    if user.email:
        try:
            validate_email(user.email)
            user.email = user.email.lower()
        except ValidationError:
            errors["email"] = [_("“%(value)s” is not an e-mail address.") % {"value": user.email}]
    if user.role not in Role.values:
        errors["role"] = [_("Pick a role.")]
    elif "role" in data:
        # The role is authoritative: administrators get Django admin access, others lose it.
        user.is_staff = user.is_superuser = user.role == Role.ADMIN
    return errors


@transaction.atomic
def user_create(*, actor, username: str, password: str, role: str = Role.REP,
                team: Team | None = None, display_name: str = "", email: str = "",
                phone: str = "", is_active: bool = True) -> User:
    _require_admin(actor)
    user = User()
    errors = _apply_user(user, {
        "username": username, "role": role, "team": team, "display_name": display_name,
        "email": email, "phone": phone, "is_active": is_active,
    })
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    audit.record_create(actor=actor, obj=user, fields=USER_AUDIT)
    return user


@transaction.atomic
def user_update(*, actor, user: User, **data: Any) -> User:
    """Change role, team, active flag and profile. The last active administrator can
    neither be demoted nor deactivated (the site would have no administrator)."""
    _require_admin(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    was_admin = _is_admin(user)
    before = audit.snapshot(user, USER_AUDIT)
    errors = _apply_user(user, data)
    if was_admin and not _is_admin(user) and not active_admins().exclude(pk=user.pk).exists():
        key = "is_active" if not user.is_active else "role"
        errors[key] = [_("%(name)s is the last active administrator. Make someone else an "
                         "administrator first.") % {"name": user}]
    if errors:
        raise ValidationError(errors)
    changes = audit.diff(before, audit.snapshot(user, USER_AUDIT))
    if changes:
        user.save()
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=user, changes=changes)
    return user


@transaction.atomic
def user_set_password(*, actor, user: User, password: str) -> None:
    _require_admin(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    try:
        validate_password(password or "", user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=user,
                 changes={"password": ["•••", _("(reset)")]})


# --- Teams ---------------------------------------------------------------------------


def _apply_team(team: Team, data: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    for key in TEAM_FIELDS:
        if key in data:
            value = data[key]
            setattr(team, key, value.strip() if isinstance(value, str) else value)
    if not team.name:
        errors["name"] = [_("A team needs a name.")]
    if team.kind not in TeamKind.values:
        errors["kind"] = [_("Pick a kind of team.")]
    parent = team.parent
    if parent is not None and team.pk and (
            parent.pk == team.pk or parent.path.startswith(team.path)):
        errors["parent"] = [_("A team cannot move under itself or one of its own teams.")]
    siblings = Team.objects.filter(parent=parent, name=team.name).exclude(pk=team.pk)
    if team.name and siblings.exists():
        errors["name"] = [_("There is already a team “%(name)s” here.") % {"name": team.name}]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def team_create(*, actor, name: str, kind: str = TeamKind.OFFICE, parent: Team | None = None,
                city: str = "") -> Team:
    _require_admin(actor)
    team = Team()
    _apply_team(team, {"name": name, "kind": kind, "parent": parent, "city": city})
    team.save()
    audit.record_create(actor=actor, obj=team, fields=TEAM_FIELDS)
    return team


@transaction.atomic
def team_update(*, actor, team: Team, **data: Any) -> Team:
    """Rename, re-kind or move a team; moving re-paths the whole subtree."""
    _require_admin(actor)
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = audit.snapshot(team, TEAM_FIELDS)
    _apply_team(team, data)
    changes = audit.diff(before, audit.snapshot(team, TEAM_FIELDS))
    if changes:
        team.save()  # Team.save re-paths the children when the parent changed
        audit.record(actor=actor, action=AuditAction.UPDATE, obj=team, changes=changes)
    return team


def team_usage(team: Team) -> dict[str, int]:
    """What still hangs off a team: child teams, users, customers (recycle bin too)."""
    from guanxi.parties.models import Customer

    return {
        "children": team.children.count(),
        "members": User.objects.filter(team=team).count(),
        "customers": Customer.all_objects.filter(team=team).count(),
    }


@transaction.atomic
def team_delete(*, actor, team: Team) -> None:
    """Delete an empty team (no child teams, users or customers)."""
    _require_admin(actor)
    team = Team.objects.select_for_update().get(pk=team.pk)
    usage = team_usage(team)
    if any(usage.values()):
        raise ValidationError(
            _("“%(name)s” still has %(children)d teams, %(members)d users and %(customers)d "
              "customers. Move them elsewhere first.") % {"name": team.name, **usage})
    audit.record(actor=actor, action=AuditAction.PURGE, obj=team,
                 changes={k: [v, None] for k, v in audit.snapshot(team, TEAM_FIELDS).items()})
    team.delete()
