"""Honest output: face quality and uncertainty on every observation; faces below the quality bar are
shaded, left out of means, summaries and digests by default (``?all=1`` counts them), flagged in the
exports; rows stored before quality was measured count as reliable."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inference.classes import EMOTIONS
from sessions_app.models import Observation, Session
from sessions_app.reliability import quality_bar
from sessions_app.selectors import session_people, timeline
from summaries.digest import build_digest
from tests.streamed import read_body

HAPPY, SAD = EMOTIONS.index("happy"), EMOTIONS.index("sad")
REPO = Path(__file__).resolve().parents[2]


def test_blurred_or_tiny_face_is_flagged(user):
    """The engine scores each face (size, blur, pose, detection); stored rows keep the score."""
    from inference.pipeline import Analyzer

    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data") / "media" / "obama.jpg"
    if not base.is_file():
        pytest.skip("shared test media not found (set EMOTION_DATA_DIR)")
    img = np.asarray(Image.open(base).convert("RGB"))
    variants = {
        "sharp": img,
        "blurred": cv2.GaussianBlur(img, (0, 0), 6),
        "tiny": cv2.resize(img, None, fx=0.1, fy=0.1, interpolation=cv2.INTER_AREA),  # a ~36 px face
    }
    faces = {}
    for name, image in variants.items():
        res = Analyzer(device="cpu", detect_every=1).process(image, 0, 0.0)
        assert len(res.faces) == 1, name
        faces[name] = res.faces[0]
        assert 0.0 <= faces[name].uncertainty <= 1.0
        assert faces[name].to_dict()["quality"] == faces[name].quality
    assert faces["sharp"].quality >= 0.9
    assert faces["blurred"].quality < quality_bar() and faces["tiny"].quality < quality_bar()

    session = Session.objects.create(owner=user, title="q", status=Session.Status.DONE, sample_fps=5.0)
    track = session.tracks.create(key="0:1")
    for i, name in enumerate(variants):
        Observation.from_face(session, track.pk, i, i / 5, faces[name]).save()
    rows = list(session.observations.order_by("frame_index").values_list("quality", "uncertainty"))
    assert [q for q, _ in rows] == [faces[n].quality for n in variants]
    assert session_people(session)[0]["reliable_frames"] == 1  # only the sharp face counts


def test_timeline_shades_and_leaves_out_low_quality(mixed_session):
    data = timeline(mixed_session)
    points = data["people"][0]["points"]
    assert [p["low"] for p in points] == [0] * 4 + [1] * 4 + [0] * 2
    assert all(p["faces"] == 1 for p in points)
    assert [p["probabilities"] is None for p in points] == [False] * 4 + [True] * 4 + [False] * 2
    assert points[5]["attention"] is None and data["everyone"][5]["probabilities"] is None
    summary = data["summary"][0]
    assert summary["frames"] == 10 and summary["reliable_share"] == pytest.approx(0.6)
    assert summary["probabilities"]["happy"] == pytest.approx(0.8)  # the sad, blurred frames left out
    assert summary["dominant"] == "happy" and summary["attention"] == pytest.approx(0.6)

    everything = timeline(mixed_session, include_unreliable=True)
    pts = everything["people"][0]["points"]
    assert pts[5]["probabilities"][SAD] == pytest.approx(0.9) and pts[5]["low"] == 1  # counted, still shaded
    assert everything["summary"][0]["probabilities"]["sad"] == pytest.approx((4 * 0.9 + 6 * 0.2 / 6) / 10)


def test_session_page_and_api_toggle(auth_client, api, mixed_session):
    page = auth_client.get(f"/sessions/{mixed_session.pk}/").content.decode()
    assert "60% of it judged reliable" in page and 'href="?all=1"' in page
    row = session_people(mixed_session)[0]
    assert row["dominant"] == "happy" and row["probabilities"]["sad"] == pytest.approx(0.2 / 6)
    assert session_people(mixed_session, include_unreliable=True)[0]["probabilities"]["sad"] == pytest.approx(
        (4 * 0.9 + 6 * 0.2 / 6) / 10
    )
    page_all = auth_client.get(f"/sessions/{mixed_session.pk}/?all=1").content.decode()
    assert "Count reliable faces only" in page_all

    base = f"/api/sessions/{mixed_session.pk}"
    default = api.get(f"{base}/people/").json()[0]
    counted = api.get(f"{base}/people/?all=1").json()[0]
    assert default["reliable_share"] == pytest.approx(0.6) and counted["reliable_share"] == pytest.approx(0.6)
    assert default["probabilities"]["sad"] < 0.1 < counted["probabilities"]["sad"]
    t_default = api.get(f"{base}/timeline/?all=0").json()  # the choice above is remembered: say it
    t_all = api.get(f"{base}/timeline/?all=1").json()
    assert t_default["include_unreliable"] is False and t_all["include_unreliable"] is True
    assert t_default["people"][0]["points"][4]["probabilities"] is None
    assert t_all["people"][0]["points"][4]["probabilities"][SAD] == pytest.approx(0.9)


def _cards(html: str) -> str:
    """The page's people cards block (templates/sessions/_people.html)."""
    start = html.index('<div id="session-people">')
    return html[start : html.index("</div>", start) + len("</div>")]  # the block holds no other <div>


def test_people_cards_alone_match_the_page_and_remember_the_choice(auth_client, mixed_session):
    """What the replay swaps in when its quality box changes: the page's own cards for that choice,
    which the page then shows on a reload without ``all`` (the one remembered switch)."""
    url = f"/sessions/{mixed_session.pk}/"
    counted = auth_client.get(f"{url}people/?all=1").content.decode()
    assert "Count reliable faces only" in counted
    assert counted.strip() == _cards(auth_client.get(url).content.decode()).strip()
    assert 'A new summary counts <span id="summary-counts-what"' in auth_client.get(url).content.decode()
    reliable = auth_client.get(f"{url}people/?all=0").content.decode()
    assert "Include them" in reliable and reliable != counted
    assert reliable.strip() == _cards(auth_client.get(url).content.decode()).strip()


def test_exports_flag_low_quality(auth_client, mixed_session):
    url = f"/sessions/{mixed_session.pk}/export/observations"
    body = read_body(auth_client.get(f"{url}.csv")).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["reliable"] for r in rows] == ["True"] * 4 + ["False"] * 4 + ["True"] * 2
    assert [r["quality"] for r in rows[3:5]] == ["0.9", "0.1"] and rows[9]["quality"] == ""
    js = json.loads(read_body(auth_client.get(f"{url}.json")))
    assert [r["reliable"] for r in js][3:5] == [True, False] and js[9]["quality"] is None

    people = f"/sessions/{mixed_session.pk}/export/people.csv"
    alice = next(csv.DictReader(io.StringIO(read_body(auth_client.get(people)).decode())))
    assert float(alice["reliable_share"]) == pytest.approx(0.6) and alice["counted"] == "reliable faces"
    assert float(alice["happy"]) == pytest.approx(0.8)
    alice_all = next(csv.DictReader(io.StringIO(read_body(auth_client.get(people + "?all=1")).decode())))
    assert alice_all["counted"] == "all faces" and float(alice_all["sad"]) > 0.3


def test_digest_leaves_out_low_quality(mixed_session):
    assert build_digest(mixed_session).people[0].frames == 6
    assert build_digest(mixed_session, include_unreliable=True).people[0].frames == 10


def test_weights_version_on_page_and_exports(auth_client, mixed_session):
    mixed_session.model_versions = {"emotion": "2026.11-vgg-s-plain", "detector": "hog"}
    mixed_session.save(update_fields=["model_versions"])
    page = auth_client.get(f"/sessions/{mixed_session.pk}/").content.decode()
    assert "<code>2026.11-vgg-s-plain</code>" in page
    url = f"/sessions/{mixed_session.pk}/export/"
    rows = list(csv.DictReader(io.StringIO(read_body(auth_client.get(url + "observations.csv")).decode())))
    assert {r["weights_version"] for r in rows} == {"2026.11-vgg-s-plain"}
    people = read_body(auth_client.get(url + "people.csv")).decode()
    assert next(csv.DictReader(io.StringIO(people)))["weights_version"] == "2026.11-vgg-s-plain"


def test_summary_toggle_counts_low_quality(auth_client, api, mixed_session, user, django_capture_on_commit_callbacks):
    from summaries.models import Summary
    from summaries.services import run_summary

    with django_capture_on_commit_callbacks(execute=False):
        auth_client.post(f"/sessions/{mixed_session.pk}/summaries/", {"backend": "heuristic"})
        auth_client.post(f"/sessions/{mixed_session.pk}/summaries/", {"backend": "heuristic", "all": "1"})
        r = api.post(
            f"/api/sessions/{mixed_session.pk}/summaries/",
            {"backend": "heuristic", "include_unreliable": True},
            format="json",
        )
    assert r.status_code == 201 and r.json()["include_unreliable"] is True
    default, counted, via_api = Summary.objects.filter(session=mixed_session).order_by("pk")
    assert (default.include_unreliable, counted.include_unreliable, via_api.include_unreliable) == (False, True, True)
    for s in (default, counted):
        assert run_summary(s.pk) == "done"
        s.refresh_from_db()
    assert "sad 90%" in counted.text and "sad" not in default.text  # the blurred sad frames left out
    assert "mean 80%" in default.text
