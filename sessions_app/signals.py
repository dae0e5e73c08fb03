"""Signals sessions_app sends so that the rooms above it act without sessions_app importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Every segment of a session's run is analysed: sent by ``services.analysis.finalize_session`` inside its
# transaction (session row locked) before the session is marked done, with ``session`` and ``run_id``
# (None for rows stored before runs existed). people.receivers links the tracks to people here.
tracks_ready = Signal()
