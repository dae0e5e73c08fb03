"""Roles and isolation of a study (through the real API and page), and its downloads: the long CSV streams
session by session, names only on request, the comparison CSV carries the same figures, and the ELAN file
reads back through pympi's own reader."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from pympi import Elan

from audit.models import AuditEntry
from people.models import Person
from projects.models import Membership, Project
from sessions_app.models import Marker, Session
from studies import exports
from studies.models import Condition, Participant, ParticipantLink
from studies.services import compare
from studies.services.aggregate import DERIVED
from tests.streamed import read_body

API = "/api/projects/{}/study/"


@pytest.fixture
def two(study):
    rng = np.random.default_rng(5)
    s1 = study.add_session("alpha", 4, 5, rng, ["P01", "P02"])
    s2 = study.add_session("beta", 4, 5, rng, ["P01", "P02"])
    study.condition("A", (s1, None, None))
    study.condition("B", (s2, None, None), (s1, 1.0, 2.0))
    Marker.objects.create(session=s1, author=study.owner, time=1.5, note="stim")
    return study, s1, s2


def post(client, url, data, method="post"):
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")


def test_roles_viewer_compares_and_exports_but_cannot_edit(two):
    study, s1, s2 = two
    base = API.format(study.project.pk)
    viewer, analyst, stranger = study.client("viewer"), study.client("analyst"), study.client("stranger")
    reads = [
        "",
        "comparison/?conditions=A,B",
        "lines/",
        "event-locked/?event=stim",
        "export/comparison.csv?conditions=A",
    ]
    for url in [*reads, "export/observations.csv", f"export/sessions/{s1.pk}.eaf"]:
        assert viewer.get(base + url).status_code == 200, url
        assert stranger.get(base + url).status_code == 404, url
    edits = [
        ("participants/", {"code": "P99"}, "post"),
        (f"participants/{study.participants['P01'].pk}/", {"note": "x"}, "patch"),
        ("conditions/", {"label": "C"}, "post"),
        ("assignments/", {"condition": "A", "session": s2.pk}, "post"),
        ("baseline/", {"mode": "first", "first_seconds": 2}, "put"),
    ]
    for url, data, method in edits:
        assert post(viewer, base + url, data, method).status_code == 403, url
        assert post(stranger, base + url, data, method).status_code == 404, url
    assert not Participant.objects.filter(code="P99").exists() and not Condition.objects.filter(label="C").exists()
    for url, data, method in edits:
        assert post(analyst, base + url, data, method).status_code in (200, 201), url
    assert Participant.objects.get(project=study.project, code="P99")
    # names: only for roles that may change people; codes otherwise, even in the overview
    assert viewer.get(base + "export/observations.csv?names=1").status_code == 403
    assert b"Real Name" not in viewer.get(base).content and b"Real Name" in analyst.get(base).content
    # the page: the viewer sees the study but no edit control; the server refuses the edit anyway
    page = viewer.get(f"/projects/{study.project.pk}/study/")
    assert page.status_code == 200 and b"P01" in page.content and b'name="what"' not in page.content
    assert b'name="what"' in analyst.get(f"/projects/{study.project.pk}/study/").content
    r = viewer.post(f"/projects/{study.project.pk}/study/edit/", {"what": "add_condition", "label": "Z"})
    assert r.status_code == 403 and not Condition.objects.filter(label="Z").exists()


def test_isolation_and_unique_codes(two):
    study, s1, s2 = two
    other = Project.objects.create(name="Elsewhere")
    Membership.objects.create(project=other, user=study.stranger, role="owner")
    c = study.client("stranger")
    # the same code may exist in another project; never twice in one
    assert post(c, API.format(other.pk) + "participants/", {"code": "P01"}).status_code == 201
    again = post(c, API.format(other.pk) + "participants/", {"code": "P01"})
    assert again.status_code == 400 and "already used" in again.json()["detail"]
    # another project's objects are unknown here: its person, session, participant ids give 404 / 400
    mine = study.client("owner")
    foreign = Participant.objects.get(project=other, code="P01")
    assert (
        post(mine, API.format(study.project.pk) + f"participants/{foreign.pk}/", {"note": "x"}, "patch").status_code
        == 404
    )
    stranger_person = Person.objects.create(owner=study.stranger, project=other, number=1, name="Theirs")
    r = post(c, API.format(other.pk) + f"participants/{foreign.pk}/", {"link_person": study.people["P01"].pk}, "patch")
    assert r.status_code == 400 and "No such person" in r.json()["detail"]
    post(c, API.format(other.pk) + "conditions/", {"label": "X"})
    r = post(c, API.format(other.pk) + "assignments/", {"condition": "X", "session": s1.pk})
    assert r.status_code == 400 and "No such session" in r.json()["detail"]
    overview = mine.get(API.format(study.project.pk)).json()
    assert [p["code"] for p in overview["participants"]] == ["P01", "P02", "P03", "P04"]
    assert [cond["label"] for cond in overview["conditions"]] == ["A", "B"]
    assert ParticipantLink.objects.filter(person=stranger_person).count() == 0
    # bad input: clear messages, no stack trace
    for url, data, words in (
        ("participants/", {"code": "no spaces!"}, "participant code is"),
        ("conditions/", {"label": "a,b"}, "without ','"),
        ("assignments/", {"condition": "A", "session": s1.pk, "start": 5, "end": 2}, "after the start"),
        ("assignments/", {"condition": "A", "session": s1.pk, "start": 5}, "both a start and an end"),
        ("baseline/", {"mode": "markers"}, "start and an end marker"),
    ):
        r = post(mine, API.format(study.project.pk) + url, data, "put" if "baseline" in url else "post")
        assert r.status_code == 400 and words in r.json()["detail"], (url, r.content)
    r = mine.get(API.format(study.project.pk) + "comparison/?conditions=A&resamples=many")
    assert r.status_code == 400 and "whole numbers" in r.json()["detail"]


def rows_of(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_long_csv_streams_with_codes(two, monkeypatch):
    study, s1, s2 = two
    r = study.client("viewer").get(API.format(study.project.pk) + "export/observations.csv")
    assert isinstance(r, StreamingHttpResponse) and r["Content-Type"].startswith("text/csv")
    rows = rows_of(read_body(r))
    assert len(rows) == 2 * 2 * 20  # two sessions x two people x 20 frames, unreliable ones flagged, not dropped
    assert {row["participant"] for row in rows} == {"P01", "P02"} and "person_name" not in rows[0]
    assert set(DERIVED) <= set(rows[0])  # the valence/arousal estimate, where inference.affect exists
    assert b"Real Name" not in read_body(
        study.client("viewer").get(API.format(study.project.pk) + "export/observations.csv")
    )
    at = {(row["session"], row["participant"], row["time"]): row for row in rows}
    assert at[(str(s1.pk), "P01", "1.2")]["condition"] == "A|B" and at[(str(s1.pk), "P01", "3.0")]["condition"] == "A"
    f = next(f for f in study.frames if f.session.pk == s1.pk and f.person == study.people["P01"])
    assert float(at[(str(s1.pk), "P01", "0.4")]["happy"]) == pytest.approx(f.values[2, 3], abs=1e-4)
    assert at[(str(s1.pk), "P01", "0.4")]["reliable"] == str(bool(f.quality[2] >= 0.3))
    named = rows_of(
        read_body(study.client("analyst").get(API.format(study.project.pk) + "export/observations.csv?names=1"))
    )
    assert {row["person_name"] for row in named} == {"Real Name 1", "Real Name 2"}
    assert AuditEntry.objects.filter(
        action="exported", detail=f"project-{study.project.pk}-study-observations.csv"
    ).exists()
    # it streams: the first row comes after one session's query, before the next session is read
    monkeypatch.setattr(exports, "CHUNK", 5)
    with CaptureQueriesContext(connection) as queries:
        gen = exports.long_rows(study.project)
        first = next(gen)
        before = [q["sql"] for q in queries.captured_queries if "sessions_app_observation" in q["sql"]]
        rest = list(gen)
    after = [q["sql"] for q in queries.captured_queries if "sessions_app_observation" in q["sql"]]
    assert first["session"] == s1.pk and len(rest) == 79
    assert len(before) == 1 and str(s2.pk) not in before[0].split("WHERE")[1].split("AND")[0]
    assert len(after) == 2  # one cursor per session, read in chunks


def test_comparison_csv_matches_the_api(two):
    study = two[0]
    base = API.format(study.project.pk)
    c = study.client("viewer")
    api = c.get(base + "comparison/?conditions=A,B&measures=happy,attention&resamples=500&seed=3").json()
    rows = rows_of(
        read_body(c.get(base + "export/comparison.csv?conditions=A,B&measures=happy,attention&resamples=500&seed=3"))
    )
    across = {(r["condition"], r["measure"]): r for r in rows if r["level"] == "across"}
    for cond in api["conditions"]:
        for m in ("happy", "attention"):
            row, a = across[(cond["condition"], m)], cond["across"][m]
            assert float(row["mean"]) == pytest.approx(a["mean"], abs=1e-6)
            assert float(row["ci_low"]) == pytest.approx(a["ci_low"], abs=1e-6)
            assert int(row["n_frames"]) == a["n_frames"] and int(row["n_participants"]) == 2
    paired = [r for r in rows if r["level"] == "paired"]
    assert {r["condition"] for r in paired} == {"B - A"} and len(paired) == 2
    assert {r["participant"] for r in rows if r["level"] == "participant"} == {"P01", "P02"}
    assert compare.options(["happy"]).measures == ["happy"]


def test_elan_round_trip(two, tmp_path):
    study, s1, s2 = two
    Session.objects.filter(pk=s1.pk).update(playable=f"sessions/{s1.pk}/playable.mp4", playable_format="mp4")
    r = study.client("viewer").get(API.format(study.project.pk) + f"export/sessions/{s1.pk}.eaf?all=1")
    assert r.status_code == 200 and isinstance(r, StreamingHttpResponse)
    path = tmp_path / "s1.eaf"
    path.write_bytes(read_body(r))
    eaf = Elan.Eaf(str(path))
    assert set(eaf.get_tier_names()) == {"P01", "P02", "markers"}
    assert [(a, b, v) for a, b, v in eaf.get_annotation_data_for_tier("markers")] == [(1500, 1700, "stim")]
    # the dominant emotion of every frame is the value of the interval that covers it
    from inference.classes import EMOTIONS

    f = next(f for f in study.frames if f.session.pk == s1.pk and f.person == study.people["P01"])
    intervals = sorted(eaf.get_annotation_data_for_tier("P01"))
    assert intervals[0][0] == 0 and intervals[-1][1] == 4000
    for t, values in zip(f.time, f.values, strict=True):
        ms = int(round(t * 1000))
        covering = [v for a, b, v in intervals if a <= ms < b]
        assert covering == [EMOTIONS[int(np.argmax(values[:7]))]], t
    linked = eaf.get_linked_files()
    assert [(d["MEDIA_URL"], d["MIME_TYPE"]) for d in linked] == [
        (f"http://testserver/sessions/{s1.pk}/media/playable/", "video/mp4")
    ]
    assert AuditEntry.objects.filter(action="exported", detail=f"session-{s1.pk}.eaf").exists()


def test_page_edits_and_their_messages(two):
    study, s1, s2 = two
    c = study.client("analyst")
    url = f"/projects/{study.project.pk}/study/edit/"
    extra = Person.objects.create(owner=study.owner, project=study.project, number=9)
    p3 = study.participants["P03"]
    for data in (
        {"what": "link_person", "participant": p3.pk, "person": extra.pk},
        {"what": "assign", "condition": "A", "session": s2.pk, "start": "0.5", "end": "1.5"},
        {"what": "baseline", "mode": "first", "op": "divide", "first_seconds": "1.5"},
    ):
        r = c.post(url, data, follow=True)
        assert r.status_code == 200 and b"Saved." in r.content, data
    assert ParticipantLink.objects.get(person=extra).participant == p3
    assert list(s2.study_conditions.filter(condition__label="A").values_list("start", "end")) == [(0.5, 1.5)]
    settings = study.project.study_settings
    assert (settings.mode, settings.op, settings.first_seconds) == ("first", "divide", 1.5)
    r = c.post(url, {"what": "assign", "condition": "A", "session": s2.pk, "start": "3", "end": "x"}, follow=True)
    assert b"The end must be a number of seconds." in r.content and b"Traceback" not in r.content
    r = c.post(url, {"what": "drop_tables"}, follow=True)
    assert b"Unknown change." in r.content


def test_api_refuses_what_its_schema_refuses(two):
    """The bounds the OpenAPI schema states are the server's: values outside get a JSON 400, forms a 415."""
    study, s1, _ = two
    base = API.format(study.project.pk)
    owner = study.client("owner")
    assert owner.get(base + "comparison/?conditions=A,B&all=maybe").status_code == 400
    assert owner.get(base + "lines/?baseline=2").status_code == 400
    assert owner.get(base + "lines/?resamples=99").status_code == 400
    assert owner.get(base + "lines/?seed=-1").status_code == 400
    assert owner.get(base + "lines/?measures=joy, sad").status_code == 400
    assert owner.get(base + "event-locked/?event=stim&window=121").status_code == 400
    assert owner.get(base + "export/observations.csv?names=perhaps").status_code == 400
    assert owner.get(base + f"export/sessions/{s1.pk}.eaf?all=x").status_code == 400
    r = post(owner, base + "baseline/", {"mode": "first", "first_seconds": 1.79e308}, "put")
    assert r.status_code == 400 and "first_seconds" in r.json()
    r = owner.put(base + "baseline/", data="mode=none", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    assert post(owner, base + "baseline/", {"mode": "first", "start_label": 5}, "put").status_code == 400
    assert post(owner, base + "participants/", {"code": " P09"}).status_code == 400
    assert post(owner, base + "conditions/", {"label": "x,y"}).status_code == 400
    # inside the bounds: accepted, and the values arrive
    r = post(owner, base + "baseline/", {"mode": "first", "first_seconds": 3600}, "put")
    assert r.status_code == 200 and r.json()["first_seconds"] == 3600
    assert owner.get(base + "lines/?measures=&resamples=100&seed=0&all=true&baseline=0").status_code == 200
