"""Demo websocket: only signed-in users may connect; messages come back through the channel layer."""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from sessions_app.selectors import owned_session
from sessions_app.services import uploads
from sessions_app.services.ingest import IngestError
from sessions_app.services.progress import group_name
from sessions_app.services.progress import session_state as state_payload

CLOSE_UNAUTHENTICATED = 4401


class PingConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.group = f"ping.user.{user.pk}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Round-trip through the Redis layer, as worker progress messages will.
        await self.channel_layer.group_send(self.group, {"type": "ping.echo", "payload": content})

    async def ping_echo(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "pong", "user": self.scope["user"].username, "payload": event["payload"]})


CLOSE_NOT_FOUND = 4404
logger = logging.getLogger(__name__)


class UploadConsumer(AsyncWebsocketConsumer):
    """Chunked, resumable upload: JSON control messages plus binary chunks (see docs/architecture.md)."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.upload: uploads.StagedUpload | None = None
        await self.accept()

    async def _error(self, message: str) -> None:
        await self.send(text_data=json.dumps({"type": "error", "message": message}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            if bytes_data is not None:
                await self._chunk(bytes_data)
            else:
                await self._control(text_data or "")
        except uploads.UploadError as exc:
            await self._error(str(exc))

    async def _control(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            raise uploads.UploadError("Messages must be JSON objects or binary chunks.") from None
        if not isinstance(message, dict) or message.get("type") != "start":
            raise uploads.UploadError("Expected a start message first.")
        user = self.scope["user"]
        self.upload = await sync_to_async(uploads.start_upload)(
            user.pk, message.get("name"), message.get("size"), message.get("title"), message.get("upload_id")
        )
        await self.send(
            text_data=json.dumps({"type": "ready", "upload_id": self.upload.upload_id, "offset": self.upload.offset})
        )
        if self.upload.complete:
            await self._finish()

    async def _chunk(self, data: bytes) -> None:
        if self.upload is None:
            raise uploads.UploadError("Send a start message before any data.")
        offset = await sync_to_async(self.upload.append)(data)
        await self.send(text_data=json.dumps({"type": "ack", "offset": offset}))
        if self.upload.complete:
            await self._finish()

    async def _finish(self) -> None:
        upload, self.upload = self.upload, None
        try:
            session = await database_sync_to_async(upload.ingest)(self.scope["user"])
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


class SessionProgressConsumer(AsyncJsonWebsocketConsumer):
    """The state of one of the user's sessions: the stored state on connect, then the workers' messages."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
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
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        pass  # read-only socket

    async def session_state(self, event: dict[str, Any]) -> None:
        await self.send_json(event["state"])
