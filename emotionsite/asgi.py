"""ASGI entry point: HTTP and websockets in one Daphne server."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emotionsite.settings")

# Build the Django app first: it sets up the app registry that consumers' imports rely on.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from emotionsite.bodylimit import BodyLimitMiddleware  # noqa: E402
from emotionsite.proxy import TrustedProxyMiddleware  # noqa: E402
from emotionsite.routing import websocket_urlpatterns  # noqa: E402

# TrustedProxyMiddleware outermost: everything inside sees the client and scheme it settled on.
application = ProtocolTypeRouter(
    {
        "http": TrustedProxyMiddleware(BodyLimitMiddleware(django_asgi_app)),
        "websocket": TrustedProxyMiddleware(
            AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
