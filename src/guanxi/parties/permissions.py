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


# Roles that merge duplicate customers (besides a rep merging only their own customers)
# and start the duplicate scan.
MERGE_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.MANAGER}


def can_find_duplicates(user) -> bool:
    """Starting the duplicate scan over all customers: administrators, directors, managers."""
    return user.is_active and _role(user) in MERGE_ROLES


def can_merge(user, customers) -> bool:
    """Merging customers into one: the user may edit every one of them, and is an
    administrator, director or manager, or a rep who owns all of them (a rep cannot
    merge away a colleague's customer, a pool customer or one only shared with them)."""
    customers = list(customers)
    if not user.is_active or len(customers) < 2:
        return False
    role = _role(user)
    if role not in MERGE_ROLES and not (
        role == Role.REP and all(c.owner_id == user.pk for c in customers)
    ):
        return False
    return all(can_edit_customer(user, c) for c in customers)


def can_undo_merge(user, survivor, merged) -> bool:
    """Undoing a merge: the same rule as merging, with the merged customers (now in the
    recycle bin) judged by who may see them there."""
    from .models import Customer

    merged = list(merged)
    role = _role(user)
    if not user.is_active or not merged:
        return False
    if role not in MERGE_ROLES and not (
        role == Role.REP and all(c.owner_id == user.pk for c in [survivor, *merged])
    ):
        return False
    ids = [c.pk for c in merged]
    return (can_edit_customer(user, survivor)
            and Customer.all_objects.visible_to(user).filter(pk__in=ids).count() == len(ids))


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("You may not change this record."))
