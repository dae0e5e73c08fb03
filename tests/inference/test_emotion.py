import numpy as np
import pytest
import torch

from inference.classes import EMOTIONS
from inference.emotion import weights
from inference.emotion.classifier import CPU_WEIGHTS, EmotionClassifier, UntrainedWeightsError, face_crop


def test_canonical_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_probabilities(recognizer):
    crops = [np.random.default_rng(i).integers(0, 256, (48, 48), dtype=np.uint8) for i in range(3)]
    p = recognizer.classifier.predict(crops)
    assert p.shape == (3, 7) and np.allclose(p.sum(axis=1), 1, atol=1e-5) and (p >= 0).all()
    out = recognizer.run_on_face(np.full((120, 100, 3), 120, np.uint8))
    assert list(out["probabilities"]) == list(EMOTIONS)
    assert out["emotion"] in EMOTIONS and abs(sum(out["probabilities"].values()) - 1) < 1e-5
    assert out["confidence"] == max(out["probabilities"].values())


def test_face_crop_shape():
    frame = np.random.default_rng(0).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    crop = face_crop(frame, (50, 200, 150, 100))
    assert crop.shape == (48, 48) and crop.dtype == np.uint8


def _write(path, meta, state):
    torch.save(
        {"format": weights.FORMAT, "format_version": weights.FORMAT_VERSION, "metadata": meta, "state_dict": state},
        path,
    )


def test_weights_metadata_checks(tmp_path):
    good = torch.load(CPU_WEIGHTS, map_location="cpu", weights_only=True)
    meta = dict(good["metadata"])
    _write(tmp_path / "classes.pt", {**meta, "classes": sorted(EMOTIONS)}, good["state_dict"])
    with pytest.raises(weights.WeightsError, match="canonical order"):
        weights.load(tmp_path / "classes.pt")
    _write(tmp_path / "arch.pt", {**meta, "architecture": "vgg-m"}, good["state_dict"])
    with pytest.raises(weights.WeightsError, match="does not fit|shape"):
        weights.load(tmp_path / "arch.pt")
    _write(tmp_path / "unknown.pt", {**meta, "architecture": "resnet-9000"}, good["state_dict"])
    with pytest.raises(weights.WeightsError, match="unknown architecture"):
        weights.load(tmp_path / "unknown.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a weights file")
    with pytest.raises(weights.WeightsError):
        EmotionClassifier(tmp_path / "junk.pt", device="cpu")


def test_untrained_refused(tmp_path):
    model = weights.build("vgg-s")
    path = weights.save(tmp_path / "untrained.pt", model, weights.make_metadata("vgg-s"))
    with pytest.raises(UntrainedWeightsError):
        EmotionClassifier(path, device="cpu")
    clf = EmotionClassifier(path, device="cpu", allow_untrained=True)
    assert not clf.trained and clf.predict([np.zeros((48, 48), np.uint8)]).shape == (1, 7)


def test_shipped_weights_are_trained():
    clf = EmotionClassifier(device="cpu")
    assert clf.trained and clf.architecture == "vgg-s"
