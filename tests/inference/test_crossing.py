"""Within one video two similar-looking people who cross stay two tracks, without swapping identities.

The clip is built at test time into the git-ignored cache (never committed) from two Taiwanese
performers' photos of ``tw-performers.tar.gz``: side by side, they walk across each other and swap
places; the one walking behind is hidden for a few frames at the crossing.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
# The two performers of the set whose neutral photos are closest by dlib distance (0.29, far under the old
# fixed 0.5 threshold), measured once on the whole set.
PHOTOS = ("neutral/0801a02.jpg", "neutral/1801001.jpg")
W, H, FACE, FRAMES, FPS = 600, 260, 160, 32, 10.0


@pytest.fixture(scope="module")
def crossing_clip() -> Path:
    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data")
    archive = base / "tw-performers.tar.gz"
    if not archive.is_file():
        pytest.skip(f"{archive} not found (set EMOTION_DATA_DIR to the shared data folder)")
    cache = Path(os.environ.get("EMOTION_CACHE_DIR") or REPO / ".cache") / "crossing"
    cache.mkdir(parents=True, exist_ok=True)
    clip = cache / "crossing.mp4"
    if clip.is_file():
        return clip
    faces = []
    with tarfile.open(archive) as tar:
        for name in PHOTOS:
            data = tar.extractfile(f"tw-performers/{name}").read()
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            faces.append(cv2.resize(img, (FACE, FACE), interpolation=cv2.INTER_AREA))
    writer = cv2.VideoWriter(str(clip) + ".tmp.mp4", cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    left, right = 20, W - FACE - 20
    for i in range(FRAMES):
        t = min(1.0, max(0.0, (i - 6) / (FRAMES - 12)))  # still, then cross, then still
        frame = np.full((H, W, 3), 200, np.uint8)
        xa, xb = round(left + t * (right - left)), round(right - t * (right - left))
        frame[50 : 50 + FACE, xa : xa + FACE] = faces[0]  # behind
        frame[50 : 50 + FACE, xb : xb + FACE] = faces[1]  # in front
        writer.write(frame)
    writer.release()
    os.replace(str(clip) + ".tmp.mp4", clip)
    return clip


def test_two_look_alikes_crossing_stay_two_tracks(crossing_clip):
    from inference.pipeline import analyze_video

    result = analyze_video(crossing_clip, fps=FPS)
    assert result.n_frames == FRAMES
    assert len(result.summary) == 2, [s.track_ids for s in result.summary]
    paths: dict[int, list[int]] = {}
    for frame in result.frames:
        for face in frame.faces:
            paths.setdefault(face.track_id, []).append((face.box[1] + face.box[3]) // 2)
    assert len(paths) == 2
    starts = sorted(paths, key=lambda k: paths[k][0])
    behind, front = starts  # who started on the left walks behind
    assert paths[behind][0] < W / 2 < paths[behind][-1]  # left to right, never relabelled as the other
    assert paths[front][0] > W / 2 > paths[front][-1]
    for k in paths:  # no jump back: each identity's centre moves one way only (small jitter allowed)
        steps = np.diff(paths[k])
        assert np.all(steps * np.sign(paths[k][-1] - paths[k][0]) > -25), paths[k]
