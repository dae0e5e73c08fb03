from __future__ import annotations

from django.urls import path

from sessions_app.consumers import PingConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
]
