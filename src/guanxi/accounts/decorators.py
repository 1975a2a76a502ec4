"""View guards shared by the administration screens."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404


def admin_required(view):
    """Log in first; anyone but an active administrator gets a 404 (the page does not
    exist for them), never a hint that it is there."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_admin):
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(wrapped)
