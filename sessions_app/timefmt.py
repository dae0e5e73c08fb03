"""Times in a session as people read them, in the one format the replay's seek links understand."""

from __future__ import annotations

import math


def clock(seconds: float | None) -> str:
    """``mm:ss.s``, or ``hh:mm:ss.s`` from one hour on (rounded down to the tenth, so a time is never
    shown later than it happened; None counts as 0)."""
    tenths = max(0, int(math.floor((seconds or 0.0) * 10 + 1e-6)))
    total, tenth = divmod(tenths, 10)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}.{tenth}" if h else f"{m:02d}:{s:02d}.{tenth}"
