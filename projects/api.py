"""REST API of projects: a project's members (any member reads them; owners add one by username)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import access, services
from projects.access import Action
from projects.models import Membership, Project


class MemberSerializer(serializers.Serializer):
    user = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class ProjectMembersView(APIView):
    def _project(self, request, project_id: int, action: Action) -> Project:
        project = get_object_or_404(Project, pk=project_id)
        access.require(request.user, project, action)
        return project

    @extend_schema(responses=MemberSerializer(many=True), summary="The project's members and their roles")
    def get(self, request, project_id: int):
        project = self._project(request, project_id, Action.VIEW)
        rows = project.memberships.select_related("user").order_by("user__username")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MemberInputSerializer,
        responses={201: MemberSerializer, 400: OpenApiTypes.OBJECT},
        summary="Add a member by username, or change a member's role (owners only)",
    )
    def post(self, request, project_id: int):
        project = self._project(request, project_id, Action.MEMBERS)
        form = MemberInputSerializer(data=request.data)
        if not form.is_valid():
            return Response({"detail": "Send a username and a role (owner, analyst or viewer).", **form.errors}, 400)
        try:
            m = services.add_member(
                request.user, project, form.validated_data["username"], form.validated_data["role"], request=request
            )
        except services.ProjectError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MemberSerializer(m).data, status=status.HTTP_201_CREATED)
