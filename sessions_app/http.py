"""Serving stored files through authorising views, with byte ranges so video can seek.

Every answer (200, 206, 416) carries the caller's content type (from the server's allow-list, never the
file's name), a ``Content-Disposition``, ``nosniff`` and ``Content-Security-Policy: sandbox``: a stored
file opened on its own is never a page of this origin that could run script.

With signed media URLs (``EMOTION_MEDIA_SIGNED_URLS``, S3 storage only) an image or video is answered with a
302 to a short-lived presigned URL of the bucket instead, carrying the same content type and disposition;
the bucket cannot send ``nosniff`` or a CSP, so anything else (``application/octet-stream``) keeps streaming
through here, sandboxed. The views authorise and audit before calling :func:`serve_stored_file`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from emotionsite import mediastore
from emotionsite.streaming import BATCH_BYTES, streaming_response

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = BATCH_BYTES


def _stream(name: str, start: int, length: int) -> Iterator[bytes]:
    """Only ``length`` bytes from ``start``, a chunk at a time (the range, never the file)."""
    yield from mediastore.read_range(name, start, length, CHUNK)


def redirects_to_store(content_type: str) -> bool:
    """Whether a file of this type is answered by a redirect to the bucket: images and videos only, which a
    browser shows as media and never runs as a page whatever their bytes (the bucket sends no sandbox)."""
    return mediastore.signed_urls() and content_type.startswith(("image/", "video/"))


def _media_headers(response: HttpResponse, disposition: str) -> HttpResponse:
    response["Content-Disposition"] = disposition
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


def disposition(kind: str, filename: str) -> str:
    """``attachment; filename="session-3.gif"`` (``kind`` "attachment" or "inline"); ``filename`` is the
    server's own ASCII name, never a user's."""
    return f'{kind}; filename="{filename}"'


def serve_stored_file(request: HttpRequest, name: str, content_type: str, content_disposition: str) -> HttpResponse:
    """The file ``name`` from default storage; honours a single ``Range: bytes=a-b`` header (206)."""
    if not name or not default_storage.exists(name):
        raise Http404("no such file")
    if redirects_to_store(content_type):
        response = HttpResponseRedirect(mediastore.signed_url(name, content_type, content_disposition))
        response["Cache-Control"] = "private, no-store"  # the URL expires; ask again next time
        response["Referrer-Policy"] = "no-referrer"
        return response
    size = default_storage.size(name)
    start, end, status = 0, size - 1, 200
    header = request.headers.get("Range", "")
    match = RANGE_RE.match(header.strip()) if header else None
    if match and (match.group(1) or match.group(2)):
        first, last = match.group(1), match.group(2)
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # suffix range: the last N bytes
            start = max(0, size - int(last))
        if start >= size or start > end:
            response = HttpResponse(status=416, content_type="text/plain; charset=utf-8")
            response["Content-Range"] = f"bytes */{size}"
            return _media_headers(response, content_disposition)
        status = 206
    length = end - start + 1
    response = streaming_response(_stream(name, start, length), status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Cache-Control"] = "private, max-age=0"
    return _media_headers(response, content_disposition)
