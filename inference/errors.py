"""The one error type the inference engine raises for bad input."""

from __future__ import annotations


class MediaError(Exception):
    """Input that cannot be analysed: unreadable, truncated, empty or not an image/video.

    ``str(error)`` is a one-line human message naming the file and the reason.
    """

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path
