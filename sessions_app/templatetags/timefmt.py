"""``{{ seconds|clock }}``: a time in a session as ``mm:ss.s`` (sessions_app.timefmt), for the pages."""

from __future__ import annotations

from django import template

from sessions_app.timefmt import clock as _clock

register = template.Library()


@register.filter
def clock(seconds) -> str:
    try:
        return _clock(float(seconds))
    except (TypeError, ValueError):
        return ""
