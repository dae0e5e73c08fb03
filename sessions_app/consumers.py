"""Websockets of sessions: uploads, analysis progress and the ping check (signed-in users only)."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer
from django.conf import settings
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from accounts import socket_auth
from emotionsite import ratelimit
from emotionsite.threadpools import file_work, io_work
from sessions_app.selectors import owned_session
from sessions_app.services import uploads
from sessions_app.services.ingest import IngestError
from sessions_app.services.progress import group_name
from sessions_app.services.progress import session_state as state_payload

if TYPE_CHECKING:
    pass

CLOSE_UNAUTHENTICATED = 4401
BROKER_ERRORS = (RedisError, KombuOperationalError, ConnectionError, OSError)
logger = logging.getLogger(__name__)


class SignedInSocket:
    """A socket for signed-in users only, closed (4401) when its log-in ends: it joins the groups of its
    user and of its log-in session (sessions_app/signals.py sends the close on log-out, password change,
    deactivation, removal of ``is_staff`` or deletion). The log-in itself is checked on connect by
    Channels' AuthMiddleware, password hash and ``is_active`` included."""

    auth_groups: list[str] | None = None

    async def admit(self) -> bool:
        """Call first in ``connect``: False (socket closed) for an anonymous visitor."""
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        session = self.scope.get("session")
        self.auth_groups = socket_auth.groups_for(user.pk, getattr(session, "session_key", None))
        try:
            for group in self.auth_groups:
                await self.channel_layer.group_add(group, self.channel_name)
        except BROKER_ERRORS:  # Redis is away: the log-in was checked just now; only the push is lost
            logger.warning("could not join the log-in groups of user %s", user.pk)
        return True

    async def leave_auth_groups(self) -> None:
        for group in self.auth_groups or ():
            with contextlib.suppress(*BROKER_ERRORS):  # the membership expires with the group
                await self.channel_layer.group_discard(group, self.channel_name)

    async def auth_revoked(self, event: dict[str, Any]) -> None:
        await self.close(code=CLOSE_UNAUTHENTICATED)


CLOSE_TOO_LARGE = 1009  # RFC 6455: message too big


async def refuse_oversized(consumer: Any, text_data: str | None, bytes_data: bytes | None) -> bool:
    """Over EMOTION_WS_MAX_MESSAGE_BYTES: say so and close (True). Daphne refuses such messages itself
    (run.sh passes the same limit); this holds under any other server too."""
    limit = settings.EMOTION_WS_MAX_MESSAGE_BYTES
    size = len(bytes_data) if bytes_data is not None else len((text_data or "").encode("utf-8", "replace"))
    if size <= limit:
        return False
    message = f"This message is too large: the limit is {limit // 1024} KB per message."
    await consumer.send(text_data=json.dumps({"type": "error", "message": message}))
    await consumer.close(code=CLOSE_TOO_LARGE)
    return True


class JsonOnlyConsumer(AsyncJsonWebsocketConsumer):
    """A JSON socket that answers binary frames and text that is not JSON with an error message;
    Channels' own ``receive`` raises on them, which drops the connection with a server error."""

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if await refuse_oversized(self, text_data, bytes_data):
            return
        if text_data is None:
            await self.send_json({"type": "error", "message": "This socket takes JSON text messages only."})
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_json({"type": "error", "message": "Messages must be JSON."})
            return
        await self.receive_json(content, **kwargs)


class PingConsumer(SignedInSocket, JsonOnlyConsumer):
    async def connect(self) -> None:
        if not await self.admit():
            return
        user = self.scope["user"]
        self.group = f"ping.user.{user.pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.leave_auth_groups()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Round-trip through the Redis layer, as worker progress messages will. The layer packs messages
        # with msgpack, which refuses integers outside 64 bits that JSON allows: answer, don't crash.
        try:
            await self.channel_layer.group_send(self.group, {"type": "ping.echo", "payload": content})
        except (OverflowError, TypeError, ValueError):
            await self.send_json({"type": "error", "message": "This message holds a number too large to echo."})

    async def ping_echo(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "user": self.scope["user"].username, "payload": event["payload"]})


CLOSE_NOT_FOUND = 4404
CLOSE_SUPERSEDED = 4409  # another connection took the upload over: the page stops instead of reconnecting


class UploadConsumer(SignedInSocket, AsyncWebsocketConsumer):
    """Chunked, resumable upload: JSON control messages plus binary chunks (see docs/architecture.md)."""

    group: str | None = None  # the connections of the upload this one writes

    async def connect(self) -> None:
        if not await self.admit():
            return
        self.upload: uploads.StagedUpload | None = None
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.leave_auth_groups()
        await self._leave_group()

    async def _error(self, message: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "message": message}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if await refuse_oversized(self, text_data, bytes_data):
            return
        try:
            if bytes_data is not None:
                await self._chunk(bytes_data)
            else:
                await self._control(text_data or "")
        except uploads.Superseded as exc:
            await self._step_aside(str(exc))
        except uploads.UploadError as exc:
            await self._error(str(exc))
        except ratelimit.RateLimited as exc:
            await self.send(text_data=json.dumps(ratelimit.ws_error(exc)))

    async def _control(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            raise uploads.UploadError("Messages must be JSON objects or binary chunks.") from None
        if not isinstance(message, dict) or message.get("type") != "start":
            raise uploads.UploadError("Expected a start message first.")
        user = self.scope["user"]
        project_id = None
        if not message.get("upload_id"):  # a resume keeps the project it started with
            project_id = await database_sync_to_async(uploads.project_of_new_upload)(user, message.get("project"))
        self.upload = await io_work(
            uploads.start_upload,
            user.pk,
            message.get("name"),
            message.get("size"),
            message.get("title"),
            message.get("upload_id"),
            project_id,
        )
        await self._join_group(self.upload)
        await self.send(
            text_data=json.dumps({"type": "ready", "upload_id": self.upload.upload_id, "offset": self.upload.offset})
        )
        if self.upload.complete:
            await self._finish()

    async def _join_group(self, upload: uploads.StagedUpload) -> None:
        """Join the upload's group; on a resume, an older connection still open is told to close (its
        chunks are refused anyway: the group only closes an idle one sooner)."""
        await self._leave_group()
        self.group = uploads.group_name(upload.user_id, upload.upload_id)
        try:
            await self.channel_layer.group_add(self.group, self.channel_name)
            if upload.generation:
                event = {"type": "upload.superseded", "upload_id": upload.upload_id, "generation": upload.generation}
                await self.channel_layer.group_send(self.group, event)
        except BROKER_ERRORS:
            logger.warning("upload %s: could not tell older connections to close", upload.upload_id)

    async def _leave_group(self) -> None:
        group, self.group = self.group, None
        if group:
            with contextlib.suppress(*BROKER_ERRORS):  # the membership expires with the group
                await self.channel_layer.group_discard(group, self.channel_name)

    async def upload_superseded(self, event: dict[str, Any]) -> None:
        upload = self.upload
        if upload and event["upload_id"] == upload.upload_id and event["generation"] > upload.generation:
            await self._step_aside(uploads.SUPERSEDED)

    async def _step_aside(self, message: str) -> None:
        self.upload = None
        await self._leave_group()
        await self._error(message)
        await self.close(code=CLOSE_SUPERSEDED)

    async def _chunk(self, data: bytes) -> None:
        if self.upload is None:
            raise uploads.UploadError("Send a start message before any data.")
        offset = await io_work(self.upload.append, data)
        await self.send(text_data=json.dumps({"type": "ack", "offset": offset}))
        if self.upload.complete:
            await self._finish()

    async def _finish(self) -> None:
        upload, self.upload = self.upload, None
        try:
            session = await file_work(upload.ingest, self.scope["user"])  # probe and copy: seconds
        except uploads.UploadError:
            raise  # taken over or gone meanwhile: receive() answers it
        except IngestError as exc:
            await self._error(str(exc))
            return
        except Exception:  # noqa: BLE001 - storage or database trouble: tell the user, keep the socket
            logger.exception("could not store upload %s", upload.upload_id)
            await self._error("The file arrived but could not be stored; please try again.")
            return
        await self.send(
            text_data=json.dumps({"type": "accepted", "session_id": session.pk, "url": session.get_absolute_url()})
        )


class SessionProgressConsumer(SignedInSocket, JsonOnlyConsumer):
    """The state of one of the user's sessions: the stored state on connect, then the workers' messages.

    The session's group is shared with its live recording (``LiveConsumer``): every message type sent
    there needs a handler here, since Channels closes a socket on a message it cannot dispatch.
    """

    async def connect(self) -> None:
        if not await self.admit():
            return
        user = self.scope["user"]
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        session = await database_sync_to_async(owned_session)(user, session_id)
        if session is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = group_name(session.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(state_payload(session))

    async def disconnect(self, code: int) -> None:
        await self.leave_auth_groups()
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        pass  # read-only socket

    async def session_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event["state"])

    async def summary_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event["state"])  # a summary of this session: queued, running, done…

    async def live_result(self, event: dict[str, Any]) -> None:
        pass  # a live frame's faces: the recording page has its own socket; this page shows no charts

    async def live_superseded(self, event: dict[str, Any]) -> None:
        pass  # a live recording's resume hand-over between its own sockets
