"""Responses streamed with bounded memory under ASGI.

Django reads a response over a *synchronous* iterator into a list before sending its first byte (a plain
``FileResponse``, a generator in ``StreamingHttpResponse``): a 2 GB video, or an hour's export, was held whole
in the web process, even after the viewer had gone. :func:`streaming_response` hands Django an asynchronous
iterator instead, which pulls the synchronous source one batch at a time (about ``BATCH_BYTES``) through
``sync_to_async``. Thread-sensitive on purpose: under Django's ASGI handler each request has a thread of its
own, so a database cursor the source holds stays on its connection and a file is read and closed where it
was opened. When the client goes, Django cancels the response: the source is closed (its ``finally`` and
``with`` blocks run) and nothing more is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

BATCH_BYTES = 256 * 1024


def _take(source: Iterator[bytes | str], limit: int) -> bytes | str:
    """The next items of ``source``, joined, up to about ``limit`` bytes; empty when it is spent."""
    parts: list[bytes | str] = []
    size = 0
    for part in source:
        parts.append(part)
        size += len(part)
        if size >= limit:
            break
    if not parts:
        return b""
    return parts[0][:0].join(parts)


def _close(source: Iterator[bytes | str]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()


async def aiterate(source: Iterator[bytes | str], batch_bytes: int = BATCH_BYTES) -> AsyncIterator[bytes | str]:
    """``source``'s items in batches of about ``batch_bytes``, each pulled in the request's thread."""
    try:
        while batch := await sync_to_async(_take)(source, batch_bytes):
            yield batch
    finally:  # finished, failed, or cancelled because the client went: close it where it ran
        await sync_to_async(_close)(source)


def streaming_response(source: Iterator[bytes | str], **kwargs) -> StreamingHttpResponse:
    """A ``StreamingHttpResponse`` over ``source`` (a generator of bytes or text) that Django sends as it is
    read; ``kwargs`` as for ``StreamingHttpResponse`` (``status``, ``content_type``)."""
    return StreamingHttpResponse(aiterate(source), **kwargs)
