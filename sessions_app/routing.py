from __future__ import annotations

from django.urls import path

from sessions_app.consumers import LiveConsumer, PingConsumer, SessionProgressConsumer, UploadConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/upload/", UploadConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
    path("ws/sessions/<int:session_id>/", SessionProgressConsumer.as_asgi()),
]
