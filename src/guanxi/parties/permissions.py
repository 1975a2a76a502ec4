"""Who may write what. Reads are scoped by `visible_to`; these guard writes.

Every service checks these before it touches the database, so a refused write
leaves the database unchanged.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from guanxi.accounts.models import Role

# Roles that create and edit customer master data.
EDITOR_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER, Role.REP, Role.MARKETING}
# Roles that log interactions on any customer they can see.
LOGGER_ROLES = EDITOR_ROLES | {Role.SERVICE, Role.FINANCE}


def _role(user) -> str:
    return Role.ADMIN if user.is_superuser else user.role


def can_create_customer(user) -> bool:
    return user.is_active and _role(user) in EDITOR_ROLES


def can_edit_customer(user, customer) -> bool:
    role = _role(user)
    if not user.is_active or role not in EDITOR_ROLES:
        return False
    if role in {Role.ADMIN, Role.DIRECTOR, Role.MARKETING}:
        return True
    from .models import Customer

    if role == Role.REP:
        # A rep edits own and shared customers; a pool customer must be claimed first.
        return customer.owner_id == user.pk or customer.shared_with.filter(pk=user.pk).exists()
    return Customer.objects.visible_to(user).filter(pk=customer.pk).exists()


def can_delete_customer(user, customer) -> bool:
    role = _role(user)
    if role in {Role.ADMIN, Role.DIRECTOR}:
        return True
    if role == Role.MANAGER:
        return can_edit_customer(user, customer)
    return role == Role.REP and customer.owner_id == user.pk


def can_log_interaction(user, customer) -> bool:
    from .models import Customer

    return (
        user.is_active
        and _role(user) in LOGGER_ROLES
        and Customer.objects.visible_to(user).filter(pk=customer.pk).exists()
    )


def can_restore(user) -> bool:
    return user.is_active and user.is_admin


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("You may not change this record."))
