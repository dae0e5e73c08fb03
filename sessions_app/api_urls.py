from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from sessions_app import api

urlpatterns = [
    path("sessions/", api.SessionListView.as_view(), name="api_sessions"),
    path("sessions/<int:session_id>/", api.SessionDetailView.as_view(), name="api_session"),
    path("sessions/<int:session_id>/people/", api.SessionPeopleView.as_view(), name="api_session_people"),
    path("sessions/<int:session_id>/timeline/", api.SessionTimelineView.as_view(), name="api_session_timeline"),
    path("sessions/<int:session_id>/markers/", api.SessionMarkersView.as_view(), name="api_session_markers"),
    path(
        "sessions/<int:session_id>/markers/<int:marker_id>/",
        api.SessionMarkerView.as_view(),
        name="api_session_marker",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # the split view serves its start-up script as a file (docs/?script), which the CSP allows, unlike inline code
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api_schema", template_name="api/swagger_ui.html"),
        name="api_docs",
    ),
]
