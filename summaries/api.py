"""REST API of summaries: list, create, read and cancel the summaries of a session (same ownership as sessions)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Read
from emotionsite.apijson import ROLE_KEY
from projects.access import Action, least_role
from sessions_app.api import session_for
from sessions_app.reliability import counts_all
from summaries.base import SummaryError
from summaries.models import Summary
from summaries.selectors import summaries_of, summary_data
from summaries.services import cancel_summary, request_summary


class SummarySerializer(serializers.Serializer):
    """Documents the shape of :func:`summaries.selectors.summary_data` (the same JSON as the websocket's)."""

    id = serializers.IntegerField()
    session = serializers.IntegerField()
    backend = serializers.ChoiceField(choices=Summary.Backend.choices)
    include_unreliable = serializers.BooleanField(help_text="Faces below the quality bar were counted too")
    backend_label = serializers.CharField()
    model_name = serializers.CharField()
    status = serializers.ChoiceField(choices=Summary.Status.choices)
    status_label = serializers.CharField()
    progress = serializers.FloatField()
    text = serializers.CharField()
    error = serializers.CharField()
    requested_by = serializers.CharField(allow_null=True)
    cancel_requested = serializers.BooleanField()
    created = serializers.DateTimeField()
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    made_before_people_changed = serializers.BooleanField(
        help_text="A finished summary made before people in its session were merged, split or deleted (or a merge "
        "undone): its people and counts may differ from the session's now; request another for the current people"
    )
    people_changed_at = serializers.DateTimeField(
        allow_null=True, help_text="When people in the session last changed that way (null: never)"
    )


class SummaryRequestSerializer(serializers.Serializer):
    backend = serializers.ChoiceField(choices=Summary.Backend.choices)
    include_unreliable = serializers.BooleanField(
        required=False,
        help_text="Also count faces below the quality bar (default: the user's choice, ?all=1; else reliable only)",
    )


def _summaries(request, session_id: int, action: Action = Action.VIEW):
    """The session's summaries; reading them (GET) is audited as a read of summaries."""
    return summaries_of(session_for(request, session_id, reading=Read.SUMMARIES, action=action))


def _summary(request, session_id: int, summary_id: int, action: Action = Action.VIEW) -> Summary:
    summary = _summaries(request, session_id, action).filter(pk=summary_id).first()
    if summary is None:
        raise Http404("no such summary")
    return summary


class SessionSummariesView(APIView):
    @extend_schema(
        responses=SummarySerializer(many=True),
        summary="The session's summaries, newest first",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, session_id: int):
        return Response([summary_data(s) for s in _summaries(request, session_id)])

    @extend_schema(
        request=SummaryRequestSerializer,
        responses={201: SummarySerializer, 400: OpenApiResponse(description="That backend is not available")},
        summary="Queue a new summary of the session by one backend (heuristic, local or remote)",
        extensions={ROLE_KEY: least_role(Action.SUMMARIZE)},
    )
    def post(self, request, session_id: int):
        session = session_for(request, session_id, action=Action.SUMMARIZE)
        form = SummaryRequestSerializer(data=request.data)
        if not form.is_valid():
            choices = ", ".join(Summary.Backend.values)
            return Response({"detail": f"Send a backend: one of {choices}.", **form.errors}, 400)
        try:
            summary = request_summary(
                session,
                form.validated_data["backend"],
                request.user,
                request=request,
                include_unreliable=form.validated_data.get("include_unreliable", counts_all(request)),
            )
        except SummaryError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(summary_data(summary), status=status.HTTP_201_CREATED)


class SessionSummaryView(APIView):
    @extend_schema(
        responses=SummarySerializer,
        summary="One summary: status, progress, text",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, session_id: int, summary_id: int):
        return Response(summary_data(_summary(request, session_id, summary_id)))


class SessionSummaryCancelView(APIView):
    @extend_schema(
        request=None,
        responses={200: SummarySerializer, 400: OpenApiResponse(description="The summary has finished")},
        summary="Cancel a queued or running summary",
        extensions={ROLE_KEY: least_role(Action.SUMMARIZE)},
    )
    def post(self, request, session_id: int, summary_id: int):
        summary = _summary(request, session_id, summary_id, Action.SUMMARIZE)
        try:
            summary = cancel_summary(summary, request.user)
        except SummaryError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(summary_data(summary))
