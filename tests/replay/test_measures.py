"""Measures beyond the seven probabilities, from rows built in the database: head pose per person
(looking away, mean |yaw| and |pitch|) and blinks / eye closures (docs/measures.md), on the page, in the
people CSV, with the quality switch, and "not available" with its reason."""

from __future__ import annotations

import csv
import io

import pytest

from people.models import Person
from sessions_app import measures
from sessions_app.models import AnalysisRun, EyeEvent, Observation, Session
from sessions_app.selectors import session_people
from tests.replay.conftest import add_observations
from tests.streamed import read_body

# (frame, yaw, pitch, quality): the last face is below the quality bar (0.25)
POSES = [(0, 0.0, 0.0, 0.9), (1, 35.0, 0.0, 0.9), (2, -10.0, 25.0, 0.9), (3, 10.0, -5.0, 0.9), (4, -50.0, 50.0, 0.1)]


@pytest.fixture
def posed(user):
    """Alice at 5 fps in five frames with the head poses of POSES; her current run measured blinks over
    30 s: blinks at 1.0 s and 2.0 s, one at 3.0 s on a face below the bar, an eye closure at 5.0-5.8 s."""
    session = Session.objects.create(
        owner=user, title="Posed", status=Session.Status.DONE, progress=1.0, duration=1.0, sample_fps=5.0
    )
    run = AnalysisRun.objects.create(
        session=session, status=AnalysisRun.Status.DONE, model_versions={"eyes": "measured"}
    )
    session.current_run = run
    session.save(update_fields=["current_run"])
    alice = Person.objects.create(owner=user, number=1, name="Alice")
    track = add_observations(session, alice, [(f, "happy", 0.8, 0.5) for f, *_ in POSES], 0, "0:1")
    track.run, track.eye_seconds = run, 30.0
    track.save(update_fields=["run", "eye_seconds"])
    for f, yaw, pitch, quality in POSES:
        Observation.objects.filter(track=track, frame_index=f).update(yaw=yaw, pitch=pitch, quality=quality, run=run)
    for kind, start, end, quality in [
        ("blink", 1.0, 1.2, 0.9),
        ("blink", 2.0, 2.16, 0.9),
        ("blink", 3.0, 3.2, 0.1),
        ("closure", 5.0, 5.8, 0.9),
    ]:
        EyeEvent.objects.create(
            session=session,
            run=run,
            track=track,
            kind=kind,
            start_frame=int(start * 25),
            end_frame=int(end * 25) - 1,
            start=start,
            end=end,
            quality=quality,
        )
    session.alice = alice
    return session


def test_head_pose_counts_reliable_faces_only_unless_asked(posed):
    (alice,) = session_people(posed)
    # reliable: yaw 0, 35, -10, 10 and pitch 0, 0, 25, -5: two of four away (35 deg yaw, 25 deg pitch)
    assert alice["looking_away_share"] == pytest.approx(0.5)
    assert alice["mean_abs_yaw"] == pytest.approx(13.75)
    assert alice["mean_abs_pitch"] == pytest.approx(7.5)
    (everyone,) = session_people(posed, include_unreliable=True)
    assert everyone["looking_away_share"] == pytest.approx(0.6)
    assert everyone["mean_abs_yaw"] == pytest.approx(21.0)
    assert everyone["mean_abs_pitch"] == pytest.approx(16.0)


def test_blinks_per_person_leave_out_faces_below_the_bar(posed):
    eyes = measures.eyes_by_person(posed)[posed.alice.pk]
    assert eyes == {
        "seconds": 30.0,
        "blinks": 2,
        "blinks_per_minute": pytest.approx(4.0),
        "closures": [(5.0, pytest.approx(0.8))],
    }
    everyone = measures.eyes_by_person(posed, include_unreliable=True)[posed.alice.pk]
    assert (everyone["blinks"], everyone["blinks_per_minute"]) == (3, pytest.approx(6.0))


def test_people_csv_and_page_show_the_measures(auth_client, posed):
    r = auth_client.get(f"/sessions/{posed.pk}/export/people.csv?all=0")
    (row,) = list(csv.DictReader(io.StringIO(read_body(r).decode())))
    assert (row["looking_away_share"], row["mean_abs_yaw"], row["mean_abs_pitch"]) == ("0.5", "13.75", "7.5")
    assert (row["blinks"], row["blinks_per_minute"], row["eye_closures"], row["eyes"]) == ("2", "4.0", "1", "measured")
    assert row["eye_closure_times"] == "5.00+0.80"  # start + duration, seconds
    page = auth_client.get(f"/sessions/{posed.pk}/people/").content.decode()
    assert '<span class="looking-away">50%</span>' in page
    assert '<span class="abs-yaw">13.8</span>' in page and '<span class="abs-pitch">7.5</span>' in page
    assert '<span class="blinks">2</span>' in page and '<span class="blink-rate">4.0</span>' in page
    assert "5.0 s for 0.8 s" in page
    # counting every face: the blink on the face below the bar and the turned-away face count too
    page = auth_client.get(f"/sessions/{posed.pk}/people/?all=1").content.decode()
    assert '<span class="blinks">3</span>' in page and '<span class="looking-away">60%</span>' in page


def test_blinks_not_available_says_why(auth_client, posed):
    reason = "the video has 10 frames per second; blinks (100-400 ms) need 15 or more"
    AnalysisRun.objects.filter(pk=posed.current_run_id).update(model_versions={"eyes": reason})
    EyeEvent.objects.filter(session=posed).delete()
    posed.tracks.update(eye_seconds=None)
    posed.refresh_from_db()
    assert measures.eyes_by_person(posed) == {}
    page = auth_client.get(f"/sessions/{posed.pk}/people/").content.decode()
    assert f'<span class="blinks-unavailable">not available: {reason}</span>' in page
    r = auth_client.get(f"/sessions/{posed.pk}/export/people.csv")
    (row,) = list(csv.DictReader(io.StringIO(read_body(r).decode())))
    assert row["blinks"] == "" and row["eyes"] == f"not available: {reason}"


def test_valence_and_arousal_estimate_on_the_card_and_in_the_exports(auth_client, posed):
    """Alice's faces are 0.8 happy, the other six classes 0.2 / 6 each: the estimate is the published
    places (2 x lexicon score - 1) weighted by those probabilities."""
    rest = 0.2 / 6
    valence = 0.8 * 0.92 + rest * (-0.666 - 0.896 - 0.854 - 0.896 + 0.75 - 0.062)
    arousal = 0.8 * 0.464 + rest * (0.73 + 0.55 + 0.68 - 0.424 + 0.75 - 0.632)
    (alice,) = session_people(posed)
    assert (alice["valence_estimate"], alice["arousal_estimate"]) == pytest.approx((valence, arousal))
    page = auth_client.get(f"/sessions/{posed.pk}/people/").content.decode()
    assert 'Derived estimate: valence <span class="valence">+0.65</span>' in page
    assert '<span class="arousal">+0.43</span>' in page
    (row,) = list(
        csv.DictReader(io.StringIO(read_body(auth_client.get(f"/sessions/{posed.pk}/export/people.csv")).decode()))
    )
    assert (row["valence_estimate"], row["arousal_estimate"]) == (f"{valence:.4f}", f"{arousal:.4f}")
    rows = list(
        csv.DictReader(
            io.StringIO(read_body(auth_client.get(f"/sessions/{posed.pk}/export/observations.csv")).decode())
        )
    )
    assert len(rows) == len(POSES) and {(r["valence_estimate"], r["arousal_estimate"]) for r in rows} == {
        (f"{valence:.4f}", f"{arousal:.4f}")
    }
    api = auth_client.get(f"/api/sessions/{posed.pk}/people/").json()
    assert api[0]["valence_estimate"] == pytest.approx(valence)
