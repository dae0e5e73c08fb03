"""The live path's engine, in this process: the same results as ``Analyzer`` on the same JPEG frames (also
when the recording moves between processes), the batch path's per-person means, and the owner's people
refreshed during a recording (rename, merge)."""

from __future__ import annotations

import numpy as np
import pytest

from inference.classes import EMOTIONS
from tests.sessions.conftest import CLIP

FPS = 5.0
FIELDS = list(EMOTIONS)


def _jpegs(path, fps: float = FPS, limit: int | None = None) -> list[tuple[float, bytes]]:
    import cv2

    from inference.media import iter_video

    out = []
    for frame in iter_video(path, fps=fps):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        out.append((frame.time, buf.tobytes()))
        if limit is not None and len(out) == limit:
            break
    return out


def _recording(user):
    from live import state as live_state
    from sessions_app.models import Session

    session = Session.objects.create(
        owner=user, title="live", source=Session.Source.LIVE, status=Session.Status.RECEIVING, sample_fps=FPS
    )
    live_state.cleanup(session.pk)
    return session


def _serve(session, seq: int, t: float, jpeg: bytes) -> dict:
    """One frame as the consumer queues it and a live process serves it; the payload pushed to the page."""
    from live import services as live
    from live import state as live_state

    assert live_state.reserve_frame(session.pk)
    live_state.push_frame(session.pk, seq, t, jpeg)
    (payload,) = live.serve_frames(session.pk)
    assert live_state.pending_frames(session.pk) == 0
    return payload


def _observations(session) -> dict[int, np.ndarray]:
    from sessions_app.models import Observation

    rows = (
        Observation.objects.filter(session=session).order_by("frame_index", "slot").values_list("frame_index", *FIELDS)
    )
    out: dict[int, list] = {}
    for index, *probs in rows:
        out.setdefault(index, []).append(probs)
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.django_db(transaction=True)
def test_live_matches_analyzer_on_the_same_jpegs_across_processes(user, media_dir):
    """Frame by frame, the live path equals ``Analyzer`` within 1e-4, also when every third frame is served
    by a process without the recording's engine (it rebuilds it from the state in Redis)."""
    from inference.pipeline import Analyzer, auto_detect_every
    from live import services as live
    from live import state as live_state

    frames = _jpegs(media_dir / CLIP, limit=15)
    session = _recording(user)
    payloads = []
    for seq, (t, jpeg) in enumerate(frames):
        if seq % 3 == 2:
            live.forget_engine(session.pk)  # as if another live process took this frame
        payloads.append(_serve(session, seq, t, jpeg))
    assert [p["seq"] for p in payloads] == list(range(len(frames))), payloads[:3]

    reference = Analyzer(detect_every=auto_detect_every(FPS))
    stored = _observations(session)
    for (t, jpeg), payload in zip(frames, payloads, strict=True):
        expected = reference.process(live.decode_jpeg(jpeg), index=live.slot_index(t, FPS), time=t)
        assert [f.track_id for f in expected.faces] == [f["track"] for f in payload["faces"]]
        for face, got in zip(expected.faces, payload["faces"], strict=True):
            want = np.array([face.probabilities[e] for e in EMOTIONS])
            assert np.abs(want - np.array(got["probabilities"])).max() <= 1e-4
            assert abs(face.attention - got["attention"]) <= 1e-4
            assert list(face.box) == got["box"]
        if expected.faces:
            want = np.array([[f.probabilities[e] for e in FIELDS] for f in expected.faces])
            assert np.abs(stored[expected.index] - want).max() <= 1e-4
    assert sum(len(p["faces"]) for p in payloads) >= len(frames) - 1  # the clip's face, nearly every frame
    assert live_state.seen(session.pk) == {live.slot_index(t, FPS) for t, _ in frames}


@pytest.mark.django_db(transaction=True)
def test_live_per_person_means_match_the_batch_path(user, media_dir):
    """The same recording through the live path (JPEG frames) and the batch path (decoded video): the same
    number of people, per-person mean probabilities within 0.05 (measured: about 0.002)."""
    from inference.pipeline import analyze_video
    from sessions_app.models import Observation

    clip = media_dir / CLIP
    frames = _jpegs(clip)
    session = _recording(user)
    for seq, (t, jpeg) in enumerate(frames):
        _serve(session, seq, t, jpeg)
    batch = analyze_video(clip, fps=FPS)

    rows = Observation.objects.filter(session=session).values_list("track__key", *FIELDS)
    live_people: dict[str, list] = {}
    for key, *probs in rows:
        live_people.setdefault(key, []).append(probs)
    assert len(live_people) == len(batch.summary) >= 1
    live_means = sorted((np.mean(v, axis=0) for v in live_people.values()), key=lambda m: tuple(-m))
    batch_means = sorted(
        (np.array([p.mean_probabilities[e] for e in FIELDS]) for p in batch.summary), key=lambda m: tuple(-m)
    )
    difference = max(float(np.abs(a - b).max()) for a, b in zip(live_means, batch_means, strict=True))
    print(f"live vs batch: {len(live_people)} people, largest per-person mean difference {difference:.4f}")
    assert difference <= 0.05


@pytest.mark.django_db(transaction=True)
def test_people_cache_follows_rename_and_merge_during_a_recording(user, media_dir):
    from inference import identity
    from inference.pipeline import Analyzer, analyze_video
    from live import services as live
    from people import services as people
    from people.models import Person

    clip = media_dir / CLIP
    frames = _jpegs(clip, limit=24)
    # the clip's face as a known person (references taken by the batch path from the same clip)
    analyzer = Analyzer(detect_every=1)
    analyze_video(clip, fps=FPS, end=2.0, analyzer=analyzer)
    refs = [r for t in analyzer.tracker.all_tracks() for r in t.identity_references()]
    refs = identity.merge_references([], refs, k=identity.PERSON_REFERENCES)
    alice = Person.objects.create(owner=user, number=1, name="Alice", embeddings=refs)
    bea = Person.objects.create(owner=user, number=2, name="Bea")
    session = _recording(user)

    def named(seqs) -> list[tuple]:
        return [(f["person_id"], f["person"]) for seq in seqs for f in _serve(session, seq, *frames[seq])["faces"]]

    before = named(range(0, 8))
    assert (alice.pk, "Alice") in before, before
    assert live._PEOPLE[session.project_id].labels[alice.pk] == "Alice"  # cached in the process (per project)

    people.rename_person(alice, "Alicia")
    renamed = named(range(8, 14))
    assert renamed and set(renamed) == {(alice.pk, "Alicia")}, renamed

    people.merge_people(bea, Person.objects.get(pk=alice.pk))  # Alice's references move to Bea; Alice goes
    merged = named(range(14, 24))
    assert merged and set(merged) == {(bea.pk, "Bea")}, merged


@pytest.mark.django_db(transaction=True)
def test_frames_waiting_together_are_served_in_order_and_older_ones_skipped(user, media_dir):
    """Frames that wait together are analysed by sequence number; one older than a frame already analysed
    is skipped, counted and reported, and leaves nothing in flight."""
    from live import services as live
    from live import state as live_state

    frames = _jpegs(media_dir / CLIP, limit=4)
    session = _recording(user)
    for seq in (3, 1, 2):  # arrived out of order, all waiting when the process comes
        assert live_state.reserve_frame(session.pk)
        live_state.push_frame(session.pk, seq, *frames[seq])
    assert [p["seq"] for p in live.serve_frames(session.pk)] == [1, 2, 3]
    late = _serve(session, 0, *frames[0])
    assert late == {"type": "live.stale", "seq": 0, "count": 1}
    assert live_state.stale_count(session.pk) == 1 and live_state.pending_frames(session.pk) == 0
    assert live_state.seen(session.pk) == {live.slot_index(frames[s][0], FPS) for s in (1, 2, 3)}


@pytest.mark.django_db(transaction=True)
def test_recordings_waiting_together_share_one_emotion_batch(user, media_dir, monkeypatch):
    """Two recordings with frames waiting are served by one call in rounds: each round's faces of both go to
    the emotion model in one call, and every result equals serving each recording alone (within 1e-6, the
    results' rounding)."""
    from django.conf import settings

    from inference.pipeline import get_classifier
    from live import services as live
    from live import state as live_state

    ONE_STEP = 1e-6 + 1e-12  # probabilities are rounded to 6 decimals; a batch of 2 may flip the last one
    frames = _jpegs(media_dir / CLIP, limit=6)
    parts = (frames[:3], frames[3:])
    alone = [_recording(user), _recording(user)]
    alone_payloads = [
        [_serve(session, seq, t, jpeg) for seq, (t, jpeg) in enumerate(part)]
        for session, part in zip(alone, parts, strict=True)
    ]

    classifier = get_classifier(settings.EMOTION_WORKER_DEVICE)  # the engines' (one per process)
    batches: list[int] = []
    predict = classifier.predict

    def counting_predict(crops):
        batches.append(len(crops))
        return predict(crops)

    monkeypatch.setattr(classifier, "predict", counting_predict)
    together = [_recording(user), _recording(user)]
    for session, part in zip(together, parts, strict=True):
        for seq, (t, jpeg) in enumerate(part):
            assert live_state.reserve_frame(session.pk)
            live_state.push_frame(session.pk, seq, t, jpeg)
    first = live.serve_frames(together[0].pk)

    assert [p["seq"] for p in first] == [0, 1, 2]
    assert all(live._ENGINES[s.pk].analyzer.classifier is classifier for s in together)
    faces = [[len(p["faces"]) for p in payloads] for payloads in alone_payloads]
    assert min(faces[0]) >= 1 and min(faces[1]) >= 1, faces  # the clip's face in every frame used
    assert batches == [a + b for a, b in zip(*faces, strict=True)]  # one model call per round, both recordings
    for session in together:
        assert live_state.frames_waiting(session.pk) == 0 and live_state.pending_frames(session.pk) == 0
    for payload, reference in zip(first, alone_payloads[0], strict=True):
        assert [f["track"] for f in payload["faces"]] == [f["track"] for f in reference["faces"]]
        for got, want in zip(payload["faces"], reference["faces"], strict=True):
            assert got["box"] == want["box"] and got["emotion"] == want["emotion"]
            assert np.abs(np.array(got["probabilities"]) - np.array(want["probabilities"])).max() <= ONE_STEP
    for batched, reference, part in zip(together, alone, parts, strict=True):
        got, want = _observations(batched), _observations(reference)
        assert sorted(got) == sorted(want) == sorted(live.slot_index(t, FPS) for t, _ in part)
        for index, probs in want.items():
            assert got[index].shape == probs.shape and np.abs(got[index] - probs).max() <= ONE_STEP
        assert live_state.seen(batched.pk) == live_state.seen(reference.pk)
