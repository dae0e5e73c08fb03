"""``{% summary_panel session %}``: the summaries part of the replay page, without touching its view."""

from __future__ import annotations

from django import template

from projects import access
from projects.access import Action
from sessions_app.reliability import counts_all
from summaries.selectors import backend_options, summaries_of

register = template.Library()


@register.inclusion_tag("summaries/panel.html", takes_context=True)
def summary_panel(context, session):
    request = context["request"]
    return {
        "session": session,
        "summaries": list(summaries_of(session)),
        "backends": backend_options(request.user),
        "csrf_token": context.get("csrf_token"),
        "can_summarize": access.can(request.user, session, Action.SUMMARIZE),  # else no form, no Cancel
        "include_all": counts_all(request),  # what a new summary will count (sessions_app.reliability)
    }
