"""The recycle bin: soft-deleted customers, contacts and interactions; administrators restore.

Everyone else gets a 404, as for any page they may not see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from guanxi.activities import services as activity_services
from guanxi.activities.models import Interaction

from . import permissions as perms
from . import services
from .models import Contact, Customer

BIN_PAGE = 50
# kind → (label, model, restore service, related rows to load)
KINDS = {
    "customer": (gettext_lazy("Customers"), Customer, services.customer_restore,
                 ("deleted_by", "owner")),
    "contact": (gettext_lazy("Contacts"), Contact, services.contact_restore,
                ("deleted_by", "customer")),
    "interaction": (gettext_lazy("Interactions"), Interaction,
                    activity_services.interaction_restore, ("deleted_by", "customer")),
}


def _require_admin(request: HttpRequest) -> None:
    if not perms.can_restore(request.user):
        raise Http404


@login_required
def recycle_bin(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    kind = request.GET.get("kind") if request.GET.get("kind") in KINDS else "customer"
    label, model, _service, related = KINDS[kind]
    qs = (model.all_objects.filter(deleted_at__isnull=False).select_related(*related)
          .order_by("-deleted_at", "-id"))
    page = Paginator(qs, BIN_PAGE).get_page(request.GET.get("page"))
    tabs = [{"kind": k, "label": v[0], "active": k == kind} for k, v in KINDS.items()]
    return render(request, "parties/recycle_bin.html",
                  {"kind": kind, "label": label, "page": page, "tabs": tabs})


@login_required
@require_POST
def restore(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_admin(request)
    if kind not in KINDS:
        raise Http404
    _label, model, restore_service, _related = KINDS[kind]
    obj = get_object_or_404(model.all_objects.filter(deleted_at__isnull=False), pk=pk)
    restore_service(actor=request.user, **{kind: obj})
    messages.success(request, _("“%(name)s” restored.") % {"name": obj})
    return redirect(f"{reverse('parties:recycle_bin')}?kind={kind}")
