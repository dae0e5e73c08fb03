from __future__ import annotations

from django.apps import AppConfig


class PeopleConfig(AppConfig):
    """People seen in sessions, identity at the end of an analysis, suggestions, flags, merges, privacy."""

    name = "people"
    verbose_name = "People"

    def ready(self) -> None:
        # the identity step that runs when a session's analysis finishes, and the retention task
        from people import receivers, tasks  # noqa: F401
