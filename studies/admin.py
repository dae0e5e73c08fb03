"""Staff see each project's study set-up (codes, links, conditions, baselines); owners and analysts change
it on the Study page, through studies.services (audited), so the admin only reads it."""

from __future__ import annotations

from django.contrib import admin

from audit.admin_base import ReadOnly
from studies.models import Condition, Participant, ParticipantLink, SessionCondition, StudySettings


@admin.register(Participant)
class ParticipantAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "project", "code", "note", "created"]
    list_select_related = ["project"]
    search_fields = ["code", "project__name"]


@admin.register(ParticipantLink)
class ParticipantLinkAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "participant", "person"]
    list_select_related = ["participant", "person"]
    search_fields = ["participant__code", "participant__project__name"]


@admin.register(Condition)
class ConditionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "project", "label"]
    list_select_related = ["project"]
    search_fields = ["label", "project__name"]


@admin.register(SessionCondition)
class SessionConditionAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "session", "condition", "start", "end"]
    list_select_related = ["session", "condition"]
    search_fields = ["condition__label", "session__title"]


@admin.register(StudySettings)
class StudySettingsAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "project", "mode", "op", "first_seconds", "start_label", "end_label", "condition"]
    list_select_related = ["project", "condition"]
