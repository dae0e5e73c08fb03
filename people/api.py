"""REST API of the people room: suggestions "possibly the same person" and the owner's answers."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from emotionsite.apijson import ROLE_KEY, SIGNED_IN
from people import services as people
from people import suggestions
from people.selectors import get_suggestion_or_404, user_suggestions
from projects.access import Action, least_role


class SuggestedPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    thumbnail = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_thumbnail(self, obj) -> str | None:
        thumb = next(iter(obj.thumbnails.all()), None)
        return reverse("person_thumbnail", args=[thumb.pk]) if thumb else None

    def get_url(self, obj) -> str:
        return reverse("person_detail", args=[obj.pk])


class SuggestionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    person = SuggestedPersonSerializer(help_text="the person a confirmation keeps")
    candidate = SuggestedPersonSerializer(help_text="possibly the same as person; merged into them on confirm")
    score = serializers.FloatField(help_text="identity distance of the pair (lower: more alike)")
    margin = serializers.FloatField(help_text="to the next-best person when the suggestion was made")
    status = serializers.CharField()
    created = serializers.DateTimeField()


class SuggestionConfirmedSerializer(serializers.Serializer):
    suggestion = SuggestionSerializer()
    person = SuggestedPersonSerializer(help_text="the person kept, with the candidate merged in")


def _suggestion(request, suggestion_id: int):
    return get_suggestion_or_404(request.user, suggestion_id, Action.PEOPLE)


def _answered(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


class SuggestionListView(APIView):
    @extend_schema(
        responses=SuggestionSerializer(many=True),
        summary="Open suggestions of your projects: pairs of people that are possibly the same person, newest first",
        description="The suggestions of the projects where your role lets you answer them (analyst or owner).",
        extensions={ROLE_KEY: SIGNED_IN},
    )
    def get(self, request):
        return Response(SuggestionSerializer(user_suggestions(request.user), many=True).data)


class SuggestionConfirmView(APIView):
    @extend_schema(
        request=None,
        responses={200: SuggestionConfirmedSerializer, 409: OpenApiResponse(description="Already answered")},
        summary="Confirm a suggestion: the candidate is merged into the person",
        extensions={ROLE_KEY: least_role(Action.PEOPLE)},
    )
    def post(self, request, suggestion_id: int):
        suggestion = _suggestion(request, suggestion_id)
        before = SuggestionSerializer(suggestion).data  # its row goes with the merged person
        try:
            kept = suggestions.confirm(suggestion, request.user, request=request)
        except people.PeopleError as exc:
            return _answered(exc)
        answered = {**before, "status": suggestion.Status.CONFIRMED.value}
        return Response({"suggestion": answered, "person": SuggestedPersonSerializer(kept).data})


class SuggestionRejectView(APIView):
    @extend_schema(
        request=None,
        responses={200: SuggestionSerializer, 409: OpenApiResponse(description="Already answered")},
        summary="Not the same person: remembered (never suggested again, never joined automatically)",
        extensions={ROLE_KEY: least_role(Action.PEOPLE)},
    )
    def post(self, request, suggestion_id: int):
        suggestion = _suggestion(request, suggestion_id)
        try:
            answered = suggestions.reject(suggestion, request.user, request=request)
        except people.PeopleError as exc:
            return _answered(exc)
        return Response(SuggestionSerializer(answered).data)
