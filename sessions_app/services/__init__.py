"""Write workflows of the sessions app (the foundation has only the heartbeat)."""

from __future__ import annotations

from sessions_app.models import Heartbeat


def record_heartbeat(note: str, worker: str = "") -> Heartbeat:
    return Heartbeat.objects.create(note=note[:200], worker=worker[:200])
