"""Staff see projects and their members and may change roles; every change is audited. Owners manage their
own projects on the project pages (projects.views), through the same rules."""

from __future__ import annotations

from django.contrib import admin
from django.db import transaction

from audit import services as audit
from audit.admin_base import AuditedDelete, StaffOnly
from projects.models import Membership, Project


class MembershipInline(StaffOnly, admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    fields = ["user", "role", "created"]
    readonly_fields = ["created"]


@admin.register(Project)
class ProjectAdmin(AuditedDelete, StaffOnly, admin.ModelAdmin):
    list_display = ["name", "personal", "created"]
    list_filter = ["personal"]
    search_fields = ["name", "memberships__user__username"]
    fields = ["name", "personal", "created"]
    readonly_fields = ["personal", "created"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record_change(request.user, obj, form.changed_data, request=request, created=not change)

    def save_formset(self, request, form, formset, change):
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects + [o for o, _ in formset.changed_objects]:
                audit.record_change(request.user, obj, ["role"], request=request, owner_id=obj.user_id)
            for obj in formset.deleted_objects:
                audit.record(request.user, audit.Action.DELETED, obj, request=request, owner_id=obj.user_id)
