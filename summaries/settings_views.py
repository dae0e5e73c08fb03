"""The LLM settings page: the user's remote endpoint and the summaries status panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from summaries.availability import status_panel
from summaries.llm_settings import settings_row
from summaries.settings_forms import LLMSettingsForm


@login_required
@require_http_methods(["GET", "POST"])
def llm_settings(request):
    row = settings_row(request.user)
    initial = {"remote_url": row.remote_url, "remote_model": row.remote_model}  # never the key
    form = LLMSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and form.save(row, actor=request.user, request=request):
        messages.success(request, "LLM settings saved.")
        return redirect("llm_settings")
    response = render(
        request,
        "summaries/settings.html",
        {"form": form, "panel": status_panel(request.user), "api_key_set": row.has_api_key},
        status=429 if form.retry_after else 200,
    )
    if form.retry_after:
        response["Retry-After"] = str(form.retry_after)
    return response
