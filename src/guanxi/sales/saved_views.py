"""Saved views of a list page: a named query string, private or shared with everyone.

Anyone sees their own views and every shared one; only the creator deletes a view.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.core.models import SavedView

PAGE = "opportunities"
# Parameters that are not filters (never saved).
NOT_SAVED = {"page", "view", "csrfmiddlewaretoken"}


def clean_query(query: str) -> str:
    """The query string without paging, empty values and unknown junk."""
    pairs = [(k, v) for k, v in parse_qsl(query.lstrip("?"), keep_blank_values=False)
             if k not in NOT_SAVED and v]
    return urlencode(pairs)[:1000]


def views_for(user, page: str = PAGE) -> QuerySet:
    """Views the user may pick: their own and the shared ones."""
    return (SavedView.objects.filter(page=page)
            .filter(Q(user_id=user.pk) | Q(shared=True))
            .select_related("user").order_by("name", "id"))


def save_view(*, user, name: str, query: str, shared: bool = False,
              page: str = PAGE) -> SavedView:
    """Create (or overwrite the user's own view of the same name)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    if not user.is_active or user.role == "readonly" and shared:
        raise PermissionDenied
    try:
        with transaction.atomic():
            view, _created = SavedView.objects.update_or_create(
                user=user, page=page, name=name[:100],
                defaults={"query": clean_query(query), "shared": shared})
    except IntegrityError as exc:  # pragma: no cover - a race on the unique name
        raise ValidationError({"name": [_("A view with this name exists.")]}) from exc
    return view


def delete_view(*, user, view: SavedView) -> None:
    if view.user_id != user.pk:
        raise PermissionDenied(_("Only the person who saved a view may delete it."))
    view.delete()
