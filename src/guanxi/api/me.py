"""GET /api/v1/me: who the token or session belongs to (a quick way to test a token)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from .auth import actor

router = Router()


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    team: int | None
    team_name: str
    sees_all_customers: bool

    @staticmethod
    def resolve_display_name(obj) -> str:
        return str(obj)

    @staticmethod
    def resolve_team(obj) -> int | None:
        return obj.team_id

    @staticmethod
    def resolve_team_name(obj) -> str:
        return obj.team.name if obj.team_id else ""


@router.get("/me", response=MeOut, tags=["me"], summary="The authenticated user")
def me(request: HttpRequest):
    return actor(request)
