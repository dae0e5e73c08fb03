"""Staff see projects and their members and may change roles; every change is audited. Owners manage their
own projects on the project pages (projects.views), through the same rules."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db import transaction

from audit import services as audit
from audit.admin_base import AuditedDelete, ReadOnly, StaffOnly
from projects import services
from projects.models import Invitation, Membership, Project

RETENTION = ("retention_days", "retention_keep_results")


class MembershipInline(StaffOnly, admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "created"]
    readonly_fields = ["created"]


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", *RETENTION, "storage_quota_mb", "storage_quota_note"]

    def clean_retention_days(self):
        days = self.cleaned_data["retention_days"]
        try:
            services.check_retention_days(days)
        except services.ProjectError as exc:
            raise forms.ValidationError(str(exc)) from None
        return days


@admin.register(Project)
class ProjectAdmin(AuditedDelete, StaffOnly, admin.ModelAdmin):
    """Staff set a project's storage quota here (in place of EMOTION_STORAGE_QUOTA_MB) and may change its
    retention (through projects.services, as the owners' project page does); every change is audited."""

    form = ProjectForm
    list_display = ["name", "personal", "retention_days", "storage_quota_mb", "created"]
    list_filter = ["personal"]
    search_fields = ["name", "memberships__user__username"]
    fields = ["name", "personal", "created", *RETENTION, "storage_quota_mb", "storage_quota_note"]
    readonly_fields = ["personal", "created"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        retention = [f for f in form.changed_data if f in RETENTION]
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            others = [f for f in form.changed_data if f not in RETENTION]
            if others or not change:
                owner_id = services.first_owner_id(obj)
                audit.record_change(request.user, obj, others, request=request, created=not change, owner_id=owner_id)
            if retention and change:  # audited as the owners' change is ("settings")
                services.set_retention(
                    request.user, obj, obj.retention_days, obj.retention_keep_results, request=request, via="admin"
                )

    def save_formset(self, request, form, formset, change):
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects + [o for o, _ in formset.changed_objects]:
                audit.record_change(request.user, obj, ["role"], request=request, owner_id=obj.user_id)
            for obj in formset.deleted_objects:
                audit.record(request.user, audit.Action.DELETED, obj, request=request, owner_id=obj.user_id)


@admin.register(Invitation)
class InvitationAdmin(ReadOnly, admin.ModelAdmin):
    """Invitation links, for staff to see who invited whom and when; the token's hash is never shown (owners
    make and withdraw links on the project page)."""

    list_display = ["id", "project", "role", "created_by", "created", "expires", "used_at", "used_by", "withdrawn_at"]
    list_select_related = ["project", "created_by", "used_by"]
    list_filter = ["role"]
    search_fields = ["project__name", "created_by__username", "used_by__username"]
    fields = ["project", "role", "created_by", "created", "expires", "used_at", "used_by", "withdrawn_at"]
