"""What every room's admin is built from: staff-only access, system-written rows, audited deletes and reads."""

from __future__ import annotations

from django.db import transaction

from audit import services as audit


class StaffOnly:
    """Every active staff member may view and manage these records (no per-model permission rows)."""

    def _staff(self, request) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request) -> bool:
        return self._staff(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._staff(request)

    def has_add_permission(self, request, *args) -> bool:
        return self._staff(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._staff(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._staff(request)


class ReadOnly(StaffOnly):
    """Rows written only by the system (observations, segments, the audit log): viewable, not editable."""

    def has_add_permission(self, request, *args) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedDelete:
    """Deleting in the admin writes one entry per row, for models whose deletion has no service."""

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(request.user, audit.Action.DELETED, obj, request=request, detail="admin")
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class AuditedRead:
    """A change page shows its owner's data to a staff member: audited as ``read_kinds`` of
    :meth:`read_object` (once per hour, never for their own rows; see audit.record_read)."""

    read_kinds: tuple[str, ...] = ()

    def read_object(self, obj):
        return obj

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id) if request.method == "GET" else None  # None for bad ids
        if obj is not None:
            for what in self.read_kinds:
                audit.record_read(request.user, self.read_object(obj), what=what, request=request)
        return super().change_view(request, object_id, form_url, extra_context)
