from __future__ import annotations

import socket

from celery import shared_task

from sessions_app import services


@shared_task(name="sessions_app.record_heartbeat", acks_late=True)
def record_heartbeat(note: str = "") -> int:
    """Write one heartbeat row; returns its primary key."""
    return services.record_heartbeat(note, worker=socket.gethostname()).pk
