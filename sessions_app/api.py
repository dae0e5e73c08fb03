"""REST API (Django REST framework): sessions, their people and timeline, and uploads. Same ownership as pages."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from audit import services as audit
from emotionsite import ratelimit
from emotionsite.apijson import ROLE_KEY, SIGNED_IN
from projects import access
from projects.access import Action, least_role
from sessions_app.models import Marker, Session
from sessions_app.reliability import counts_all
from sessions_app.selectors import face_boxes, get_session_or_404, people_summary, timeline
from sessions_app.services import manage, storage_quota


class SessionSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = [
            "id",
            "project",
            "title",
            "source",
            "status",
            "error",
            "progress",
            "duration",
            "sample_fps",
            "width",
            "height",
            "frames_analysed",
            "face_share",
            "created",
            "updated",
            "url",
        ]
        read_only_fields = fields

    def get_url(self, obj: Session) -> str:
        return obj.get_absolute_url()


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    project = serializers.IntegerField(required=False, help_text="The project's id (default: your personal project)")


class PersonSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()
    thumbnail = serializers.CharField(allow_null=True)
    frames = serializers.IntegerField()
    time_on_screen = serializers.FloatField()
    reliable_share = serializers.FloatField(help_text="Share of the time on screen with a face above the quality bar")
    probabilities = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Each None when no face of the person was counted"
    )
    dominant = serializers.CharField(allow_null=True, help_text="None when no face of the person was counted")
    attention = serializers.FloatField(allow_null=True, help_text="0..1; None when no face of the person was counted")
    valence_estimate = serializers.FloatField(
        allow_null=True,
        help_text="-1..1, DERIVED from the mean probabilities (docs/measures.md: a placement of the categories, "
        "not a measurement); None when no face was counted",
    )
    arousal_estimate = serializers.FloatField(allow_null=True, help_text="-1..1, derived as valence_estimate is")
    looking_away_share = serializers.FloatField(
        allow_null=True, help_text="0..1 of counted faces with |yaw| > 30 or |pitch| > 20 degrees"
    )
    mean_abs_yaw = serializers.FloatField(allow_null=True, help_text="degrees")
    mean_abs_pitch = serializers.FloatField(allow_null=True, help_text="degrees")
    eyes = serializers.DictField(
        allow_null=True, help_text="blinks, blinks_per_minute, closures [[start, duration]], seconds measured"
    )
    eyes_status = serializers.CharField(help_text='"measured", or why blinks are not available')


def session_for(
    request, session_id: int, *, reading: str = audit.Read.RESULTS, action: Action = Action.VIEW
) -> Session:
    """The session if the user may do ``action`` on it (404 outside its project, 403 when the role does not
    allow it); a ``GET`` of another user's session is audited as ``reading`` (the server decides: no
    header or client kind can skip the entry)."""
    session = get_session_or_404(request.user, session_id, action)
    if request.method == "GET":
        audit.record_read(request.user, session, what=reading, request=request)
    return session


def _declared_length(request) -> int:
    """The body's Content-Length (0 when absent or not a number: the chunked body is checked at ingest)."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def _target_before_body(request) -> int | None:
    """The project an upload goes to, where it is known before the body is read: ``?project=`` in the
    address (a project the user may record into), or their personal one when they record into no other.
    None: only the body names it (checked once it is parsed)."""
    from projects.services import personal_project_id

    named = request.query_params.get("project")
    recordable = access.project_ids(request.user, Action.RECORD).values_list("project_id", flat=True)
    if named:
        return int(named) if named.isdigit() and recordable.filter(project_id=int(named)).exists() else None
    personal = personal_project_id(request.user.pk)
    return personal if set(recordable) == {personal} else None


class SessionListView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        responses=SessionSerializer(many=True),
        summary="The sessions of your projects, newest first",
        extensions={ROLE_KEY: SIGNED_IN},
    )
    def get(self, request):
        # the user's projects, staff's too (the admin lists everyone's)
        sessions = Session.objects.filter(project__in=access.project_ids(request.user)).order_by("-created")
        return Response(SessionSerializer(sessions, many=True).data)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: SessionSerializer,
            400: OpenApiResponse(description="No file, or not a readable video or image, or too long"),
            413: OpenApiResponse(description="Over the upload limit, or more than the storage you have left"),
            507: OpenApiResponse(description="The server's disk is nearly full"),
        },
        summary="Create a session by uploading a video or image",
        description="`project`: the project's id (default: your personal project); your role there must be analyst "
        "or owner.",
        extensions={ROLE_KEY: least_role(Action.RECORD)},
    )
    def post(self, request):
        from projects.services import project_for_new
        from sessions_app.services.ingest import IngestError, ingest_file

        ratelimit.hit("uploads", request.user.pk)  # 429 through the API's exception handler
        try:  # before the body is parsed or anything stored; the declared length bounds the file
            storage_quota.check_before_body(_target_before_body(request), _declared_length(request))
        except storage_quota.StorageRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        try:
            data = request.data
        except ParseError:  # an empty or malformed multipart body (no boundary, cut short...)
            data = {}
        form = UploadSerializer(data=data)
        if not form.is_valid():
            return Response({"detail": "Send the video or image as the multipart field 'file'.", **form.errors}, 400)
        # before the file is stored: a project the user may not record into is 404 / 403
        project_id = project_for_new(
            request.user, form.validated_data.get("project") or request.query_params.get("project")
        )
        upload = form.validated_data["file"]
        if upload.size > settings.EMOTION_UPLOAD_MAX_BYTES:
            limit = settings.EMOTION_UPLOAD_MAX_BYTES // (1024 * 1024)
            return Response({"detail": f"The file is larger than the {limit} MB limit."}, 400)
        try:  # the target project's quota (ingest has the last word, under the project's lock)
            storage_quota.check(project_id, upload.size)
        except storage_quota.StorageRefused as exc:
            return Response({"detail": str(exc)}, status=exc.status)
        staging = Path(settings.EMOTION_STAGING_DIR) / "api"
        staging.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=staging, suffix=Path(upload.name or "").suffix[:10])
        try:
            with os.fdopen(fd, "wb") as fh:
                for chunk in upload.chunks():
                    fh.write(chunk)
            title = form.validated_data.get("title", "")
            session = ingest_file(request.user, tmp, upload.name, title, project=project_id)
        except IngestError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


class SessionDetailView(APIView):
    @extend_schema(
        responses=SessionSerializer,
        summary="A session: status, progress, duration",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, session_id: int):
        return Response(SessionSerializer(session_for(request, session_id)).data)


class CountsQuery(serializers.Serializer):
    all = serializers.BooleanField(
        required=False, help_text="Also count faces below the quality bar (default: reliable faces only)"
    )


class TimelineQuery(CountsQuery):
    max_points = serializers.IntegerField(
        required=False, min_value=10, max_value=5000, help_text="At most this many points per series (default 600)"
    )
    boxes = serializers.BooleanField(
        required=False, help_text="Also send the face boxes (key `boxes`) for the video overlay"
    )


def _refused_query(form: serializers.Serializer) -> Response:
    names = ", ".join(form.errors)
    return Response({"detail": f"Check the query parameter(s): {names}.", **form.errors}, 400)


class SessionPeopleView(APIView):
    @extend_schema(
        parameters=[CountsQuery],
        responses=PersonSummarySerializer(many=True),
        summary="People seen in the session, with figures",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, session_id: int):
        session = session_for(request, session_id)
        query = CountsQuery(data=request.query_params.dict())  # a plain dict: "all=" is no boolean
        if not query.is_valid():
            return _refused_query(query)
        return Response(people_summary(session, counts_all(request)))


class SessionTimelineView(APIView):
    @extend_schema(
        parameters=[TimelineQuery],
        responses=OpenApiTypes.OBJECT,
        summary="Bucketed emotions and attention over time, per person and for everyone",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, session_id: int):
        session = session_for(request, session_id)
        form = TimelineQuery(data=request.query_params.dict())
        if not form.is_valid():
            return _refused_query(form)
        query = form.validated_data
        data = timeline(session, max_points=query.get("max_points", 600), include_unreliable=counts_all(request))
        if query.get("boxes"):
            data["boxes"] = face_boxes(session, settings.EMOTION_REPLAY_MAX_BOXES)
        return Response(data)


# --------------------------------------------------------------------------- markers
MARKER_NOTE_MAX = 200


class MarkerSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Marker
        fields = ["id", "session", "time", "note", "author", "created"]
        read_only_fields = ["id", "session", "author", "created"]


class MarkerInputSerializer(serializers.Serializer):
    time = serializers.FloatField()
    note = serializers.CharField(max_length=MARKER_NOTE_MAX, required=False, allow_blank=True, trim_whitespace=True)


def _marker_error(form: serializers.Serializer) -> str:
    errors = form.errors
    if "note" in errors:
        return f"The note must be at most {MARKER_NOTE_MAX} characters."
    return "Send the marker's time in seconds as a number."


class SessionMarkersView(APIView):
    @extend_schema(
        responses=MarkerSerializer(many=True),
        summary="The session's markers, in time order",
        extensions={ROLE_KEY: least_role(Action.VIEW)},
    )
    def get(self, request, session_id: int):
        session = session_for(request, session_id)
        markers = session.markers.select_related("author").order_by("time", "id")
        return Response(MarkerSerializer(markers, many=True).data)

    @extend_schema(
        request=MarkerInputSerializer,
        responses={201: MarkerSerializer, 400: OpenApiResponse(description="A time outside the session")},
        summary="Drop a marker with a short note at a time of the session",
        extensions={ROLE_KEY: least_role(Action.ANNOTATE)},
    )
    def post(self, request, session_id: int):
        session = session_for(request, session_id, action=Action.ANNOTATE)
        form = MarkerInputSerializer(data=request.data)
        if not form.is_valid():
            return Response({"detail": _marker_error(form), **form.errors}, status=status.HTTP_400_BAD_REQUEST)
        t = form.validated_data["time"]
        duration = float(session.duration or 0.0)
        if session.source == Session.Source.LIVE and not session.duration:
            # still recording (or finishing): the recording cannot be longer than the session's age
            duration = (timezone.now() - session.created).total_seconds()
        if not math.isfinite(t) or t < 0 or t > duration + 1e-6:
            return Response(
                {"detail": f"The time must be between 0 and {duration:.1f} seconds."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        marker = Marker.objects.create(
            session=session, author=request.user, time=t, note=form.validated_data.get("note", "")
        )
        return Response(MarkerSerializer(marker).data, status=status.HTTP_201_CREATED)


class SessionMarkerView(APIView):
    @extend_schema(
        responses={204: None}, summary="Delete one marker", extensions={ROLE_KEY: least_role(Action.ANNOTATE)}
    )
    def delete(self, request, session_id: int, marker_id: int):
        session = session_for(request, session_id, action=Action.ANNOTATE)
        marker = session.markers.filter(pk=marker_id).first()
        if marker is None:
            raise Http404("no such marker")
        manage.delete_marker(marker, actor=request.user, request=request, via="API")
        return Response(status=status.HTTP_204_NO_CONTENT)
