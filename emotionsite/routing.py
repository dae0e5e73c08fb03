"""Every websocket route of the site (the project wires the rooms' consumers, as urls.py does for pages)."""

from __future__ import annotations

from django.urls import path

from live.consumers import LiveConsumer
from sessions_app.consumers import PingConsumer, SessionProgressConsumer, UploadConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/upload/", UploadConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/sessions/<int:session_id>/", SessionProgressConsumer.as_asgi()),
]
