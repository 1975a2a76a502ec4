"""REST routes (filled in by the issue 5 work)."""

from ninja import Router

router = Router()
