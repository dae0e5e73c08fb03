from __future__ import annotations

from django.urls import path

from projects import api

urlpatterns = [
    path("projects/", api.ProjectListView.as_view(), name="api_projects"),
    path("projects/<int:project_id>/", api.ProjectDetailView.as_view(), name="api_project"),
    path("projects/<int:project_id>/members/", api.ProjectMembersView.as_view(), name="api_project_members"),
    path(
        "projects/<int:project_id>/invitations/",
        api.ProjectInvitationsView.as_view(),
        name="api_project_invitations",
    ),
    path(
        "projects/<int:project_id>/invitations/<int:invitation_id>/",
        api.ProjectInvitationView.as_view(),
        name="api_project_invitation",
    ),
    path(
        "projects/<int:project_id>/members/<int:user_id>/",
        api.ProjectMemberView.as_view(),
        name="api_project_member",
    ),
]
