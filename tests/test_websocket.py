"""The demo websocket through the real ASGI app (origin check, auth, Redis channel layer)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

from emotionsite.asgi import application

ORIGIN = (b"origin", b"http://localhost")


async def _connect(headers):
    communicator = WebsocketCommunicator(application, "/ws/ping/", headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


@pytest.mark.django_db(transaction=True)
def test_anonymous_is_refused():
    async def run():
        communicator, connected, code = await _connect([ORIGIN])
        assert not connected and code == 4401
        await communicator.disconnect()

    async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_foreign_origin_is_refused(client, user):
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def run():
        communicator, connected, _ = await _connect([(b"origin", b"http://evil.example"), (b"cookie", cookie.encode())])
        assert not connected
        await communicator.disconnect()

    async_to_sync(run)()


@pytest.mark.django_db(transaction=True)
def test_signed_in_user_is_accepted_and_echoed(client, user):
    assert "RedisChannelLayer" in settings.CHANNEL_LAYERS["default"]["BACKEND"]
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def run():
        communicator, connected, _ = await _connect([ORIGIN, (b"cookie", cookie.encode())])
        assert connected
        await communicator.send_json_to({"hello": "world"})
        reply = await communicator.receive_json_from(timeout=5)
        assert reply == {"type": "pong", "user": user.username, "payload": {"hello": "world"}}
        await communicator.disconnect()

    async_to_sync(run)()
