"""Admin for summaries, users' LLM settings (the API key is never shown) and the staff allow-list of LLM hosts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from audit.admin_base import AuditedDelete, AuditedRead, StaffOnly
from audit.services import Read
from emotionsite import ratelimit
from sessions_app.admin import SegmentInline, SessionAdmin, TrackInline
from sessions_app.models import Session
from summaries.base import SummaryError
from summaries.llm_settings import (
    KEY_DROPPED,
    LLMSettingsError,
    check_llm_settings,
    delete_allowed_host,
    delete_llm_settings,
    save_allowed_host,
    save_llm_settings,
)
from summaries.models import AllowedLLMHost, LLMSettings, Summary
from summaries.services import request_summary


@admin.register(Summary)
class SummaryAdmin(AuditedRead, AuditedDelete, StaffOnly, admin.ModelAdmin):
    read_kinds = (Read.SUMMARIES,)  # the text and the prompt
    list_display = ["id", "session", "owner", "backend", "model_name", "status", "requested_by", "created", "finished"]
    list_display_links = ["id", "session"]
    list_filter = ["backend", "status", "created"]
    search_fields = ["session__title", "session__owner__username", "model_name", "text"]
    list_select_related = ["session", "session__owner", "requested_by"]
    date_hierarchy = "created"
    readonly_fields = [
        "session", "requested_by", "backend", "model_name", "status", "progress", "text", "error", "prompt",
        "task_id", "cancel_requested", "created", "started", "finished",
    ]  # fmt: skip

    def has_add_permission(self, request, *args) -> bool:
        return False  # summaries are requested from a session (page or the admin's session action)

    @admin.display(description="owner", ordering="session__owner__username")
    def owner(self, obj):
        return obj.session.owner


class LLMSettingsAdminForm(forms.ModelForm):
    """URL and model, and a write-only key; checked by the same service as the user's settings page."""

    remote_url = forms.URLField(label="Remote URL", max_length=500, required=False, assume_scheme="https")
    api_key = forms.CharField(
        label="New API key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Write-only. A changed URL drops the stored key unless a new one is entered here.",
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)

    class Meta:
        model = LLMSettings
        fields = ["remote_url", "remote_model"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            check_llm_settings(
                data.get("remote_url", ""), data.get("remote_model", ""), data.get("api_key", ""),
                data.get("clear_api_key", False),
            )  # fmt: skip
        except LLMSettingsError as exc:
            self.add_error(exc.field, str(exc))
        return data


@admin.register(LLMSettings)
class LLMSettingsAdmin(StaffOnly, admin.ModelAdmin):
    """Writes go through summaries.llm_settings: the key stays bound to its URL, every change is audited.
    ``user`` is read-only and rows are made by users on their settings page (no add here)."""

    form = LLMSettingsAdminForm
    list_display = ["user", "remote_url", "remote_model", "has_api_key", "updated"]
    search_fields = ["user__username", "remote_url", "remote_model"]
    list_select_related = ["user"]
    fields = ["user", "remote_url", "remote_model", "api_key", "clear_api_key", "has_api_key", "updated"]
    readonly_fields = ["user", "has_api_key", "updated"]  # never the encrypted key

    def has_add_permission(self, request, *args) -> bool:
        return False

    @admin.display(description="API key stored", boolean=True)
    def has_api_key(self, obj):
        return obj.has_api_key

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        notes = save_llm_settings(
            obj,
            remote_url=data["remote_url"],
            remote_model=data["remote_model"],
            api_key=data["api_key"],
            clear_api_key=data["clear_api_key"],
            actor=request.user,
            request=request,
            via="admin",
        )
        if KEY_DROPPED in notes:
            message = "The stored API key was removed: it was entered for the old URL."
            self.message_user(request, message, messages.WARNING)

    def delete_model(self, request, obj):
        delete_llm_settings(obj, actor=request.user, request=request, via="admin")

    def delete_queryset(self, request, queryset):
        for row in queryset:
            delete_llm_settings(row, actor=request.user, request=request, via="admin")


@admin.register(AllowedLLMHost)
class AllowedLLMHostAdmin(StaffOnly, admin.ModelAdmin):
    list_display = ["host", "note", "created_by", "created"]
    search_fields = ["host", "note"]
    fields = ["host", "note", "created_by", "created"]
    readonly_fields = ["created_by", "created"]

    def save_model(self, request, obj, form, change):
        save_allowed_host(obj, form.changed_data, actor=request.user, request=request)

    def delete_model(self, request, obj):
        delete_allowed_host(obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for host in queryset:
            delete_allowed_host(host, actor=request.user, request=request)


# --------------------------------------------------------------------------- sessions, with their summaries
class SummaryInline(StaffOnly, admin.TabularInline):
    model = Summary
    extra = 0
    fields = ["backend", "status", "model_name", "requested_by", "created", "finished", "excerpt"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="text")
    def excerpt(self, obj):
        return (obj.text or obj.error)[:200]


class SummarizeForm(forms.Form):
    backend = forms.ChoiceField(choices=Summary.Backend.choices, label="Backend")


class SessionWithSummariesAdmin(SessionAdmin):
    """sessions_app's session admin with this room's parts: the summaries inline and the Summarize action
    (registered in its place, as Django's user admin is replaced; sessions_app never imports summaries)."""

    read_kinds = (*SessionAdmin.read_kinds, Read.SUMMARIES)  # the summaries' text inline
    inlines = [TrackInline, SummaryInline, SegmentInline]
    actions = ["reanalyse_selected", "summarize_selected", "delete_media_selected"]

    @admin.action(description="Summarize selected sessions…")
    def summarize_selected(self, request, queryset):
        form = SummarizeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._summarize(request, queryset, form.cleaned_data["backend"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Summarize sessions",
            "form": form,
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/summaries/summarize_sessions.html", context)

    def _summarize(self, request, queryset, backend: str) -> None:
        started = 0
        for session in queryset:
            try:
                request_summary(session, backend, request.user, request=request)  # audited there
            except SummaryError as exc:
                self.message_user(request, f"“{session.title}”: {exc}", messages.ERROR)
                continue
            except ratelimit.RateLimited as exc:
                self.message_user(request, f"“{session.title}” and the rest: {exc.message}", messages.ERROR)
                break
            started += 1
        if started:
            self.message_user(request, f"Summary requested for {started} session(s) with the {backend} backend.")


admin.site.unregister(Session)
admin.site.register(Session, SessionWithSummariesAdmin)
