from __future__ import annotations

from django.urls import path

from summaries import views

urlpatterns = [
    path("sessions/<int:session_id>/summaries/", views.summary_create, name="summary_create"),
    path("sessions/<int:session_id>/summaries/<int:summary_id>/cancel/", views.summary_cancel, name="summary_cancel"),
]
