"""Back-pressure for HTTP responses in Daphne: ``send`` waits while the client is not reading.

Daphne's ``send`` hands each body message to Twisted and returns at once, and Twisted keeps whatever the
socket cannot take yet in memory. An application that streams (``emotionsite.streaming``) therefore still
filled the web process at disk speed when a viewer read slowly: ten viewers of a 500 MB video grew it by
180 MB, and a stalled one would have pulled its whole file in. Twisted already knows when to stop: a
transport pauses its registered streaming producer when its write buffer is full and resumes it once
drained. :func:`reply` (Daphne's ``handle_reply`` in ``emotionsite.daphne_server``) registers such a producer
for each streamed response and makes ``send`` of a body message wait while it is paused, so each response
holds about one buffer (64 KB) plus one batch in Daphne. A client that leaves wakes the wait (and Django
cancels the response on ``http.disconnect``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class _Drain:
    """A Twisted streaming producer that only tells whether the transport wants more."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()

    # Twisted's IPushProducer names
    def pauseProducing(self) -> None:
        self.writable.clear()

    def resumeProducing(self) -> None:
        self.writable.set()

    def stopProducing(self) -> None:  # the connection is going: nothing left to wait for
        self.writable.set()


def _drain(request) -> _Drain | None:
    """The request's drain, registered with its channel on first use; None once the request is over."""
    if request.finished or request.channel is None:
        return None
    if request.producer is None:
        request.registerProducer(_Drain(), True)
    return request.producer if isinstance(request.producer, _Drain) else None


async def reply(
    send: Callable[[Any, dict[str, Any]], Awaitable[None]], connections: dict, protocol: Any, message: dict[str, Any]
) -> None:
    """Daphne's ``send(protocol, message)``, then, for a body with more to come, wait until the client has
    taken what Twisted holds (``connections``: the server's, to see that the client left)."""
    body = message.get("type") == "http.response.body"
    more = body and message.get("more_body", False)
    if body and not more and isinstance(getattr(protocol, "producer", None), _Drain):
        protocol.unregisterProducer()  # Twisted's finish() must not find our producer still registered
    drain = _drain(protocol) if more else None  # registered before the write, so a full buffer pauses it
    await send(protocol, message)
    if drain is not None and not connections.get(protocol, {}).get("disconnected"):
        await drain.writable.wait()
