"""Blinks and eye closures on every source frame between the sampled ones (inference.blinks)."""

from __future__ import annotations

import pytest

from inference import blinks, media
from inference.pipeline import analyze_video

# Blinks of talking_face_tpsmm_driving.mp4 (25 fps, one face), by source frame: first closed .. last closed.
# How they were found: eye visibility and the eye aspect ratio were computed on all 169 frames (landmarks
# on every frame, detection every 10th), every dip was cropped around the eyes, enlarged and looked at:
# lids seen shut on 20-22 (19 half shut), 58-61 (57 and 62 half), 92-94 (91 half) and 149-156 (the head
# tilts; open again from 157). Frames 43 and 112-113 dip too but show open (smiling) eyes. The EAR of the
# same landmarks stays at 0.21-0.26 on the shut frames, which is why the rule reads pixels.
BLINKS = [(19, 22), (57, 62), (92, 94), (149, 156)]
CLIP = "talking_face_tpsmm_driving.mp4"


@pytest.fixture(scope="module")
def with_eyes(media_dir):
    return analyze_video(media_dir / CLIP, fps=5, eyes=True)


def test_blinks_on_the_clip_match_the_listed_frames(with_eyes):
    assert with_eyes.eyes_unavailable == ""
    (person,) = with_eyes.eyes.values()
    found = [(e.start_frame, e.end_frame) for e in person["events"] if e.kind == "blink"]
    assert len(found) == len(BLINKS), found
    for (start, end), (want_start, want_end) in zip(found, BLINKS, strict=True):
        assert abs(start - want_start) <= 2 and abs(end - want_end) <= 2, (found, BLINKS)
    assert [e for e in person["events"] if e.kind == "closure"] == []
    assert person["seconds"] == pytest.approx(169 / 25, abs=0.2)  # every frame of the face measured
    for e in person["events"]:
        assert 0.1 <= e.duration <= 0.4 and e.start == pytest.approx(e.start_frame / 25)
        assert e.quality is not None  # from the face's sampled frame, for the quality bar


def test_sampled_frames_are_the_grid_frames(with_eyes, media_dir):
    """Measuring the eyes between the sampled frames decodes every frame, but analyses the same ones."""
    grid = [f.index for f in media.iter_frames(media_dir / CLIP, fps=5)]
    assert [f.index for f in with_eyes.frames] == grid
    assert with_eyes.timings["eyes"] > 0


def test_below_15_fps_blinks_are_not_available(media_dir, tmp_path):
    frames = [f.image for f in media.iter_frames(media_dir / CLIP, fps=10, end=1.0)]
    slow = media.write_video(tmp_path / "slow.mp4", frames, fps=10)
    result = analyze_video(slow, fps=5, eyes=True)
    assert result.eyes is None
    assert result.eyes_unavailable == "the video has 10 frames per second; blinks (100-400 ms) need 15 or more"
    assert result.to_dict()["eyes"] is None


def test_event_rule_on_a_constructed_series():
    """Open level 0.25 (running median); closed below 0.2: runs of 1 frame (40 ms, noise), 3 frames with
    a missing frame inside (blink), 12 frames (480 ms: a closure)."""
    values = {f: 0.25 for f in range(100)}
    values[10] = 0.05
    values.update({30: 0.1, 31: 0.1, 33: 0.1})
    del values[32]
    values.update({f: 0.0 for f in range(60, 72)})
    frames = sorted(values)
    events = blinks.detect_events(frames, [values[f] for f in frames], fps=25)
    assert [(e.kind, e.start_frame, e.end_frame) for e in events] == [("blink", 30, 33), ("closure", 60, 71)]
    assert events[1].start == pytest.approx(2.4) and events[1].end == pytest.approx(2.88)
    assert blinks.availability(14.99) and blinks.availability(None) and blinks.availability(25, "image")
    assert blinks.availability(15) == ""
