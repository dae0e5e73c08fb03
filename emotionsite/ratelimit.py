"""Per-user (or per-address) limits on expensive work, one counter store for pages, API and websockets.

Rates come from ``settings.EMOTION_LIMITS`` (``"N/hour"``-style, see :func:`emotionsite.env.parse_rate`),
read at each call so tests and operators can change them. Counters are fixed windows in Redis
(``emotion:limit:<action>:<who>:<window>``, expiring with the window), so every Daphne process and
worker sees the same count. A refusal is :class:`RateLimited`, carrying the seconds until the window
ends; pages answer it 429 (:class:`RateLimitMiddleware`), the API 429 through DRF
(:func:`api_exception_handler`, :class:`ApiThrottle`), websockets an error message with ``retry_after``.

When Redis cannot be reached, work is allowed (and logged): a limiter must not take the site down with it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from rest_framework.throttling import BaseThrottle

from emotionsite import redisconn
from emotionsite.env import parse_rate

logger = logging.getLogger(__name__)

KEY_PREFIX = "emotion:limit:"
ACTIVE_RETRY_SECONDS = 60  # a hint when the cap is on work in progress, whose end nobody knows

# What the user asked for too often, in their words.
WHAT = {
    "summaries": "Too many summaries requested",
    "uploads": "Too many uploads",
    "upload_resumes": "Too many upload resumes",
    "reanalysis": "Too many re-analyses requested",
    "live": "Too many live recordings started",
    "signups": "Too many sign-ups from this address",
    "llm_settings": "Too many changes of the LLM settings",
    "api": "Too many API requests",
    "api_anon": "Too many API requests from this address",
    "healthz": "Too many health checks",
}


class RateLimited(Exception):
    """Over a limit; ``str()`` is the message for the user, ``retry_after`` whole seconds to wait."""

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"{message}. Try again in {_wait_text(self.retry_after)}.")

    @property
    def message(self) -> str:
        return str(self)


def _wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{math.ceil(seconds / 60)} min"
    return f"{math.ceil(seconds / 3600)} h"


def _redis():
    return redisconn.client(2)


def rate_of(action: str) -> tuple[int, int] | None:
    return parse_rate(settings.EMOTION_LIMITS.get(action, "off"))


def wait_for(action: str, who: Any) -> int:
    """Count one more ``action`` by ``who``; the seconds to wait when that is over the rate, else 0."""
    rate = rate_of(action)
    if rate is None:
        return 0
    allowed, period = rate
    now = time.time()
    window = int(now // period)
    key = f"{KEY_PREFIX}{action}:{who}:{window}"
    try:
        pipe = _redis().pipeline()
        pipe.incr(key)
        pipe.expire(key, period + 1)
        count = pipe.execute()[0]
    except Exception:  # noqa: BLE001 - Redis away: allow rather than fail every request
        logger.warning("rate limit %s not checked: Redis unavailable", action, exc_info=True)
        return 0
    if count <= allowed:
        return 0
    return max(1, math.ceil((window + 1) * period - now))


def hit(action: str, who: Any) -> None:
    """Count one ``action`` by ``who`` (a user id, or an address); RateLimited when over the rate."""
    wait = wait_for(action, who)
    if wait:
        raise RateLimited(WHAT.get(action, "Too many requests"), wait)


def check_active(count: int, allowed: int, what: str) -> None:
    """A cap on work in progress (``count`` running now, ``allowed`` at most; 0 = no cap)."""
    if allowed > 0 and count >= allowed:
        raise RateLimited(f"{what} (at most {allowed} at a time)", ACTIVE_RETRY_SECONDS)


def reset() -> int:
    """Forget every counter (tests); returns how many keys went."""
    r = _redis()
    keys = list(r.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
    return r.delete(*keys) if keys else 0


def client_address(request: Any) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


# --------------------------------------------------------------------------- answers
def limited_response(exc: RateLimited) -> HttpResponse:
    response = HttpResponse(exc.message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(exc.retry_after)
    return response


def ws_error(exc: RateLimited) -> dict[str, Any]:
    """The websocket message for a refusal."""
    return {"type": "error", "message": exc.message, "retry_after": exc.retry_after}


class RateLimitMiddleware:
    """Pages: a RateLimited raised by a view (or the services it calls) becomes a plain 429."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        return limited_response(exc) if isinstance(exc, RateLimited) else None


def api_exception_handler(exc, context):
    """DRF's handler, with RateLimited from the services answered like DRF's own throttling."""
    from rest_framework.exceptions import ErrorDetail, Throttled
    from rest_framework.views import exception_handler

    if isinstance(exc, RateLimited):
        message, exc = exc.message, Throttled(wait=exc.retry_after)
        exc.detail = ErrorDetail(message, code=exc.default_code)  # the message already says when
    return exception_handler(exc, context)


class ApiThrottle(BaseThrottle):
    """Every API request: ``api`` per user, ``api_anon`` per address for views open to anonymous visitors."""

    def allow_request(self, request, view) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self._wait = wait_for("api", user.pk)
        else:
            self._wait = wait_for("api_anon", self.get_ident(request))
        return not self._wait

    def wait(self) -> float | None:
        return self._wait or None

    def get_ident(self, request) -> str:
        return client_address(request)  # never X-Forwarded-For here: the proxy middleware decides REMOTE_ADDR
