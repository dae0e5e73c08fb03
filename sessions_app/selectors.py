"""Read queries of the sessions app."""

from __future__ import annotations

from typing import Any


def sessions_for(user: Any) -> list[Any]:
    """The user's recording sessions, newest first (empty until the Sessions issue adds the model)."""
    return []
