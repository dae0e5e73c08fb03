from __future__ import annotations

from django.urls import path

from people import api

urlpatterns = [
    path("people/suggestions/", api.SuggestionListView.as_view(), name="api_suggestions"),
    path(
        "people/suggestions/<int:suggestion_id>/confirm/",
        api.SuggestionConfirmView.as_view(),
        name="api_suggestion_confirm",
    ),
    path(
        "people/suggestions/<int:suggestion_id>/reject/",
        api.SuggestionRejectView.as_view(),
        name="api_suggestion_reject",
    ),
]
