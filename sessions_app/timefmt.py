"""Times in a session as people read them, in the one format the replay's seek links understand."""

from __future__ import annotations

import math


def clock(seconds: float | None) -> str:
    """``mm:ss``, or ``h:mm:ss`` from one hour on (whole seconds, rounded down; None counts as 0)."""
    total = max(0, int(math.floor((seconds or 0.0) + 1e-6)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
