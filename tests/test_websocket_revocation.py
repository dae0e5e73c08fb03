"""Open websockets lose their user with the log-in (issue 13, finding 9): log-out, password change,
deactivation and account deletion close them, through the real ASGI app and the Redis layer."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import reverse

from emotionsite.asgi import application
from sessions_app.models import Session

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")
CLOSE_UNAUTHENTICATED = 4401


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cookie_of(client: Client) -> tuple[bytes, bytes]:
    return (b"cookie", f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode())


async def open_socket(path: str, client: Client) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN, cookie_of(client)])
    connected, _ = await communicator.connect(timeout=5)
    assert connected, path
    return communicator


async def assert_closed(communicator: WebsocketCommunicator) -> None:
    message = await communicator.receive_output(timeout=5)
    while message["type"] == "websocket.send":  # state messages sent before the close
        message = await communicator.receive_output(timeout=5)
    assert message == {"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED}


async def assert_open(communicator: WebsocketCommunicator) -> None:
    await communicator.send_json_to({"hello": 1})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"


def test_log_out_closes_that_browser_s_sockets_only(user, password):
    session = Session.objects.create(owner=user, title="Mine")
    leaving, staying = signed_in(user), signed_in(user)

    async def run():
        ping = await open_socket("/ws/ping/", leaving)
        progress = await open_socket(f"/ws/sessions/{session.pk}/", leaving)
        upload = await open_socket("/ws/upload/", leaving)
        other_browser = await open_socket("/ws/ping/", staying)
        response = await sync_to_async(leaving.post)(reverse("logout"))
        assert response.status_code == 302
        for communicator in (ping, progress, upload):
            await assert_closed(communicator)
        await assert_open(other_browser)
        await other_browser.disconnect()
        # the old cookie no longer opens a socket
        again = WebsocketCommunicator(application, "/ws/ping/", headers=[ORIGIN, cookie_of(leaving)])
        connected, code = await again.connect(timeout=5)
        assert not connected and code == CLOSE_UNAUTHENTICATED

    async_to_sync(run)()


def test_password_change_closes_every_socket_of_the_user(user, password):
    changing, elsewhere = signed_in(user), signed_in(user)

    async def run():
        mine = await open_socket("/ws/ping/", changing)
        live = await open_socket("/ws/live/", elsewhere)
        response = await sync_to_async(changing.post)(
            reverse("password_change"),
            {"old_password": password, "new_password1": "An0ther-secret!", "new_password2": "An0ther-secret!"},
        )
        assert response.status_code == 302
        await assert_closed(mine)
        await assert_closed(live)
        # the other browser's session no longer matches the password: refused on connect
        again = WebsocketCommunicator(application, "/ws/ping/", headers=[ORIGIN, cookie_of(elsewhere)])
        connected, code = await again.connect(timeout=5)
        assert not connected and code == CLOSE_UNAUTHENTICATED
        # the browser that changed it keeps its log-in (Django updates its session hash)
        fresh = await open_socket("/ws/ping/", changing)
        await assert_open(fresh)
        await fresh.disconnect()

    async_to_sync(run)()


def test_deactivation_and_deletion_close_sockets(user, password):
    client = signed_in(user)

    async def run():
        first = await open_socket("/ws/ping/", client)
        user.is_active = False
        await sync_to_async(user.save)()
        await assert_closed(first)
        user.is_active = True
        await sync_to_async(user.save)()
        second = await open_socket("/ws/ping/", client)
        await assert_open(second)  # a save that changes nothing relevant leaves sockets alone
        user.first_name = "Renamed"
        await sync_to_async(user.save)()
        await assert_open(second)
        await sync_to_async(user.delete)()
        await assert_closed(second)

    async_to_sync(run)()


def test_removing_staff_closes_sockets_on_other_users_sessions(user, django_user_model):
    staff = django_user_model.objects.create_user(username="former-staff", password="x-Long-pass-9", is_staff=True)
    theirs = Session.objects.create(owner=user, title="Not theirs")
    own = Session.objects.create(owner=staff, title="Own")
    client = signed_in(staff)
    not_found = 4404

    async def run():
        watching = await open_socket(f"/ws/sessions/{theirs.pk}/", client)
        staff.is_staff = False
        await sync_to_async(staff.save)()
        await assert_closed(watching)
        # The log-in stays: their own session's socket opens again, another user's is refused.
        mine = await open_socket(f"/ws/sessions/{own.pk}/", client)
        assert (await mine.receive_json_from(timeout=5))["session_id"] == own.pk
        await mine.disconnect()
        again = WebsocketCommunicator(application, f"/ws/sessions/{theirs.pk}/", headers=[ORIGIN, cookie_of(client)])
        connected, code = await again.connect(timeout=5)
        assert not connected and code == not_found

    async_to_sync(run)()
