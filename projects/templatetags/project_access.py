"""``{% allowed obj as can %}``: what the signed-in user may do on ``obj``, asked of projects.access, so a
page renders only the controls the user's role allows (``{% if can.delete %}``). The server checks each
action again (404/403); this is the page's side."""

from __future__ import annotations

from django import template

from projects import access

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed(context, obj) -> dict[str, bool]:
    actions = access.allowed_actions(context["request"].user, obj)
    return {action.value: action in actions for action in access.Action}
