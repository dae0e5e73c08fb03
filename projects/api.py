"""REST API of projects: the user's projects and their roles, a project's name, its members and their roles,
and its invitation links (owners list the pending ones, make one, whose link is answered once, and withdraw one).

Bodies are JSON (another content type: 415), so a malformed form body is never read as an empty change.

Thin views: access is ``projects.access`` (404 for a non-member, 403 for a role lacking the action), every
rule (names, the last owner, personal projects, deleting only an empty project) is ``projects.services``.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from emotionsite.apijson import ROLE_KEY, SIGNED_IN
from projects import access, invitations, services
from projects.access import Action, least_role
from projects.models import Invitation, Membership, Project


class ProjectSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    personal = serializers.BooleanField(help_text="Your personal project: yours alone, it goes with your account")
    role = serializers.ChoiceField(
        choices=Membership.Role.choices, allow_null=True, help_text="Your role here (null: staff, not a member)"
    )
    members = serializers.IntegerField(help_text="How many members it has")
    created = serializers.DateTimeField()


class ProjectInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=services.NAME_MAX)


class MemberSerializer(serializers.Serializer):
    user_id = serializers.IntegerField(source="user.pk", help_text="Address the member by this id")
    user = serializers.CharField(source="user.username")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MemberInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)


def _project(request, project_id: int, action: Action) -> Project:
    project = get_object_or_404(Project, pk=project_id)
    access.require(request.user, project, action)
    return project


def _project_data(project: Project, role: str | None) -> dict:
    members = project.memberships.count()
    return ProjectSerializer(
        {"id": project.pk, "name": project.name, "personal": project.personal, "role": role, "members": members,
         "created": project.created}
    ).data  # fmt: skip


def _refused(exc: services.ProjectError, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": str(exc)}, status=code)


def _invalid(form: serializers.Serializer, detail: str) -> Response:
    return Response({"detail": detail, **form.errors}, status=status.HTTP_400_BAD_REQUEST)


class ProjectListView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses=ProjectSerializer(many=True),
        summary="Your projects, with your role in each (your personal project first)",
        extensions={ROLE_KEY: SIGNED_IN},
    )
    def get(self, request):
        rows = Membership.objects.filter(user=request.user).select_related("project")
        rows = sorted(rows, key=lambda m: (not m.project.personal, m.project.name.lower(), m.project.pk))
        return Response([_project_data(m.project, m.role) for m in rows])

    @extend_schema(
        request=ProjectInputSerializer,
        responses={201: ProjectSerializer, 400: OpenApiResponse(description="No name")},
        summary="Make a shared project; you are its owner",
        extensions={ROLE_KEY: SIGNED_IN},
    )
    def post(self, request):
        form = ProjectInputSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form, f"Send the project's name (at most {services.NAME_MAX} characters).")
        try:
            project = services.create_project(request.user, form.validated_data["name"], request=request)
        except services.ProjectError as exc:
            return _refused(exc)
        return Response(_project_data(project, Membership.Role.OWNER), status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses=ProjectSerializer, summary="One of your projects", extensions={ROLE_KEY: least_role(Action.VIEW)}
    )
    def get(self, request, project_id: int):
        project = _project(request, project_id, Action.VIEW)
        return Response(_project_data(project, access.role_of(request.user, project)))

    @extend_schema(
        request=ProjectInputSerializer,
        responses={200: ProjectSerializer, 400: OpenApiResponse(description="No name")},
        summary="Rename the project",
        extensions={ROLE_KEY: least_role(Action.SETTINGS)},
    )
    def patch(self, request, project_id: int):
        project = _project(request, project_id, Action.SETTINGS)
        form = ProjectInputSerializer(data=request.data, partial=True)  # no name: nothing changes
        if not form.is_valid():
            return _invalid(form, f"Send the project's new name (at most {services.NAME_MAX} characters).")
        try:
            if "name" in form.validated_data:
                project = services.rename_project(request.user, project, form.validated_data["name"], request=request)
        except services.ProjectError as exc:
            return _refused(exc)
        return Response(_project_data(project, access.role_of(request.user, project)))

    @extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(description="A personal project, or one still holding sessions or people"),
        },
        summary="Delete the project: only a shared one that holds no sessions and no people",
        extensions={ROLE_KEY: least_role(Action.SETTINGS)},
    )
    def delete(self, request, project_id: int):
        project = _project(request, project_id, Action.SETTINGS)
        try:
            services.delete_project(request.user, project, request=request)
        except services.ProjectError as exc:
            return _refused(exc, status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProjectMembersView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses=MemberSerializer(many=True),
        summary="The project's members and their roles",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, project_id: int):
        project = _project(request, project_id, Action.VIEW)
        rows = project.memberships.select_related("user").order_by("user__username")
        return Response(MemberSerializer(rows, many=True).data)

    @extend_schema(
        request=MemberInputSerializer,
        responses={
            201: MemberSerializer,
            400: OpenApiResponse(description="No such user, a personal project, or the last owner demoted"),
        },
        summary="Add a member by username, or change a member's role",
        extensions={ROLE_KEY: least_role(Action.MEMBERS)},
    )
    def post(self, request, project_id: int):
        project = _project(request, project_id, Action.MEMBERS)
        form = MemberInputSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form, "Send a username and a role (owner, analyst or viewer).")
        try:
            m = services.add_member(
                request.user, project, form.validated_data["username"], form.validated_data["role"], request=request
            )
        except services.ProjectError as exc:
            return _refused(exc)
        return Response(MemberSerializer(m).data, status=status.HTTP_201_CREATED)


class ProjectMemberView(APIView):
    parser_classes = [JSONParser]

    def _membership(self, project: Project, user_id: int) -> Membership:
        return get_object_or_404(project.memberships.select_related("user"), user_id=user_id)

    @extend_schema(
        request=RoleInputSerializer,
        responses={200: MemberSerializer, 409: OpenApiResponse(description="The last owner, or a personal project")},
        summary="Change a member's role",
        extensions={ROLE_KEY: least_role(Action.MEMBERS)},
    )
    def patch(self, request, project_id: int, user_id: int):
        project = _project(request, project_id, Action.MEMBERS)
        membership = self._membership(project, user_id)
        form = RoleInputSerializer(data=request.data, partial=True)  # no role: nothing changes
        if not form.is_valid():
            return _invalid(form, "Send the role: owner, analyst or viewer.")
        if "role" not in form.validated_data:
            return Response(MemberSerializer(membership).data)
        try:
            m = services.add_member(
                request.user, project, membership.user.get_username(), form.validated_data["role"], request=request
            )
        except services.ProjectError as exc:
            return _refused(exc, status.HTTP_409_CONFLICT)
        return Response(MemberSerializer(m).data)

    @extend_schema(
        responses={204: None, 409: OpenApiResponse(description="The last owner, or a personal project")},
        summary="Remove a member, or leave the project (your own user id)",
        description="Removing another member is the owners'; any member may leave. The last owner cannot leave "
        "nor be removed. What the member recorded stays in the project.",
        extensions={ROLE_KEY: f"{least_role(Action.MEMBERS)} (any member, to leave)"},
    )
    def delete(self, request, project_id: int, user_id: int):
        leaving = request.user.pk == user_id
        project = _project(request, project_id, Action.VIEW if leaving else Action.MEMBERS)
        self._membership(project, user_id)
        try:
            services.remove_member(request.user, project, user_id, request=request)
        except services.ProjectError as exc:
            return _refused(exc, status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


class ProjectInvitationsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses=InvitationSerializer(many=True),
        summary="The project's pending invitation links",
        extensions={ROLE_KEY: least_role(Action.MEMBERS)},
    )
    def get(self, request, project_id: int):
        project = _project(request, project_id, Action.MEMBERS)
        return Response(InvitationSerializer(invitations.pending(project), many=True).data)

    @extend_schema(
        request=InvitationInputSerializer,
        responses={201: NewInvitationSerializer, 400: OpenApiResponse(description="No role, or a personal project")},
        summary="Make an invitation link with a role; the link is in this answer only",
        extensions={ROLE_KEY: least_role(Action.MEMBERS)},
    )
    def post(self, request, project_id: int):
        project = _project(request, project_id, Action.MEMBERS)
        form = InvitationInputSerializer(data=request.data)
        if not form.is_valid():
            return _invalid(form, "Send a role: owner, analyst or viewer.")
        try:
            invitation, token = invitations.create_invitation(
                request.user, project, form.validated_data["role"], request=request
            )
        except services.ProjectError as exc:
            return _refused(exc)
        link = request.build_absolute_uri(invitations.link_path(token))
        response = Response(NewInvitationSerializer(invitation, context={"link": link}).data, status=201)
        response["Cache-Control"] = "no-store"
        return response


class ProjectInvitationView(APIView):
    @extend_schema(
        responses={204: None, 410: OpenApiResponse(description="Already used, expired or withdrawn")},
        summary="Withdraw a pending invitation link",
        extensions={ROLE_KEY: least_role(Action.MEMBERS)},
    )
    def delete(self, request, project_id: int, invitation_id: int):
        project = _project(request, project_id, Action.MEMBERS)
        try:
            invitations.withdraw_invitation(request.user, project, invitation_id, request=request)
        except invitations.InvitationError as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        except services.ProjectError as exc:
            return _refused(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)
