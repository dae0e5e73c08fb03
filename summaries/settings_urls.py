from __future__ import annotations

from django.urls import path

from summaries import settings_views

urlpatterns = [
    path("", settings_views.llm_settings, name="llm_settings"),
]
