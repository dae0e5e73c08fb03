from __future__ import annotations

from django.urls import path

from summaries import api

urlpatterns = [
    path("sessions/<int:session_id>/summaries/", api.SessionSummariesView.as_view(), name="api_session_summaries"),
    path(
        "sessions/<int:session_id>/summaries/<int:summary_id>/",
        api.SessionSummaryView.as_view(),
        name="api_session_summary",
    ),
    path(
        "sessions/<int:session_id>/summaries/<int:summary_id>/cancel/",
        api.SessionSummaryCancelView.as_view(),
        name="api_session_summary_cancel",
    ),
]
