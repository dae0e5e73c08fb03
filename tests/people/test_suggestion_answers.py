"""Suggestions "possibly the same person" as the owner meets them: both faces side by side on the people
page, the person's page and the admin's Name faces page; Confirm merges, "Not the same" is remembered;
the REST API lists and answers them; another owner's suggestion is 404 everywhere."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from people import suggestions
from people.models import Person, PersonSuggestion
from projects.services import personal_project
from sessions_app.models import Track

pytestmark = pytest.mark.django_db


def thumb_url(person: Person) -> str:
    return reverse("person_thumbnail", args=[person.thumbnails.get().pk])


def card(page: str, suggestion: PersonSuggestion) -> str:
    """The HTML of one suggestion card of a page."""
    start = page.index(f'data-suggestion="{suggestion.pk}"')
    return page[start : page.index("</form>", start)]


def test_pages_show_both_faces_and_answers_are_kept(auth_client, people_world, other_user):
    w = people_world
    maybe_carol = suggestions.suggest(w.alice, w.carol, 0.42, 0.05)
    maybe_bob = suggestions.suggest(w.alice, w.bob, 0.47, 0.02)

    page = auth_client.get(reverse("people")).content.decode()
    shown = card(page, maybe_carol)
    assert shown.index(thumb_url(w.alice)) < shown.index(thumb_url(w.carol))  # side by side, kept one first
    assert "Confirm (merge)" in shown and "Not the same" in shown
    detail = auth_client.get(reverse("person_detail", args=[w.carol.pk])).content.decode()
    assert thumb_url(w.alice) in card(detail, maybe_carol) and f'data-suggestion="{maybe_bob.pk}"' not in detail

    # another owner: 404, nothing answered
    stranger = Client()
    stranger.force_login(other_user)
    url = reverse("suggestion_answer", args=[maybe_carol.pk])
    assert stranger.post(url, {"answer": "confirm"}).status_code == 404
    assert PersonSuggestion.objects.get(pk=maybe_carol.pk).status == "open"
    # an answer that is neither: a message, nothing changes
    odd = auth_client.post(url, {"answer": "maybe"}, follow=True)
    assert "Answer with Confirm or Not the same" in odd.content.decode()

    # "Not the same": remembered, never suggested again, audited
    r = auth_client.post(reverse("suggestion_answer", args=[maybe_bob.pk]), {"answer": "reject"})
    assert r.status_code == 302 and r.url == reverse("people")
    assert PersonSuggestion.objects.get(pk=maybe_bob.pk).status == "rejected"
    assert suggestions.suggest(w.bob, w.alice, 0.1, 0.5) is None
    assert suggestions.rejected_pairs(personal_project(w.owner)) == {frozenset({w.alice.pk, w.bob.pk})}
    assert AuditEntry.objects.filter(action="not_same", actor=w.owner, object_id=str(w.alice.pk)).count() == 1

    # Confirm from Carol's own page: Carol is merged into Alice and the page goes to Alice
    carol_page = reverse("person_detail", args=[w.carol.pk])
    r = auth_client.post(url, {"answer": "confirm", "next": carol_page})
    assert r.status_code == 302 and r.url == reverse("person_detail", args=[w.alice.pk])
    assert not Person.objects.filter(pk=w.carol.pk).exists()
    assert Track.objects.get(pk=w.tracks["b-carol"].pk).person_id == w.alice.pk
    assert list(suggestions.open_suggestions(personal_project(w.owner))) == []
    assert "data-suggestion" not in auth_client.get(reverse("people")).content.decode()
    again = auth_client.post(url, {"answer": "reject"})
    assert again.status_code == 404  # its row went with the merge


def test_api_lists_and_answers_own_suggestions_only(client, people_world, other_user):
    w = people_world
    first = suggestions.suggest(w.alice, w.carol, 0.42, 0.05)
    second = suggestions.suggest(w.bob, w.carol, 0.45, 0.03)
    stranger = Client()
    stranger.force_login(other_user)
    assert stranger.get(reverse("api_suggestions")).json() == []
    for name in ("api_suggestion_confirm", "api_suggestion_reject"):
        assert stranger.post(reverse(name, args=[first.pk])).status_code == 404
    assert PersonSuggestion.objects.filter(status="open").count() == 2

    client.force_login(w.owner)
    listed = client.get(reverse("api_suggestions")).json()
    assert [s["id"] for s in listed] == [second.pk, first.pk]  # newest first
    assert listed[1]["person"] == {
        "id": w.alice.pk,
        "name": "Alice",
        "thumbnail": thumb_url(w.alice),
        "url": reverse("person_detail", args=[w.alice.pk]),
    }
    assert listed[1]["candidate"]["id"] == w.carol.pk and listed[1]["score"] == pytest.approx(0.42)

    rejected = client.post(reverse("api_suggestion_reject", args=[second.pk]))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert client.post(reverse("api_suggestion_confirm", args=[second.pk])).json() == {
        "detail": "This suggestion was already answered."
    }
    assert suggestions.suggest(w.carol, w.bob, 0.1, 0.5) is None

    confirmed = client.post(reverse("api_suggestion_confirm", args=[first.pk]))
    assert confirmed.status_code == 200
    body = confirmed.json()
    assert body["suggestion"]["status"] == "confirmed" and body["person"]["id"] == w.alice.pk
    assert not Person.objects.filter(pk=w.carol.pk).exists()
    # Carol's "not Bob" answer stays true of Alice, into whom she was merged
    assert suggestions.rejected_pairs(personal_project(w.owner)) == {frozenset({w.alice.pk, w.bob.pk})}
    assert client.get(reverse("api_suggestions")).json() == []
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert "get" in paths["/api/people/suggestions/"]
    for answer in ("confirm", "reject"):
        assert "post" in paths[f"/api/people/suggestions/{{suggestion_id}}/{answer}/"]


def test_admin_name_faces_shows_and_answers_suggestions(client, people_world, staff_user):
    w = people_world
    s = suggestions.suggest(w.alice, w.carol, 0.42, 0.05)
    client.force_login(staff_user)
    page_url = reverse("admin:people_person_name_faces")
    page = client.get(page_url).content.decode()
    shown = card(page, s)
    assert shown.index(thumb_url(w.alice)) < shown.index(thumb_url(w.carol)) and w.owner.username in shown
    r = client.post(reverse("suggestion_answer", args=[s.pk]), {"answer": "reject", "next": page_url})
    assert r.status_code == 302 and r.url == page_url
    assert PersonSuggestion.objects.get(pk=s.pk).status == "rejected"
    entry = AuditEntry.objects.get(action="not_same")
    assert entry.actor == staff_user and entry.owner == w.owner
