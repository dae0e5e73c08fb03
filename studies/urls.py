from __future__ import annotations

from django.urls import path

from studies import views

urlpatterns = [
    path("projects/<int:project_id>/study/", views.study, name="study"),
    path("projects/<int:project_id>/study/edit/", views.study_edit, name="study_edit"),
]
