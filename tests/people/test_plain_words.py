"""Issue 22: the people pages speak to researchers, not to the engine ("reference embeddings")."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ENGINE_WORDS = ("embedding", "descriptor", "cosine")


def test_people_pages_use_plain_words(auth_client, people_world):
    for url in (reverse("people"), reverse("person_detail", args=[people_world.alice.pk]), reverse("privacy_settings")):
        page = auth_client.get(url).content.decode().lower()
        assert "alice" in page or url == reverse("privacy_settings")
        for word in ENGINE_WORDS:
            assert word not in page, (url, word)
    person = auth_client.get(reverse("person_detail", args=[people_world.alice.pk])).content.decode()
    assert "Removes the face data kept to recognise them" in person
