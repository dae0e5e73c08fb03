from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from audit import services as audit


class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with every change, password change and deletion in the audit log (names of the
    changed fields only). Deleting a user pseudonymises their audit trail (audit.forget_user)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        fields = {"password" if name.startswith("password") else name for name in form.changed_data}
        audit.record_change(request.user, obj, fields, request=request, created=not change, owner_id=obj.pk)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        user = self.get_object(request, id) if request.method == "POST" and response.status_code == 302 else None
        if user is not None:
            audit.record_change(request.user, user, ["password"], request=request, owner_id=user.pk)
        return response

    def delete_model(self, request, obj):
        user_id = obj.pk
        actor = None if user_id == request.user.pk else request.user  # deleting oneself: no actor left to name
        with transaction.atomic():
            super().delete_model(request, obj)
            audit.record(actor, audit.Action.ACCOUNT_DELETED, object_type="user", object_id=user_id, detail="admin")

    def delete_queryset(self, request, queryset):
        for user in queryset:
            self.delete_model(request, user)


if admin.site.is_registered(get_user_model()):
    admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), AuditedUserAdmin)
