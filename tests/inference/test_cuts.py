"""Within one video a track never crosses a change of person; one person across cuts stays one person.

The clips are built at test time into the git-ignored cache (never committed) from front-view photos of
``tw-performers.tar.gz``, each photo held 1 s and framed in the same place, so every change of photo is a
hard cut with the face box where the previous face was (shot / reverse shot, participants changing seats).
"""

from __future__ import annotations

import csv
import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
FPS = 3.0  # analysis rate; the clip is written at this rate too (one decoded frame per analysed frame)
HOLD = 3  # frames each photo is held (1 s)


def front_photos(tar: tarfile.TarFile, performer: str, n: int) -> list[np.ndarray]:
    """The first ``n`` front-view photos of one performer (by file name), as RGB arrays."""
    from PIL import Image

    labels = csv.DictReader(io.TextIOWrapper(tar.extractfile("tw-performers/labels.csv"), "utf-8"))
    names = sorted(r["file"] for r in labels if r["performer"] == performer and r["view"] == "1")[:n]
    return [np.asarray(Image.open(tar.extractfile(f"tw-performers/{name}")).convert("RGB")) for name in names]


@pytest.fixture(scope="module")
def cut_clips() -> dict[str, Path]:
    """``alternating``: performer 01, 02, 01, 02 (one photo each); ``one``: four photos of performer 01."""
    from inference.media import write_video

    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data")
    archive = base / "tw-performers.tar.gz"
    if not archive.is_file():
        pytest.skip(f"{archive} not found (set EMOTION_DATA_DIR to the shared data folder)")
    cache = Path(os.environ.get("EMOTION_CACHE_DIR") or REPO / ".cache") / "cuts"
    cache.mkdir(parents=True, exist_ok=True)
    clips = {"alternating": cache / "alternating-01-02.mp4", "one": cache / "one-01.mp4"}
    if all(p.is_file() for p in clips.values()):
        return clips
    with tarfile.open(archive) as tar:
        a, b = front_photos(tar, "01", 4), front_photos(tar, "02", 2)
    sequences = {"alternating": [a[0], b[0], a[1], b[1]], "one": a}
    for key, photos in sequences.items():
        tmp = clips[key].with_suffix(".tmp.mp4")
        write_video(tmp, (p for p in photos for _ in range(HOLD)), fps=FPS)
        os.replace(tmp, clips[key])
    return clips


def test_two_people_alternating_in_the_same_place_are_two_people(cut_clips):
    from inference.pipeline import Analyzer, analyze_video, auto_detect_every

    analyzer = Analyzer(detect_every=auto_detect_every(FPS))
    result = analyze_video(cut_clips["alternating"], fps=FPS, analyzer=analyzer)
    assert result.n_frames == 4 * HOLD
    # which person holds each second of the clip (the merged track ids, after the identity rule)
    holders = []
    for second in range(4):
        ids = {f.track_id for fr in result.frames[second * HOLD : (second + 1) * HOLD] for f in fr.faces}
        assert len(ids) == 1, f"second {second}: faces of {ids}"
        holders.append(ids.pop())
    assert holders[0] != holders[1], "performer 01 and 02 became one person across the cut"
    assert holders[2] != holders[3] and holders[1] != holders[2]
    assert len(result.summary) >= 2
    # no person of the summary holds frames of both performers
    for person in result.summary:
        seconds = {s for s in range(4) if holders[s] == person.track_id}
        assert not ({0, 2} & seconds and {1, 3} & seconds), f"person {person.track_id} holds both performers"
    # and no suggestion offers one performer as the other (what finalize_session would show the owner)
    a, b = {holders[0], holders[2]}, {holders[1], holders[3]}
    for x, y, distance in analyzer.suggestions():
        assert not ({x, y} & a and {x, y} & b), f"performers suggested as one person at {distance}"


def test_one_person_across_cuts_stays_one_person(cut_clips):
    from inference.pipeline import analyze_video

    result = analyze_video(cut_clips["one"], fps=FPS)
    assert result.n_frames == 4 * HOLD
    assert [len(fr.faces) for fr in result.frames] == [1] * (4 * HOLD)
    assert len(result.summary) == 1
    assert result.summary[0].frames == 4 * HOLD


def test_a_descriptor_new_to_its_track_ends_the_track():
    """Without a detected cut (a seat change, a soft cut), a face whose descriptor is NEW to the track's
    references in the same place starts a new track; a descriptor of the same person keeps the track."""
    from inference import identity
    from inference.faces import detect_scored
    from inference.tracking import Tracker

    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data")
    archive = base / "tw-performers.tar.gz"
    if not archive.is_file():
        pytest.skip(f"{archive} not found (set EMOTION_DATA_DIR to the shared data folder)")
    with tarfile.open(archive) as tar:
        a, b = front_photos(tar, "01", 3), front_photos(tar, "02", 1)

    def sample(image):
        (box, score), *_ = detect_scored(image)
        return box, identity.describe(image, [box], [score])[0]

    tracker = Tracker()
    box, first = sample(a[0])
    track = tracker.update([box], 0, 0.0, embed=lambda boxes: [first])[0]
    assert tracker.observe(track, sample(a[1])[1], 1, 0.2) is track  # the same performer: same track
    holder = tracker.observe(track, sample(b[0])[1], 2, 0.4)
    assert holder is not track and holder.first_frame == 2 and holder.visible
    assert track in tracker.finished and not track.visible
    assert [t.id for t in tracker.tracks] == [holder.id]
    assert tracker.observe(holder, sample(a[2])[1], 3, 0.6) is not holder  # and back: another new track
