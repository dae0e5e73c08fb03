"""Print a new REST API token of a user: ``manage.py api_token <username> [--name N] [--reset]``.

Only the token's digest is stored, so an existing token cannot be printed again: each run makes a new one
(``--reset`` first revokes the user's other tokens). Users make and revoke their own at /settings/tokens/."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api_tokens import services


class Command(BaseCommand):
    help = "Create and print a new REST API token of a user (--reset revokes the user's other tokens first)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="manage.py api_token", help="what the token is for")
        parser.add_argument("--reset", action="store_true", help="revoke the user's existing tokens first")

    def handle(self, *args, username: str, name: str, reset: bool, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if reset:
            services.revoke_all(user, reason="manage.py api_token --reset")
        try:
            _, key = services.create_token(user, name)
        except services.TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
