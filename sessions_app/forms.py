"""The workspace's query string (the sessions list): every value checked, a bad one ignored with a note."""

from __future__ import annotations

from typing import Any

from django import forms

from sessions_app.models import Session

SORTS = {  # ?sort= -> its label; the order itself is in selectors.workspace_sessions
    "newest": "newest first",
    "oldest": "oldest first",
    "title": "title (A-Z)",
    "duration": "longest first",
}
SEARCH_MAX = 100


class WorkspaceFilters(forms.Form):
    project = forms.IntegerField(required=False, min_value=1)
    q = forms.CharField(required=False, max_length=SEARCH_MAX)
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *Session.Status.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "any kind"), *Session.Source.choices])
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
    person = forms.IntegerField(required=False, min_value=1)
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()))

    LABELS = {
        "project": "project",
        "q": "search",
        "status": "status",
        "kind": "kind",
        "since": "from date",
        "until": "to date",
        "person": "person",
        "sort": "sort",
    }


def parse_filters(params: Any) -> tuple[dict[str, Any], list[str]]:
    """The valid values of ``params`` (a QueryDict), and one note per value ignored (a date that is not
    one, a status that does not exist, a search longer than SEARCH_MAX characters...)."""
    form = WorkspaceFilters(params)
    form.is_valid()
    values = {name: form.cleaned_data.get(name) for name in form.fields}
    notes = [
        f"Ignored the {WorkspaceFilters.LABELS[name]} {_shown(params.get(name))}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    ]
    values["q"] = (values["q"] or "").strip()
    values["sort"] = values["sort"] or "newest"
    if values["since"] and values["until"] and values["since"] > values["until"]:
        notes.append("Ignored the date range: its start is after its end.")
        values["since"] = values["until"] = None
    return values, notes


def _shown(value: Any) -> str:
    text = str(value or "")
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"
