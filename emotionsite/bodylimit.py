"""Refuse request bodies over the limit before anything reads them (an ASGI middleware around Django).

Django's ASGI handler reads the whole body into a spooled file before a view runs, and only then do
``DATA_UPLOAD_MAX_MEMORY_SIZE`` and the upload checks look at it; a client could make it spool any
amount. Here a declared ``Content-Length`` over the limit is answered 413 at once, without reading a
byte, and a body without one (chunked) is counted as it arrives and cut off at the limit: the client
gets 413 and Django sees a disconnect, so no view runs.

The limit is ``EMOTION_UPLOAD_MAX_BYTES`` (plus room for the multipart framing) for multipart POSTs to
the REST upload endpoint, ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``EMOTION_REQUEST_MAX_MB``) for every other
request: :func:`limit_for` is the one rule, which ``emotionsite.daphne_server`` applies inside Daphne's own
request handling before the body is buffered. This middleware stays as defence in depth for other servers.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

UPLOAD_PATHS = frozenset({"/api/sessions/"})
MULTIPART_ROOM = 1024 * 1024  # boundaries, part headers and the title field around the file


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def limit_for(method: str, path: str, content_type: str) -> int:
    """The largest body accepted for a request (bytes): the rule of Daphne's request handling and of this middleware."""
    if method == "POST" and path in UPLOAD_PATHS and content_type.lower().startswith("multipart/form-data"):
        return settings.EMOTION_UPLOAD_MAX_BYTES + MULTIPART_ROOM
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def body_limit(scope: dict[str, Any]) -> int:
    return limit_for(scope.get("method", ""), scope.get("path", ""), _header(scope, b"content-type"))


def _size_text(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def refusal(path: str, limit: int) -> tuple[bytes, bytes]:
    """The 413 answer's body and content type: JSON with ``detail`` for the API, plain text elsewhere."""
    message = f"The request is too large: the limit is {_size_text(limit)}."
    if path.startswith("/api/"):
        return json.dumps({"detail": message}).encode(), b"application/json"
    return message.encode(), b"text/plain; charset=utf-8"


async def _refuse(scope: dict[str, Any], send: Any, limit: int) -> None:
    body, content_type = refusal(scope.get("path", ""), limit)
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        declared = _header(scope, b"content-length").strip()
        if declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, limit)
            return
        received = 0
        refused = False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _refuse(scope, send, limit)
                    return {"type": "http.disconnect"}  # Django gives up reading: no view runs
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not refused:  # the 413 went out already
                await send(message)

        await self.app(scope, counting_receive, guarded_send)
