from __future__ import annotations

from django.urls import path

from projects import views

urlpatterns = [
    path("", views.project_list, name="projects"),
    path("<int:project_id>/", views.project_detail, name="project_detail"),
    path("<int:project_id>/members/", views.member_add, name="project_member_add"),
    path("<int:project_id>/members/<int:user_id>/remove/", views.member_remove, name="project_member_remove"),
    path("<int:project_id>/retention/", views.project_retention, name="project_retention"),
    path("<int:project_id>/delete/", views.project_delete, name="project_delete"),
    path("<int:project_id>/log/", views.project_log, name="project_log"),
    path("<int:project_id>/log.csv", views.project_log_csv, name="project_log_csv"),
    path("<int:project_id>/invitations/", views.invitation_create, name="project_invitation_create"),
    path(
        "<int:project_id>/invitations/<int:invitation_id>/withdraw/",
        views.invitation_withdraw,
        name="project_invitation_withdraw",
    ),
]
