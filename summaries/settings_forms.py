"""The LLM settings form: remote URL, model, and a write-only API key; the checks are the service's."""

from __future__ import annotations

from typing import Any

from django import forms

from emotionsite.ratelimit import RateLimited
from summaries.llm_settings import LLMSettingsError, save_llm_settings
from summaries.models import LLMSettings


class LLMSettingsForm(forms.Form):
    remote_url = forms.CharField(
        label="Remote LLM URL",
        max_length=500,
        required=False,
        help_text="Base URL of an OpenAI-compatible API, e.g. https://api.openai.com/v1 or http://llm.lan:8000/v1. "
        "/v1/chat/completions is added to a bare host, /chat/completions to a URL with a path.",
    )
    remote_model = forms.CharField(label="Model", max_length=200, required=False, help_text="e.g. gpt-4o-mini")
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only: leave empty to keep the stored key. The key is used only with the URL it was "
        "entered with: changing the URL removes it unless you enter it again. Keys go over https only, "
        "or over http to a host staff allowed.",
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)
    retry_after: int | None = None

    def save(self, row: LLMSettings, *, actor: Any, request: Any = None) -> bool:
        """Store through the service; False (with the error on its field) when refused.

        Over the rate, the form keeps what was typed and ``retry_after`` says when to try again."""
        data = self.cleaned_data
        try:
            save_llm_settings(
                row,
                remote_url=data["remote_url"],
                remote_model=data["remote_model"],
                api_key=data["api_key"],
                clear_api_key=data["clear_api_key"],
                actor=actor,
                request=request,
            )
        except LLMSettingsError as exc:
            self.add_error(exc.field, str(exc))
            return False
        except RateLimited as exc:
            self.retry_after = exc.retry_after
            self.add_error(None, exc.message)
            return False
        return True
