"""Suggestions "possibly the same": one row per pair, confirm merges, a rejection is remembered."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from people import services as people
from people import suggestions
from people.models import Person, PersonSuggestion
from people.services import PeopleError
from projects.services import personal_project

pytestmark = pytest.mark.django_db


def test_one_row_per_unordered_pair_and_confirm_merges(people_world):
    w = people_world
    s = suggestions.suggest(w.alice, w.carol, 0.4, 0.1)
    assert suggestions.suggest(w.carol, w.alice, 0.3, 0.2).pk == s.pk  # the same pair, either order
    s.refresh_from_db()
    assert (s.score, s.margin) == (0.3, 0.2)
    assert [x.pk for x in suggestions.open_suggestions(personal_project(w.owner))] == [s.pk]
    kept = suggestions.confirm(s, w.owner)
    assert kept.pk == w.alice.pk and not Person.objects.filter(pk=w.carol.pk).exists()
    assert len(kept.embeddings) == 3 and AuditEntry.objects.filter(action="merged").count() == 1
    assert list(suggestions.open_suggestions(personal_project(w.owner))) == []


def test_rejection_is_remembered_and_survives_a_merge(people_world, other_user):
    w = people_world
    s = suggestions.suggest(w.bob, w.carol, 0.45, 0.05)
    suggestions.reject(s, w.owner)
    assert suggestions.rejected_pairs(personal_project(w.owner)) == {frozenset({w.bob.pk, w.carol.pk})}
    assert suggestions.rejected_pairs(personal_project(other_user)) == set()
    assert suggestions.suggest(w.carol, w.bob, 0.1, 0.5) is None  # never suggested again
    with pytest.raises(PeopleError):
        suggestions.confirm(s, w.owner)  # already answered
    entry = AuditEntry.objects.get(action="not_same")
    assert entry.owner == w.owner and entry.object_id == str(w.bob.pk)
    # Carol merged into Alice by hand: Alice is now "not Bob"
    people.merge_people(w.alice, w.carol, actor=w.owner)
    assert suggestions.rejected_pairs(personal_project(w.owner)) == {frozenset({w.bob.pk, w.alice.pk})}
    assert PersonSuggestion.objects.count() == 1
