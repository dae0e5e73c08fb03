"""Demo websocket: only signed-in users may connect; messages come back through the channel layer."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

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
