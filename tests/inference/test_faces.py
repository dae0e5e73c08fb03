import numpy as np
import pytest

from inference import attention, faces, identity, media
from inference.tracking import Tracker, match_known, merge_tracks


@pytest.fixture(scope="module")
def obama(media_dir):
    img = media.load_image(media_dir / "obama.jpg")
    boxes = faces.detect(img)
    return img, boxes, faces.landmarks(img, boxes)


def test_face_counts(media_dir, obama):
    assert len(obama[1]) == 1
    two = media.load_image(media_dir / "two_people.jpg")
    boxes = faces.detect(two)
    assert len(boxes) == 2 and boxes[0][3] < boxes[1][3]  # left to right
    assert faces.detect(np.full((480, 640, 3), 128, np.uint8)) == []
    assert len(faces.detect(media.load_image(media_dir / "obama2_rgba_32bit.png"))) == 1


def test_small_face_found(media_dir):
    assert len(faces.detect(media.load_image(media_dir / "obama_small.jpg"))) == 1


def test_identity(media_dir, obama):
    img, boxes, _ = obama
    e_obama = faces.embeddings(img, boxes)[0]
    small = media.load_image(media_dir / "obama_small.jpg")
    e_small = faces.embeddings(small, faces.detect(small))[0]
    biden = media.load_image(media_dir / "biden.jpg")
    e_biden = faces.embeddings(biden, faces.detect(biden))[0]
    assert e_obama.shape == (128,)
    assert faces.face_distance(e_obama, e_small) < faces.face_distance(e_obama, e_biden)
    assert identity.decide([e_small], {"barack": [e_obama]}).outcome == identity.SAME
    assert identity.decide([e_biden], {"barack": [e_obama]}).outcome == identity.NEW
    tracks = [{"id": 1, "embedding": e_small.tolist()}, {"id": 2, "embedding": e_biden.tolist()}]
    assert match_known(tracks, {"barack": [e_obama]}) == {1: "barack"}
    merged = merge_tracks(
        [
            {"id": 1, "embedding": e_obama.tolist(), "first_frame": 0, "last_frame": 5},
            {"id": 2, "embedding": e_small.tolist(), "first_frame": 10, "last_frame": 20},
            {"id": 3, "embedding": e_biden.tolist(), "first_frame": 21, "last_frame": 30},
        ]
    )
    assert merged == {1: 1, 2: 1, 3: 3}


def test_pose_frontal_and_mirrored(media_dir, obama):
    img, _, lms = obama
    h, w = img.shape[:2]
    a = attention.analyse(lms[0], w, h)
    assert abs(a.yaw) < 12 and abs(a.pitch) < 20 and abs(a.roll) < 10
    assert 0.15 < a.eye_openness < 0.4 and 0 <= a.score <= 1
    two = media.load_image(media_dir / "two_people.jpg")
    mirrored = np.ascontiguousarray(two[:, ::-1])
    yaw = [attention.analyse(p, two.shape[1], two.shape[0]).yaw for p in faces.landmarks(two, faces.detect(two))]
    yaw_m = [
        attention.analyse(p, two.shape[1], two.shape[0]).yaw for p in faces.landmarks(mirrored, faces.detect(mirrored))
    ]
    # mirrored image: faces appear in reverse left-to-right order, yaw flips sign
    for a, b in zip(yaw, reversed(yaw_m), strict=False):
        assert abs(a) > 8 and np.sign(a) == -np.sign(b) and abs(a + b) < 8


def test_attention_formula():
    assert attention.attention_score(0, 0, 0.3) == 1.0
    assert attention.attention_score(50, 0, 0.3) == 0.0
    assert attention.attention_score(0, 0, 0.05) == 0.0
    assert 0 < attention.attention_score(25, 0, 0.3) < 1


def test_tracker_state_roundtrip():
    import json

    tr = Tracker()
    tr.update([(10, 60, 60, 10)], 0, 0.0, embed=lambda bs: [np.zeros(128)] * len(bs))
    tr.end_frame(0)
    state = json.loads(json.dumps(tr.to_dict()))
    tr2 = Tracker.from_dict(state)
    vis = tr2.update([(12, 62, 62, 12)], 1, 0.04, embed=lambda bs: [np.zeros(128)] * len(bs))
    assert [t.id for t in vis] == [1] and tr2.next_id == 2


def test_tracker_crossing_and_short_miss():
    """Two faces swap places through each other; identities follow the embeddings."""
    rng = np.random.default_rng(1)
    ea, eb = rng.normal(size=128) * 0.1, rng.normal(size=128) * 0.1 + 0.2
    tr = Tracker()

    def step(i, boxes, embs):
        def embed(bs):
            return [embs[boxes.index(b)] for b in bs]

        vis = tr.update(boxes, i, i / 25, embed=embed)
        ids = {t.id: t.box for t in vis}
        tr.end_frame(i)
        return ids

    a0, b0 = (100, 150, 150, 100), (100, 400, 150, 350)
    first = step(0, [a0, b0], [ea, eb])
    id_a = next(k for k, v in first.items() if v == a0)
    id_b = next(k for k, v in first.items() if v == b0)
    # overlapping mid-crossing (ambiguous IoU), then swapped sides
    mid_a, mid_b = (100, 260, 150, 210), (100, 270, 150, 220)
    ids = step(1, [mid_b, mid_a], [eb, ea])
    assert ids[id_a] == mid_a and ids[id_b] == mid_b
    # a short miss: face b not detected for a frame, then back far away: re-identified
    step(2, [mid_a], [ea])
    ids = step(3, [(100, 140, 150, 90), (100, 420, 150, 370)], [eb, ea])
    assert ids[id_b] == (100, 140, 150, 90) and ids[id_a] == (100, 420, 150, 370)
    assert tr.next_id == 3
