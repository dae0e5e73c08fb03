from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-up, log-in guard and slow-down, websocket authentication (no models: Django's user)."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        # the receivers that count failed log-ins and close a user's websockets when they log out
        from accounts import login_guard, signals  # noqa: F401
