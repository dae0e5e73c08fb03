"""REST API of projects: a project's members (any member reads them; owners add one by username) and its
invitation links (owners list the pending ones, make one, whose link is answered once, and withdraw one)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import access, invitations, services
from projects.access import Action
from projects.models import Invitation, Membership, Project


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


class InvitationSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = Invitation
        fields = ["id", "role", "created_by", "created", "expires"]


class NewInvitationSerializer(InvitationSerializer):
    link = serializers.SerializerMethodField(help_text="The invitation link: answered this once, never stored")

    class Meta(InvitationSerializer.Meta):
        fields = [*InvitationSerializer.Meta.fields, "link"]

    def get_link(self, obj) -> str:
        return self.context["link"]


class InvitationInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class _ProjectView(APIView):
    def _project(self, request, project_id: int, action: Action) -> Project:
        project = get_object_or_404(Project, pk=project_id)
        access.require(request.user, project, action)
        return project


class ProjectInvitationsView(_ProjectView):
    @extend_schema(responses=InvitationSerializer(many=True), summary="The project's pending invitations (owners)")
    def get(self, request, project_id: int):
        project = self._project(request, project_id, Action.MEMBERS)
        return Response(InvitationSerializer(invitations.pending(project), many=True).data)

    @extend_schema(
        request=InvitationInputSerializer,
        responses={201: NewInvitationSerializer, 400: OpenApiTypes.OBJECT},
        summary="Make an invitation link with a role (owners); the link is in this answer only",
    )
    def post(self, request, project_id: int):
        project = self._project(request, project_id, Action.MEMBERS)
        form = InvitationInputSerializer(data=request.data)
        if not form.is_valid():
            return Response({"detail": "Send a role: owner, analyst or viewer.", **form.errors}, 400)
        try:
            invitation, token = invitations.create_invitation(
                request.user, project, form.validated_data["role"], request=request
            )
        except services.ProjectError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        link = request.build_absolute_uri(invitations.link_path(token))
        response = Response(NewInvitationSerializer(invitation, context={"link": link}).data, status=201)
        response["Cache-Control"] = "no-store"
        return response


class ProjectInvitationView(_ProjectView):
    @extend_schema(responses={204: None, 400: OpenApiTypes.OBJECT}, summary="Withdraw a pending invitation (owners)")
    def delete(self, request, project_id: int, invitation_id: int):
        project = self._project(request, project_id, Action.MEMBERS)
        try:
            invitations.withdraw_invitation(request.user, project, invitation_id, request=request)
        except invitations.InvitationError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        except services.ProjectError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(status=status.HTTP_204_NO_CONTENT)
