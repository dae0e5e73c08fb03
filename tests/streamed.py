"""Reading a response's whole body in tests, whether it streams (media, exports) or not."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.http import HttpResponseBase


def read_body(response: HttpResponseBase) -> bytes:
    """The body as the test client got it: streamed responses iterate asynchronously (so that Daphne sends
    them as they are read), which the sync client's ``streaming_content`` cannot be joined from."""
    if not response.streaming:
        return response.content
    if not response.is_async:
        return b"".join(response.streaming_content)

    async def collect() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return async_to_sync(collect)()
