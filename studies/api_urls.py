from __future__ import annotations

from django.urls import path

from studies import api

P = "projects/<int:project_id>/study/"

urlpatterns = [
    path(P, api.StudyView.as_view(), name="api_study"),
    path(P + "participants/", api.ParticipantsView.as_view(), name="api_study_participants"),
    path(P + "participants/<int:participant_id>/", api.ParticipantView.as_view(), name="api_study_participant"),
    path(P + "conditions/", api.ConditionsView.as_view(), name="api_study_conditions"),
    path(P + "conditions/<int:condition_id>/", api.ConditionView.as_view(), name="api_study_condition"),
    path(P + "assignments/", api.AssignmentsView.as_view(), name="api_study_assignments"),
    path(P + "assignments/<int:assignment_id>/", api.AssignmentView.as_view(), name="api_study_assignment"),
    path(P + "baseline/", api.BaselineView.as_view(), name="api_study_baseline"),
    path(P + "comparison/", api.ComparisonView.as_view(), name="api_study_comparison"),
    path(P + "lines/", api.LinesView.as_view(), name="api_study_lines"),
    path(P + "event-locked/", api.EventLockedView.as_view(), name="api_study_event_locked"),
    path(P + "export/observations.csv", api.ExportObservationsView.as_view(), name="api_study_export_observations"),
    path(P + "export/comparison.csv", api.ExportComparisonView.as_view(), name="api_study_export_comparison"),
    path(P + "export/sessions/<int:session_id>.eaf", api.ExportElanView.as_view(), name="api_study_export_elan"),
]
