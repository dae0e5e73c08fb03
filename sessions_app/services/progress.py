"""Progress of a session: stored on the row, and pushed to the session's websocket group.

Workers and consumers agree on one payload shape, built here; the consumer forwards it as is.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)


class SessionState(TypedDict):
    type: str  # "session.state"
    session_id: int
    status: str
    progress: float
    error: str
    url: str


def group_name(session_id: int) -> str:
    return f"session.{session_id}"


def session_state(session: Any) -> SessionState:
    return {
        "type": "session.state",
        "session_id": session.pk,
        "status": session.status,
        "progress": round(float(session.progress), 4),
        "error": session.error,
        "url": session.get_absolute_url(),
    }


def _group_send(session_id: int, message_type: str, state: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(session_id), {"type": message_type, "state": state})
    except Exception:  # noqa: BLE001 - progress is best effort; the database keeps the truth
        logger.warning("could not send %s of session %s", message_type, session_id, exc_info=True)


def send_state(session: Any) -> None:
    """Tell the browsers watching ``session`` its current state; a broken layer never fails the caller."""
    _group_send(session.pk, "session.state", session_state(session))


def send_summary_state(session_id: int, state: dict[str, Any]) -> None:
    """Push a summary's state (``{"type": "summary.state", "summary": {...}}``, built by summaries.selectors)
    to the session's group; the progress consumer forwards it as is."""
    _group_send(session_id, "summary.state", state)
