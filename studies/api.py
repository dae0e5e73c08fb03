"""REST API of a project's study: participants, conditions and where they apply, baseline settings,
comparisons, lines per participant, event-locked averages and the exports. Access: projects.access
(viewing, comparing and exporting: Action.VIEW; editing codes and links: Action.PEOPLE; conditions and
baselines: Action.RECORD)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from emotionsite.apijson import ROLE_KEY
from projects import access
from projects.access import Action, least_role
from sessions_app import mediatypes
from sessions_app.reliability import counts_all
from studies import exports, selectors
from studies.models import CODE_MAX, LABEL_MAX
from studies.services import compare, edit
from studies.services.aggregate import MEASURES, StudyError
from studies.services.compare import MAX_WINDOW, MIN_STEP
from studies.services.stats import MAX_RESAMPLES
from studies.views import download, study_audit


def _bad(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    name = serializers.CharField(required=False, help_text="Only for roles that may change people")


class _Strict:
    """A JSON body's value of the type the schema states (DRF alone turns 5 into "5" and "5" into 5)."""

    types: tuple = ()

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, self.types):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictChar(_Strict, serializers.CharField):
    types = (str,)
    default_error_messages = {"invalid": "Not a string."}


class StrictRegex(_Strict, serializers.RegexField):
    types = (str,)


class StrictInteger(_Strict, serializers.IntegerField):
    types = (int,)


class StrictFloat(_Strict, serializers.FloatField):
    types = (int, float)


CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
LABEL_PATTERN = r"^[^,|]*[^,|\s][^,|]*$"  # not blank; commas and "|" separate labels in queries and the CSV
NOTE_MAX = 200


CODE_RULE = f"A participant code is 1 to {CODE_MAX} letters, digits, '-', '_' or '.', starting with a letter or digit."
LABEL_RULE = f"A condition label is 1 to {LABEL_MAX} characters, without ',' or '|'."


def _rule(text: str) -> dict:
    return {key: text for key in ("invalid", "blank", "max_length", "required", "null")}


def _code_field(**kwargs):
    return StrictRegex(
        CODE_PATTERN, max_length=CODE_MAX, trim_whitespace=False, error_messages=_rule(CODE_RULE), **kwargs
    )


def _label_field(**kwargs):
    return StrictRegex(
        LABEL_PATTERN, max_length=LABEL_MAX, trim_whitespace=False, error_messages=_rule(LABEL_RULE), **kwargs
    )


class ParticipantSerializer(serializers.Serializer):
    id = StrictInteger(read_only=True)
    code = _code_field()
    note = StrictChar(max_length=NOTE_MAX, required=False, allow_blank=True, trim_whitespace=False)
    people = PersonRefSerializer(many=True, read_only=True)


class ParticipantEditSerializer(serializers.Serializer):
    code = _code_field(required=False)
    note = StrictChar(max_length=NOTE_MAX, required=False, allow_blank=True, trim_whitespace=False)
    link_person = StrictInteger(required=False, help_text="A person of the project gets this code")
    unlink_person = StrictInteger(required=False, help_text="A person of the project loses its code")


class AssignmentSerializer(serializers.Serializer):
    id = StrictInteger(read_only=True)
    condition = _label_field(help_text="A condition's label")
    session = StrictInteger()
    session_title = StrictChar(read_only=True)
    start = StrictFloat(allow_null=True, required=False, min_value=0, help_text="Seconds; null: the whole session")
    end = StrictFloat(allow_null=True, required=False, min_value=0)


class ConditionSerializer(serializers.Serializer):
    id = StrictInteger(read_only=True)
    label = _label_field()
    sessions = AssignmentSerializer(many=True, read_only=True)


class BaselineSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["none", "first", "markers", "condition"])
    op = serializers.ChoiceField(choices=["subtract", "divide"], required=False)
    first_seconds = StrictFloat(required=False, min_value=0.01, max_value=3600)
    start_label = StrictChar(required=False, allow_blank=True, max_length=NOTE_MAX, trim_whitespace=False)
    end_label = StrictChar(required=False, allow_blank=True, max_length=NOTE_MAX, trim_whitespace=False)
    condition = StrictChar(
        required=False, allow_null=True, allow_blank=True, max_length=LABEL_MAX, trim_whitespace=False
    )


class EventTypeSerializer(serializers.Serializer):
    label = StrictChar()
    markers = StrictInteger()


class StudySerializer(serializers.Serializer):
    project = StrictInteger()
    measures = serializers.ListField(child=StrictChar())
    participants = ParticipantSerializer(many=True)
    conditions = ConditionSerializer(many=True)
    event_types = EventTypeSerializer(many=True)
    baseline = BaselineSerializer()


def names_allowed(request, project) -> bool:
    return access.can(request.user, project, Action.PEOPLE)


VIEW = {ROLE_KEY: least_role(Action.VIEW)}
PEOPLE = {ROLE_KEY: least_role(Action.PEOPLE)}
RECORD = {ROLE_KEY: least_role(Action.RECORD)}


def _said(form: serializers.Serializer) -> str:
    """Each refused field with its first message: what to change, in words."""
    said = []
    for name, errors in form.errors.items():
        first = errors[0] if isinstance(errors, list) and errors else errors
        said.append(f"{name}: {first}")
    return "; ".join(said)


def _refused(form: serializers.Serializer, what: str = "Check") -> Response:
    return Response({"detail": f"{what}. {_said(form)}", **form.errors}, status=400)


class StudyView(APIView):
    @extend_schema(
        responses={200: StudySerializer}, summary="A project's study: codes, conditions, events", extensions=VIEW
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        return Response(selectors.overview(project, names=names_allowed(request, project)))


class ParticipantsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses={200: ParticipantSerializer(many=True)}, summary="The project's participants", extensions=VIEW
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        return Response(selectors.participants(project, names=names_allowed(request, project)))

    @extend_schema(
        request=ParticipantSerializer,
        responses={201: ParticipantSerializer},
        summary="Add a participant code (unique in the project)",
        extensions=PEOPLE,
    )
    def post(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.PEOPLE)
        form = ParticipantSerializer(data=request.data)
        if not form.is_valid():
            return _refused(form, "Send the participant's code")
        try:
            p = edit.add_participant(
                request.user, project, form.validated_data["code"], form.validated_data.get("note", ""), request=request
            )
        except StudyError as exc:
            return _bad(exc)
        return Response({"id": p.pk, "code": p.code, "note": p.note, "people": []}, status=201)


class ParticipantView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        request=ParticipantEditSerializer,
        responses={200: ParticipantSerializer},
        summary="Change a participant's code or note, or link / unlink a person",
        extensions=PEOPLE,
    )
    def patch(self, request, project_id: int, participant_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.PEOPLE)
        participant = selectors.participant_or_404(project, participant_id)
        form = ParticipantEditSerializer(data=request.data)
        if not form.is_valid():
            return _refused(form, "Send code, note, link_person or unlink_person")
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

    @extend_schema(
        responses={204: None}, summary="Delete a participant code (its people keep their data)", extensions=PEOPLE
    )
    def delete(self, request, project_id: int, participant_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.PEOPLE)
        edit.delete_participant(request.user, selectors.participant_or_404(project, participant_id), request=request)
        return Response(status=204)


class ConditionsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: ConditionSerializer(many=True)}, summary="The project's conditions", extensions=VIEW)
    def get(self, request, project_id: int):
        return Response(selectors.conditions(selectors.project_or_404(request.user, project_id)))

    @extend_schema(
        request=ConditionSerializer, responses={201: ConditionSerializer}, summary="Add a condition", extensions=RECORD
    )
    def post(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        form = ConditionSerializer(data=request.data)
        if not form.is_valid():
            return _refused(form, "Send the condition's label")
        try:
            c = edit.add_condition(request.user, project, form.validated_data["label"], request=request)
        except StudyError as exc:
            return _bad(exc)
        return Response({"id": c.pk, "label": c.label, "sessions": []}, status=201)


class ConditionView(APIView):
    @extend_schema(responses={204: None}, summary="Delete a condition and where it applies", extensions=RECORD)
    def delete(self, request, project_id: int, condition_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        edit.delete_condition(request.user, selectors.condition_or_404(project, condition_id), request=request)
        return Response(status=204)


class AssignmentsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(
        responses={200: AssignmentSerializer(many=True)},
        summary="Where the conditions apply (sessions or time ranges)",
        extensions=VIEW,
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        return Response([a for c in selectors.conditions(project) for a in c["sessions"]])

    @extend_schema(
        request=AssignmentSerializer,
        responses={201: AssignmentSerializer},
        summary="A condition applies to a session, or to [start, end) seconds of it",
        extensions=RECORD,
    )
    def post(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        form = AssignmentSerializer(data=request.data)
        if not form.is_valid():
            return _refused(form, "Send the condition, the session and optionally start and end")
        data = form.validated_data
        try:
            condition = compare.conditions_by_label(project, [data["condition"]])[0]
            sc = edit.assign_condition(
                request.user, condition, data.get("session"), data.get("start"), data.get("end"), request=request
            )
        except StudyError as exc:
            return _bad(exc)
        return Response(selectors.assignment(sc), status=201)


class AssignmentView(APIView):
    @extend_schema(responses={204: None}, summary="Remove a condition from a session or range", extensions=RECORD)
    def delete(self, request, project_id: int, assignment_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        edit.remove_assignment(request.user, selectors.assignment_or_404(project, assignment_id), request=request)
        return Response(status=204)


class BaselineView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: BaselineSerializer}, summary="The project's baseline correction", extensions=VIEW)
    def get(self, request, project_id: int):
        return Response(selectors.baseline_settings(selectors.project_or_404(request.user, project_id)))

    @extend_schema(
        request=BaselineSerializer,
        responses={200: BaselineSerializer},
        summary="Set the baseline: none, first N seconds, a marked range, or a baseline condition",
        extensions=RECORD,
    )
    def put(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id, Action.RECORD)
        form = BaselineSerializer(data=request.data)
        if not form.is_valid():
            return _refused(form, "Send the baseline mode (none, first, markers, condition)")
        try:
            edit.set_baseline(request.user, project, request=request, **form.validated_data)
        except StudyError as exc:
            return _bad(exc)
        return Response(selectors.baseline_settings(project))


_ONE = "|".join(MEASURES)
MEASURES_PATTERN = rf"^(({_ONE})(,({_ONE}))*)?$"


class CountsQuery(serializers.Serializer):
    all = serializers.BooleanField(required=False, help_text="Count faces below the quality bar too")


class NamesQuery(CountsQuery):
    names = serializers.BooleanField(required=False, help_text="Add people's names (roles that may change people)")


class CommonQuery(CountsQuery):
    measures = serializers.RegexField(
        MEASURES_PATTERN, required=False, allow_blank=True, help_text="Comma-separated measures (default: all)"
    )
    baseline = serializers.BooleanField(required=False, help_text="Correct with the project's baseline")
    resamples = serializers.IntegerField(
        required=False,
        error_messages={"invalid": "resamples and seed are whole numbers."},
        min_value=100,
        max_value=MAX_RESAMPLES,
        help_text="Bootstrap resamples (default 2000)",
    )
    seed = serializers.IntegerField(
        required=False,
        error_messages={"invalid": "resamples and seed are whole numbers."},
        min_value=0,
        max_value=2**32 - 1,
        help_text="Seed of the resampling (default 12345)",
    )


class ComparisonQuery(CommonQuery):
    conditions = serializers.CharField(help_text="Comma-separated condition labels")


class EventLockedQuery(CommonQuery):
    event = serializers.CharField(help_text="An event type (a marker note)")
    window = serializers.FloatField(
        required=False, min_value=MIN_STEP, max_value=MAX_WINDOW, help_text="Seconds either side (default 5)"
    )
    step = serializers.FloatField(
        required=False, min_value=MIN_STEP, max_value=MAX_WINDOW, help_text="Grid step in seconds, at most the window"
    )


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _query(request, form_class) -> dict:
    """The validated query (a plain dict: "all=" is no boolean); StudyError names what was refused."""
    form = form_class(data=request.query_params.dict())
    if not form.is_valid():
        raise StudyError(f"Check the query parameter(s). {_said(form)}")
    return form.validated_data


def options_from(request, q: dict) -> compare.Options:
    return compare.options(
        _list(q.get("measures")), bool(q.get("baseline")), counts_all(request), q.get("resamples"), q.get("seed")
    )


def comparison_for(request, project) -> dict:
    q = _query(request, ComparisonQuery)
    return compare.compare(project, _list(q["conditions"]), options_from(request, q))


class ComparisonView(APIView):
    @extend_schema(
        parameters=[ComparisonQuery],
        responses={200: OpenApiTypes.OBJECT},
        summary="Compare conditions: means per participant and across them with bootstrap 95% intervals",
        extensions=VIEW,
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            return Response(comparison_for(request, project))
        except StudyError as exc:
            return _bad(exc)


class LinesView(APIView):
    @extend_schema(
        parameters=[CommonQuery],
        responses={200: OpenApiTypes.OBJECT},
        summary="Each participant's means per session, sessions in time order",
        extensions=VIEW,
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            return Response(compare.lines(project, options_from(request, _query(request, CommonQuery))))
        except StudyError as exc:
            return _bad(exc)


class EventLockedView(APIView):
    @extend_schema(
        parameters=[EventLockedQuery],
        responses={200: OpenApiTypes.OBJECT},
        summary="Event-locked averages around the markers of one type, with 95% interval bands",
        extensions=VIEW,
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            q = _query(request, EventLockedQuery)
            window, step = q.get("window", 5.0), q.get("step", 0.5)
            return Response(compare.event_locked(project, q["event"], window, step, options_from(request, q)))
        except StudyError as exc:
            return _bad(exc)


def _names(request, project, q: dict) -> bool:
    if not q.get("names"):
        return False
    access.require(request.user, project, Action.PEOPLE)  # names: roles that may change people (403 otherwise)
    return True


class ExportObservationsView(APIView):
    @extend_schema(
        parameters=[NamesQuery],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The project's tidy long CSV, streamed (participant codes; names on request)",
        extensions=VIEW,
    )
    def get(self, request, project_id: int):
        project = selectors.project_or_404(request.user, project_id)
        try:
            q = _query(request, NamesQuery)
        except StudyError as exc:
            return _bad(exc)
        names = _names(request, project, q)
        filename = f"project-{project.pk}-study-observations.csv"
        study_audit(request, project, filename)
        return download(exports.long_csv(project, names), "text/csv; charset=utf-8", filename)


class ExportComparisonView(APIView):
    @extend_schema(
        parameters=[ComparisonQuery],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The comparison's tables as CSV",
        extensions=VIEW,
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
        parameters=[NamesQuery],
        responses={(200, "application/xml"): OpenApiTypes.STR},
        summary="A session as an ELAN .eaf file: a tier per participant, a markers tier, the video linked",
        extensions=VIEW,
    )
    def get(self, request, project_id: int, session_id: int):
        project = selectors.project_or_404(request.user, project_id)
        session = selectors.session_or_404(project, session_id)
        try:
            q = _query(request, NamesQuery)
        except StudyError as exc:
            return _bad(exc)
        names = _names(request, project, q)
        media = ""
        if session.playable.name:
            media = request.build_absolute_uri(reverse("session_media", args=[session.pk, "playable"]))
        path = exports.session_eaf(
            session, media, mediatypes.content_type(session.playable_format), names, counts_all(request)
        )
        filename = f"session-{session.pk}.eaf"
        study_audit(request, project, filename, session=session)
        return download(exports.file_chunks(path), "application/xml", filename)
