"""The error type the inference engine raises for bad input (and its one refinement, a video too long)."""

from __future__ import annotations


class MediaError(Exception):
    """Input that cannot be analysed: unreadable, truncated, empty or not an image/video.

    ``str(error)`` is a one-line human message naming the file and the reason; ``cause`` names the
    library's exception (for logs, never in the message: users cannot act on a class name).
    """

    def __init__(self, message: str, path: str | None = None, *, cause: str = ""):
        super().__init__(message)
        self.path = path
        self.cause = cause


class TooLongError(MediaError):
    """A video whose frames span more than the caller's limit (``seconds``: at least this long; ``limit``)."""

    def __init__(self, message: str, path: str | None = None, *, seconds: float, limit: float):
        super().__init__(message, path)
        self.seconds = seconds
        self.limit = limit
