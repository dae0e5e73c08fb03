"""Fixtures of the API tests: a shared project with an owner, an analyst and a viewer, and a stranger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient


@dataclass
class Team:
    project: Any
    owner: Any
    analyst: Any
    viewer: Any
    stranger: Any

    def api(self, who: str | None) -> APIClient:
        client = APIClient()
        if who is not None:
            client.force_authenticate(getattr(self, who))
        return client


@pytest.fixture
def team(db) -> Team:
    from projects.models import Membership, Project

    users = get_user_model().objects
    owner, analyst, viewer, stranger = (
        users.create_user(username=name, password=None) for name in ("boss", "ana", "vic", "stranger")
    )
    project = Project.objects.create(name="Lab")
    for user, role in ((owner, "owner"), (analyst, "analyst"), (viewer, "viewer")):
        Membership.objects.create(project=project, user=user, role=role)
    return Team(project, owner, analyst, viewer, stranger)
