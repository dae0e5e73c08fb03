"""The LLM settings form: remote URL (checked by netguard), model, and a write-only API key."""

from __future__ import annotations

from django import forms

from summaries import netguard
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
        help_text="Write-only: leave empty to keep the stored key.",
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)

    def clean_remote_url(self) -> str:
        url = self.cleaned_data["remote_url"].strip()
        if not url:
            return ""
        try:
            return netguard.validate_llm_url(url)
        except netguard.UnsafeURLError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self):
        data = super().clean()
        if data.get("remote_url") and not data.get("remote_model"):
            self.add_error("remote_model", "Enter the model name the server should use.")
        if data.get("api_key") and data.get("clear_api_key"):
            self.add_error("api_key", "Either enter a new key or remove the stored one, not both.")
        return data

    def save(self, row: LLMSettings) -> LLMSettings:
        row.remote_url = self.cleaned_data["remote_url"]
        row.remote_model = self.cleaned_data["remote_model"].strip()
        if self.cleaned_data["clear_api_key"]:
            row.set_api_key("")
        elif self.cleaned_data["api_key"]:
            row.set_api_key(self.cleaned_data["api_key"])
        row.save()
        return row
