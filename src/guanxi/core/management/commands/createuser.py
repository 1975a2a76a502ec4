"""`guanxi createuser`: add a user who can log in, with a role and a team."""

from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from guanxi.accounts.models import Role, Team, User
from guanxi.accounts.services import user_create

ROLE_HELP = ", ".join(f"{value} ({label})" for value, label in Role.choices)


def operator() -> User:
    """The person at the server's terminal: trusted like an administrator (they hold the
    database itself). Unsaved, so the audit log records the change without an actor."""
    return User(username="guanxi-cli", role=Role.ADMIN, is_active=True)


def find_team(value: str) -> Team:
    """A team by id or by exact name; an ambiguous name is refused."""
    if value.isdigit():
        team = Team.objects.filter(pk=int(value)).first()
        if team:
            return team
    matches = list(Team.objects.filter(name=value))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(Team.objects.values_list("name", flat=True)[:30]) or "none yet"
        raise CommandError(f"There is no team called {value!r}. Teams: {known}.")
    ids = ", ".join(str(t.pk) for t in matches)
    raise CommandError(f"Several teams are called {value!r}; give the team's id instead ({ids}).")


class Command(BaseCommand):
    help = "Add a user who can log in. Asks for what is missing when run in a terminal."

    def add_arguments(self, parser):
        parser.add_argument("--username", help="Login name.")
        parser.add_argument("--role", help=f"One of: {ROLE_HELP}.")
        parser.add_argument("--team", help="Team (region, office…) by name or id; optional.")
        parser.add_argument("--password", help="Password (asked for when left out).")
        parser.add_argument("--display-name", default="", help="Name shown in the application.")
        parser.add_argument("--email", default="", help="E-mail address.")

    def _ask(self, prompt: str) -> str:
        if not sys.stdin.isatty():
            raise CommandError(f"{prompt} is missing (give it as an option).")
        return input(f"{prompt}: ").strip()

    def handle(self, *args, **o):
        username = (o["username"] or self._ask("Username")).strip()
        if not username:
            raise CommandError("A username is required.")
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"A user called {username!r} already exists.")
        role = (o["role"] or self._ask(f"Role ({', '.join(Role.values)})")).strip().lower()
        if role not in Role.values:
            raise CommandError(f"Unknown role {role!r}. Choose one of: {ROLE_HELP}.")
        team = find_team(o["team"].strip()) if o["team"] else None
        password = o["password"]
        if password is None:
            if not sys.stdin.isatty():
                raise CommandError("Password is missing (give it with --password).")
            password = getpass.getpass("Password: ")
            if getpass.getpass("Password (again): ") != password:
                raise CommandError("The two passwords differ.")
        try:
            user = user_create(actor=operator(), username=username, password=password,
                               role=role, team=team, display_name=o["display_name"] or "",
                               email=o["email"] or "")
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}"
                                 for field, messages in exc.message_dict.items())
            raise CommandError(f"User not created. {problems}") from exc
        where = f" in {team}" if team else ""
        self.stdout.write(self.style.SUCCESS(
            f"User {user.username!r} created as {Role(role).label}{where}."))
