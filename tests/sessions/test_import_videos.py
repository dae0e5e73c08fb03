"""``manage.py import_videos``: a folder into a project through the upload's ingest, lying files refused
with a line, nothing imported twice."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from projects.models import Membership, Project
from sessions_app.models import Segment, Session
from sessions_app.services import analysis
from sessions_app.tasks import prepare_playable

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(media_dir, tmp_path):
    """The short clip, a photo, a text file named .mp4, and a note that is not media at all."""
    f = tmp_path / "study"
    f.mkdir()
    shutil.copy(media_dir / "short_hamilton_clip.mp4", f / "hamilton.mp4")
    shutil.copy(media_dir / "obama.jpg", f / "obama.jpg")
    (f / "fake.mp4").write_text("not a video at all, only words\n" * 50)
    (f / "notes.txt").write_text("a note")
    return f


@pytest.fixture
def queued(monkeypatch):
    """The analyses queued (the broker is left alone: no worker runs in these tests)."""
    calls: list[int] = []
    monkeypatch.setattr(analysis, "enqueue_analysis", calls.append)
    monkeypatch.setattr(prepare_playable, "delay", lambda session_id: None)
    return calls


@pytest.fixture
def team(user):
    project = Project.objects.create(name="Study B")
    Membership.objects.create(project=project, user=user, role="analyst")
    return project


def run(*args) -> str:
    out = StringIO()
    call_command("import_videos", *map(str, args), stdout=out)
    return out.getvalue()


def test_imports_a_folder_once(folder, team, user, queued, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path / "media"
    with django_capture_on_commit_callbacks(execute=True):
        out = run(folder, "--project", team.pk, "--user", user.username)
    sessions = list(Session.objects.filter(project=team).order_by("original_name"))
    assert [(s.title, s.source, s.status, s.original_name) for s in sessions] == [
        ("hamilton", "upload", "queued", "hamilton.mp4"),
        ("obama", "image", "queued", "obama.jpg"),
    ]
    assert sorted(queued) == sorted(s.pk for s in sessions)  # both analyses queued
    assert Segment.objects.filter(session__in=sessions).count() >= 2
    lines = out.splitlines()
    assert lines[0].startswith("refused      fake.mp4: This file could not be read as a video or image")
    assert lines[1] == f"imported     hamilton.mp4: session {sessions[0].pk}, queued"
    assert lines[2] == f"imported     obama.jpg: session {sessions[1].pk}, queued"
    assert lines[3] == (
        f"2 imported, 1 refused, 0 already imported (of 3 video or image files; 1 other files passed over) "
        f"into project {team.pk}"
    )
    # again: nothing imported twice, the lying file refused again
    with django_capture_on_commit_callbacks(execute=True):
        out = run(folder, "--project", team.pk, "--user", user.username)
    assert Session.objects.filter(project=team).count() == 2
    assert f"skipped      hamilton.mp4: already imported (session {sessions[0].pk})" in out
    assert out.splitlines()[-1].startswith("0 imported, 1 refused, 2 already imported")
    # --dry-run --again: what would happen, nothing stored
    out = run(folder, "--project", team.pk, "--user", user.username, "--dry-run", "--again")
    assert out.splitlines()[-1].startswith("2 would import, 1 refused, 0 already imported")
    assert Session.objects.filter(project=team).count() == 2 and len(queued) == 2


def test_refuses_users_who_may_not_record(folder, team, user, queued):
    viewer = get_user_model().objects.create_user(username="import-viewer", password=None)
    Membership.objects.create(project=team, user=viewer, role="viewer")
    stranger = get_user_model().objects.create_user(username="import-stranger", password=None)
    with pytest.raises(CommandError, match="does not allow adding sessions"):
        run(folder, "--project", team.pk, "--user", viewer.username)
    with pytest.raises(CommandError, match="not a member of project"):
        run(folder, "--project", team.pk, "--user", stranger.username)
    with pytest.raises(CommandError, match="No active user"):
        run(folder, "--project", team.pk, "--user", "nobody-here")
    with pytest.raises(CommandError, match="is not a folder"):
        run(folder / "obama.jpg", "--project", team.pk, "--user", user.username)
    assert not Session.objects.filter(project=team).exists() and queued == []
