from __future__ import annotations

from django.urls import path

from audit import views

urlpatterns = [
    path("privacy/audit/", views.audit_log, name="audit_log"),
]
