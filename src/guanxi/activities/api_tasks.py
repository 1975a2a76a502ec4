"""REST API routes (mounted under /api/v1/)."""

from ninja import Router

router = Router()
