"""The frame rate a live recording's page captures at: lowered when the server falls behind, raised back when calm.

Per connection (:class:`RateGovernor`, kept by the consumer): a frame skipped because too many are in
flight means the workers do not keep up with this recording; the rate goes down to what they delivered
over the last few seconds (never below ``MIN_FPS``). After ``CALM_SECONDS`` without a skip it goes up one
frame per second at a time, back to the rate asked for. Only the sampled frames change: the recording
itself keeps its full rate, and the slots not analysed live are analysed from it at Stop.
"""

from __future__ import annotations

import math
from collections import deque

MIN_FPS = 1.0
WINDOW_SECONDS = 3.0  # results counted over this long to measure what the server sustains
HOLD_SECONDS = 2.0  # at most one lowering per this long (the page needs a moment to follow)
CALM_SECONDS = 10.0  # no skip for this long: try one frame per second more


class RateGovernor:
    def __init__(self, requested: float, now: float) -> None:
        self.requested = float(requested)
        self.rate = float(requested)
        self.started = now
        self.changed = now
        self.last_skip: float | None = None
        self._results: deque[float] = deque()

    @property
    def reduced(self) -> bool:
        return self.rate < self.requested

    def message(self) -> dict:
        return {"type": "live.rate", "fps": self.rate, "requested": self.requested, "reduced": self.reduced}

    def sustained(self, now: float) -> float:
        """Results per second over the last ``WINDOW_SECONDS`` (or since the start, if shorter)."""
        while self._results and self._results[0] < now - WINDOW_SECONDS:
            self._results.popleft()
        span = min(WINDOW_SECONDS, max(now - self.started, 0.5))
        return len(self._results) / span

    def on_result(self, now: float) -> bool:
        """A frame's result arrived; True when the rate went up (tell the page)."""
        self._results.append(now)
        calm_since = max(self.changed, self.last_skip or self.started)
        if self.reduced and now - calm_since >= CALM_SECONDS:
            self.rate = min(self.requested, self.rate + 1.0)
            self.changed = now
            return True
        return False

    def on_skip(self, now: float) -> bool:
        """A frame was skipped (too many in flight); True when the rate went down (tell the page)."""
        self.last_skip = now
        if now - self.changed < HOLD_SECONDS and self.reduced:
            return False
        delivered = math.floor(self.sustained(now) * 2) / 2  # half frames per second
        rate = max(MIN_FPS, min(self.rate - 0.5, delivered))
        if rate >= self.rate:
            return False
        self.rate = rate
        self.changed = now
        return True
