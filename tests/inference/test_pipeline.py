import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference import media
from inference.classes import EMOTIONS
from inference.pipeline import analyze_image, analyze_video

REPO = Path(__file__).resolve().parents[2]


def test_analyze_images(media_dir):
    one = analyze_image(media_dir / "obama.jpg")
    assert len(one.frames) == 1 and len(one.frames[0].faces) == 1
    face = one.frames[0].faces[0].to_dict()
    assert list(face["probabilities"]) == list(EMOTIONS)
    assert abs(sum(face["probabilities"].values()) - 1) < 1e-4
    assert face["emotion"] in EMOTIONS and 0 <= face["attention"] <= 1
    two = analyze_image(media_dir / "two_people.jpg")
    assert [f.slot for f in two.frames[0].faces] == [0, 1]
    assert two.frames[0].faces[0].box[3] < two.frames[0].faces[1].box[3]
    rgba = analyze_image(media_dir / "obama2_rgba_32bit.png")
    assert len(rgba.frames[0].faces) == 1


def test_api_run_and_show(recognizer, media_dir):
    blank = np.zeros((240, 320, 3), np.uint8)
    assert recognizer.run(blank) == []
    img = media.load_image(media_dir / "two_people.jpg")
    faces = recognizer.run(img)
    assert len(faces) == 2 and json.dumps(faces)
    shown = recognizer.show(img, faces)
    assert shown.shape == img.shape and (shown != img).any()


@pytest.fixture(scope="module")
def talking(media_dir):
    return analyze_video(media_dir / "talking_face_retalking_2.mp4", fps=5)


def test_talking_face_one_track(talking):
    assert 24 <= talking.n_frames <= 26
    assert all(len(f.faces) == 1 for f in talking.frames)
    assert {f.faces[0].track_id for f in talking.frames} == {1}
    assert len(talking.summary) == 1
    s = talking.summary[0]
    assert s.frames == talking.n_frames and abs(s.time_on_screen - 5.0) < 0.3
    assert s.dominant_emotion in EMOTIONS and 0 <= s.mean_attention <= 1
    json.dumps(talking.to_dict())


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "inference", *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=300
    )


def test_cli_outputs(media_dir, tmp_path):
    import av

    out = _cli(
        "analyze",
        media_dir / "talking_face_tpsmm_driving.mp4",
        "--fps",
        "4",
        "--json",
        tmp_path / "r.json",
        "--csv",
        tmp_path / "r.csv",
        "--annotated",
        tmp_path / "a.mp4",
        "--device",
        "cpu",
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "person" in out.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["frames"] and data["people"]
    rows = list(csv.DictReader((tmp_path / "r.csv").open()))
    assert rows and set(EMOTIONS) <= set(rows[0])
    with av.open(str(tmp_path / "a.mp4")) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.format.name == "yuv420p"
        n = sum(1 for _ in c.decode(s))
    assert n == len(data["frames"])


def test_cli_bad_input(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not media")
    out = _cli("analyze", bad)
    assert out.returncode == 2
    assert "notes.txt" in out.stderr and "Traceback" not in out.stderr
