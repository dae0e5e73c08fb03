"""Open websockets follow their log-in: each joins the groups of its user and of its log-in session,
and a close message to a group ends them (log-out, password change, deactivation, deletion)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

REVOKED = "auth.revoked"  # the consumers' handler: auth_revoked


def user_group(user_id: int) -> str:
    return f"auth.user.{user_id}"


def login_group(session_key: str) -> str:
    return f"auth.login.{session_key}"


def groups_for(user_id: int, session_key: str | None) -> list[str]:
    return [user_group(user_id)] + ([login_group(session_key)] if session_key else [])


def close_sockets(group: str) -> None:
    """Close every socket in ``group``; best effort (without Redis the sockets stay until they reconnect,
    and a reconnect checks the log-in again)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": REVOKED})
    except Exception:  # noqa: BLE001 - Redis away: the log-out itself must still succeed
        logger.warning("could not close the websockets of %s", group, exc_info=True)
