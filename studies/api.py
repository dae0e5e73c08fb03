"""REST API of a project's study: participants, conditions and where they apply, baseline settings,
comparisons, lines per participant, event-locked averages and the exports. Access: projects.access
(viewing, comparing and exporting: Action.VIEW; editing codes and links: Action.PEOPLE; conditions and
baselines: Action.RECORD)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from projects import access
from projects.access import Action
from sessions_app import mediatypes
from sessions_app.reliability import counts_all
from studies import exports, selectors
from studies.services import compare, edit
from studies.services.aggregate import StudyError
from studies.views import download, study_audit


def _bad(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    name = serializers.CharField(required=False, help_text="Only for roles that may change people")


class ParticipantSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(max_length=40)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    people = PersonRefSerializer(many=True, read_only=True)


class ParticipantEditSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, required=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    link_person = serializers.IntegerField(required=False, help_text="A person of the project gets this code")
    unlink_person = serializers.IntegerField(required=False, help_text="A person of the project loses its code")


class AssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    condition = serializers.CharField()
    session = serializers.IntegerField()
    session_title = serializers.CharField(read_only=True)
    start = serializers.FloatField(allow_null=True, required=False, help_text="Seconds; null: the whole session")
    end = serializers.FloatField(allow_null=True, required=False)


class ConditionSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    label = serializers.CharField(max_length=60)
    sessions = AssignmentSerializer(many=True, read_only=True)


class BaselineSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["none", "first", "markers", "condition"])
    op = serializers.ChoiceField(choices=["subtract", "divide"], required=False)
    first_seconds = serializers.FloatField(required=False)
    start_label = serializers.CharField(required=False, allow_blank=True)
    end_label = serializers.CharField(required=False, allow_blank=True)
    condition = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class EventTypeSerializer(serializers.Serializer):
    label = serializers.CharField()
    markers = serializers.IntegerField()


class StudySerializer(serializers.Serializer):
    project = serializers.IntegerField()
    measures = serializers.ListField(child=serializers.CharField())
    participants = ParticipantSerializer(many=True)
    conditions = ConditionSerializer(many=True)
    event_types = EventTypeSerializer(many=True)
    baseline = BaselineSerializer()


def names_allowed(request, project) -> bool:
    return access.can(request.user, project, Action.PEOPLE)


ERR = {400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT}


class StudyView(APIView):
    @extend_schema(responses={200: StudySerializer, **ERR}, summary="A project's study: codes, conditions, events")
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        return Response(selectors.overview(project, names=names_allowed(request, project)))


class ParticipantsView(APIView):
    @extend_schema(responses={200: ParticipantSerializer(many=True), **ERR}, summary="The project's participants")
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        return Response(selectors.participants(project, names=names_allowed(request, project)))

    @extend_schema(
        request=ParticipantSerializer,
        responses={201: ParticipantSerializer, **ERR},
        summary="Add a participant code (unique in the project)",
    )
    def post(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.PEOPLE)
        form = ParticipantSerializer(data=request.data)
        if not form.is_valid():
            return Response({"detail": "Send the participant's code.", **form.errors}, status=400)
        try:
            p = edit.add_participant(
                request.user, project, form.validated_data["code"], form.validated_data.get("note", ""), request=request
            )
        except StudyError as exc:
            return _bad(exc)
        return Response({"id": p.pk, "code": p.code, "note": p.note, "people": []}, status=201)


class ParticipantView(APIView):
    @extend_schema(
        request=ParticipantEditSerializer,
        responses={200: ParticipantSerializer, **ERR},
        summary="Change a participant's code or note, or link / unlink a person",
    )
    def patch(self, request, project_id: int, participant_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.PEOPLE)
        participant = selectors.participant_or_404(project, participant_id)
        form = ParticipantEditSerializer(data=request.data)
        if not form.is_valid():
            return Response({"detail": "Send code, note, link_person or unlink_person.", **form.errors}, status=400)
        data = form.validated_data
        try:
            if "code" in data or "note" in data:
                edit.update_participant(
                    request.user, participant, code=data.get("code"), note=data.get("note"), request=request
                )
            if "link_person" in data:
                edit.link_person(request.user, participant, data["link_person"], request=request)
            if "unlink_person" in data:
                edit.unlink_person(request.user, project, data["unlink_person"], request=request)
        except StudyError as exc:
            return _bad(exc)
        found = [p for p in selectors.participants(project) if p["id"] == participant.pk]
        return Response(found[0])

    @extend_schema(responses={204: None, **ERR}, summary="Delete a participant code (its people keep their data)")
    def delete(self, request, project_id: int, participant_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.PEOPLE)
        edit.delete_participant(request.user, selectors.participant_or_404(project, participant_id), request=request)
        return Response(status=204)


class ConditionsView(APIView):
    @extend_schema(responses={200: ConditionSerializer(many=True), **ERR}, summary="The project's conditions")
    def get(self, request, project_id: int):
        return Response(selectors.conditions(selectors.project_or_404(request.user, project_id)))

    @extend_schema(request=ConditionSerializer, responses={201: ConditionSerializer, **ERR}, summary="Add a condition")
    def post(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        try:
            c = edit.add_condition(request.user, project, str(request.data.get("label", "")), request=request)
        except StudyError as exc:
            return _bad(exc)
        return Response({"id": c.pk, "label": c.label, "sessions": []}, status=201)


class ConditionView(APIView):
    @extend_schema(responses={204: None, **ERR}, summary="Delete a condition and where it applies")
    def delete(self, request, project_id: int, condition_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        edit.delete_condition(request.user, selectors.condition_or_404(project, condition_id), request=request)
        return Response(status=204)


class AssignmentsView(APIView):
    @extend_schema(
        responses={200: AssignmentSerializer(many=True), **ERR},
        summary="Where the conditions apply (sessions or time ranges)",
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        return Response([a for c in selectors.conditions(project) for a in c["sessions"]])

    @extend_schema(
        request=AssignmentSerializer,
        responses={201: AssignmentSerializer, **ERR},
        summary="A condition applies to a session, or to [start, end) seconds of it",
    )
    def post(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        data = request.data
        try:
            condition = compare.conditions_by_label(project, [str(data.get("condition", ""))])[0]
            sc = edit.assign_condition(
                request.user, condition, data.get("session"), data.get("start"), data.get("end"), request=request
            )
        except StudyError as exc:
            return _bad(exc)
        return Response(selectors.assignment(sc), status=201)


class AssignmentView(APIView):
    @extend_schema(responses={204: None, **ERR}, summary="Remove a condition from a session or range")
    def delete(self, request, project_id: int, assignment_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        edit.remove_assignment(request.user, selectors.assignment_or_404(project, assignment_id), request=request)
        return Response(status=204)


class BaselineView(APIView):
    @extend_schema(responses={200: BaselineSerializer, **ERR}, summary="The project's baseline correction")
    def get(self, request, project_id: int):
        return Response(selectors.baseline_settings(selectors.project_or_404(request.user, project_id)))

    @extend_schema(
        request=BaselineSerializer,
        responses={200: BaselineSerializer, **ERR},
        summary="Set the baseline: none, first N seconds, a marked range, or a baseline condition",
    )
    def put(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        form = BaselineSerializer(data=request.data)
        if not form.is_valid():
            return Response({"detail": "Send the baseline mode (none, first, markers, condition).", **form.errors}, 400)
        try:
            edit.set_baseline(request.user, project, request=request, **form.validated_data)
        except StudyError as exc:
            return _bad(exc)
        return Response(selectors.baseline_settings(project))


COMMON_PARAMS = [
    OpenApiParameter("measures", str, description="Comma-separated measures (default: all)"),
    OpenApiParameter("baseline", bool, description="1: correct with the project's baseline"),
    OpenApiParameter("all", bool, description="1: count faces below the quality bar too"),
    OpenApiParameter("resamples", int, description="Bootstrap resamples (100..20000, default 2000)"),
    OpenApiParameter("seed", int, description="Seed of the resampling (default 12345)"),
]


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def options_from(request) -> compare.Options:
    q = request.query_params if hasattr(request, "query_params") else request.GET
    try:
        resamples = int(q["resamples"]) if q.get("resamples") else None
        seed = int(q["seed"]) if q.get("seed") else None
    except ValueError:
        raise StudyError("resamples and seed are whole numbers.") from None
    return compare.options(_list(q.get("measures")), _truthy(q.get("baseline")), counts_all(request), resamples, seed)


def comparison_for(request, project) -> dict:
    q = request.query_params if hasattr(request, "query_params") else request.GET
    return compare.compare(project, _list(q.get("conditions")), options_from(request))


class ComparisonView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("conditions", str, required=True, description="Comma-separated labels"),
            *COMMON_PARAMS,
        ],
        responses={200: OpenApiTypes.OBJECT, **ERR},
        summary="Compare conditions: means per participant and across them with bootstrap 95% intervals",
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            return Response(comparison_for(request, project))
        except StudyError as exc:
            return _bad(exc)


class LinesView(APIView):
    @extend_schema(
        parameters=COMMON_PARAMS,
        responses={200: OpenApiTypes.OBJECT, **ERR},
        summary="Each participant's means per session, sessions in time order",
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            return Response(compare.lines(project, options_from(request)))
        except StudyError as exc:
            return _bad(exc)


class EventLockedView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("event", str, required=True, description="An event type (a marker note)"),
            OpenApiParameter("window", float, description="Seconds either side (default 5)"),
            OpenApiParameter("step", float, description="Grid step in seconds (default 0.5)"),
            *COMMON_PARAMS,
        ],
        responses={200: OpenApiTypes.OBJECT, **ERR},
        summary="Event-locked averages around the markers of one type, with 95% interval bands",
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        q = request.query_params
        try:
            window, step = float(q.get("window") or 5), float(q.get("step") or 0.5)
        except ValueError:
            return _bad(StudyError("window and step are numbers of seconds."))
        try:
            return Response(compare.event_locked(project, q.get("event", ""), window, step, options_from(request)))
        except StudyError as exc:
            return _bad(exc)


def _names(request, project) -> bool:
    if not _truthy(request.query_params.get("names")):
        return False
    access.require(request.user, project, Action.PEOPLE)  # names: roles that may change people (403 otherwise)
    return True


class ExportObservationsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("names", bool, description="1: add people's names (analyst+)")],
        responses={(200, "text/csv"): OpenApiTypes.STR, **ERR},
        summary="The project's tidy long CSV, streamed (participant codes; names on request)",
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        names = _names(request, project)
        filename = f"project-{project.pk}-study-observations.csv"
        study_audit(request, project, filename)
        return download(exports.long_csv(project, names), "text/csv; charset=utf-8", filename)


class ExportComparisonView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("conditions", str, required=True), *COMMON_PARAMS],
        responses={(200, "text/csv"): OpenApiTypes.STR, **ERR},
        summary="The comparison's tables as CSV",
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            result = comparison_for(request, project)
        except StudyError as exc:
            return _bad(exc)
        filename = f"project-{project.pk}-comparison.csv"
        study_audit(request, project, filename)
        return download(exports.comparison_csv(result), "text/csv; charset=utf-8", filename)


class ExportElanView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("names", bool), OpenApiParameter("all", bool)],
        responses={(200, "application/xml"): OpenApiTypes.STR, **ERR},
        summary="A session as an ELAN .eaf file: a tier per participant, a markers tier, the video linked",
    )
    def get(self, request, project_id: int, session_id: int):
        project = selectors.project_or_404(request.user, project_id)
        session = selectors.session_or_404(project, session_id)
        names = _names(request, project)
        media = ""
        if session.playable.name:
            media = request.build_absolute_uri(reverse("session_media", args=[session.pk, "playable"]))
        path = exports.session_eaf(
            session, media, mediatypes.content_type(session.playable_format), names, counts_all(request)
        )
        filename = f"session-{session.pk}.eaf"
        study_audit(request, project, filename, session=session)
        return download(exports.file_chunks(path), "application/xml", filename)
