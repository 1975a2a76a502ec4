"""Who may do what in the service desk. Reading is always `.visible_to(user)` (the
customer's visibility); these rules decide the writes on what a user can see."""

from __future__ import annotations

from guanxi.accounts.models import Role

DESK_ROLES = {Role.ADMIN, Role.DIRECTOR, Role.SERVICE}


def _active(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active)


def is_desk_staff(user) -> bool:
    """Service agents, directors and administrators work every ticket."""
    return _active(user) and (user.is_superuser or user.role in DESK_ROLES)


def can_create_ticket(user, customer) -> bool:
    """Anyone who sees the customer (the caller checked) except read-only users: one
    point of contact means whoever picks up the phone opens the ticket."""
    return _active(user) and user.role != Role.READONLY


def can_work_ticket(user, ticket) -> bool:
    """Reply to the customer, assign, change status, priority or type, merge.

    Desk staff; the assignee; members and the manager of the ticket's queue; managers
    for customers they see (the caller checked visibility)."""
    if not _active(user) or user.role == Role.READONLY:
        return False
    if is_desk_staff(user) or user.role == Role.MANAGER:
        return True
    if ticket.assignee_id == user.pk:
        return True
    queue = ticket.queue
    return queue.manager_id == user.pk or queue.members.filter(pk=user.pk).exists()


def can_comment_ticket(user, ticket) -> bool:
    """Internal notes: everyone who sees the ticket except read-only users (the sales rep
    adds what they know about their customer)."""
    return _active(user) and user.role != Role.READONLY


def can_manage_service_setup(user) -> bool:
    """Ticket types, queues, SLA policies and the business calendar."""
    return _active(user) and user.is_admin


def can_dispatch(user, ticket=None) -> bool:
    """Book and move technicians' visits."""
    if not _active(user) or user.role == Role.READONLY:
        return False
    if is_desk_staff(user) or user.role == Role.MANAGER:
        return True
    return ticket is not None and ticket.queue.manager_id == user.pk


def can_report_visit(user, visit) -> bool:
    """The technician files the visit report; dispatchers may file it for them."""
    return _active(user) and (visit.technician_id == user.pk or can_dispatch(user, visit.ticket))


def can_edit_asset(user, customer) -> bool:
    return _active(user) and user.role not in (Role.READONLY, Role.MARKETING)


def can_sync_erp(user) -> bool:
    """ERP upserts (API and file import): administrators and finance (the integration
    account's token belongs to one of them)."""
    return _active(user) and (user.is_admin or user.role == Role.FINANCE)


def can_send_nps(user) -> bool:
    return _active(user) and (user.is_admin or user.role in (Role.DIRECTOR, Role.MARKETING,
                                                              Role.SERVICE))


def can_see_service_figures(user) -> bool:
    """SLA figures per queue, satisfaction figures, complaint rates and cost to serve
    (rows are still limited to the customers the user sees)."""
    return _active(user) and user.role in (Role.ADMIN, Role.DIRECTOR, Role.MANAGER,
                                           Role.SERVICE, Role.FINANCE) or (
        _active(user) and user.is_superuser)
