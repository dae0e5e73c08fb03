"""Training steps for faces unlike FER-2013: capture degradations, mixed targets with a
cached teacher ensemble, starting from shipped weights, and the framing measurement's geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from inference.classes import EMOTIONS
from inference.emotion import weights as wfile
from inference.emotion.network import build
from tests.training.test_training import make_dataset, tiny_run_args
from training import data as fer
from training import evaluate, framing, targets, train
from training.augment import degrade
from training.metrics import fit_temperature


def _laplacian_energy(x: torch.Tensor) -> float:
    k = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    return float(torch.nn.functional.conv2d(x, k).pow(2).mean())


def test_degrade_softens_detail_and_stays_in_range():
    gen = torch.Generator().manual_seed(0)
    checker = ((torch.arange(48).view(-1, 1) + torch.arange(48).view(1, -1)) % 2).float()
    x = checker.expand(16, 1, 48, 48).clone() * 0.8 + 0.1
    out = degrade(x, generator=gen, p=1.0)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    # every image went through low resolution and blur: a 1 px checkerboard is all but gone
    assert _laplacian_energy(out) < 0.05 * _laplacian_energy(x)
    # p=0 leaves only the exposure change, which keeps the order of pixel values
    kept = degrade(x, generator=torch.Generator().manual_seed(1), p=0.0)
    assert torch.equal(kept > kept.mean(), x > x.mean())
    # reproducible for a seed
    again = degrade(x, generator=torch.Generator().manual_seed(0), p=1.0)
    assert torch.equal(out, again)


def test_mix_targets_weights_and_fallbacks():
    labels = np.array([EMOTIONS.index("happy"), EMOTIONS.index("sad")])
    plus = np.zeros((2, 7), dtype=np.float32)
    plus[0, EMOTIONS.index("neutral")] = 1.0  # annotators said neutral
    usable = np.array([True, False])  # the second image's votes were unknown / no face
    teacher = np.full((2, 7), 1 / 7, dtype=np.float32)
    mixed = targets.mix_targets(labels, plus, usable, teacher, (0.4, 0.3, 0.3))
    np.testing.assert_allclose(mixed.sum(axis=1), 1, atol=1e-6)
    assert mixed[0, EMOTIONS.index("happy")] == pytest.approx(0.4 + 0.3 / 7)
    assert mixed[0, EMOTIONS.index("neutral")] == pytest.approx(0.3 + 0.3 / 7)
    assert mixed[1, EMOTIONS.index("sad")] == pytest.approx(0.7 + 0.3 / 7)  # FER+ share back to the label
    alone = targets.mix_targets(labels, None, None, None, (0.4, 0.3, 0.3))
    np.testing.assert_array_equal(alone, np.eye(7, dtype=np.float32)[labels])


def _logits(model, images: np.ndarray, norm: dict) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(images)).float().unsqueeze(1) / 255
    with torch.no_grad():
        return model((x - norm["mean"]) / norm["std"])


def test_teacher_probabilities_average_mirrors_and_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_CACHE_DIR", str(tmp_path / "cache"))
    torch.manual_seed(0)
    meta = wfile.make_metadata("vgg-s", temperature=2.0, trained=True)
    path = wfile.save(tmp_path / "t.pt", build("vgg-s"), meta)
    images = np.random.default_rng(0).integers(0, 255, (5, 48, 48), dtype=np.uint8)
    probs = targets.teacher_probs([path, path], images)

    w = wfile.load(path)
    model, norm = w.build_model().float().eval(), w.metadata["normalization"]
    mean_logits = (_logits(model, images, norm) + _logits(model, images[:, :, ::-1], norm)) / 2
    np.testing.assert_allclose(probs, torch.softmax(mean_logits / 2.0, dim=1).numpy(), atol=1e-4)
    assert len(list((tmp_path / "cache").glob("teacher-*.npy"))) == 1
    monkeypatch.setattr(targets, "predict_logits", lambda *a, **k: pytest.fail("the teachers ran again"))
    np.testing.assert_array_equal(targets.teacher_probs([path, path], images), probs)


def test_mixed_run_starts_from_weights_and_calibrates_on_shifted_copy(tmp_path, monkeypatch, capsys):
    root = make_dataset(tmp_path / "data", per_class=6)
    shared = tmp_path / "shared"
    (shared / "ferplus").mkdir(parents=True)
    header = "kaggle_path,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    (shared / "ferplus" / "msambare_to_ferplus.csv").write_text(
        header + "\ntrain/happy/Training_happy0.png,5,5,0,0,0,0,0,0,0,0\n"
    )
    monkeypatch.setenv("EMOTION_DATA_DIR", str(shared))
    monkeypatch.setenv("EMOTION_CACHE_DIR", str(tmp_path / "cache"))
    start = train.main(tiny_run_args(root, tmp_path / "first", epochs=1))

    args = tiny_run_args(root, tmp_path / "second", epochs=1) + [
        "--labels", "mixed", "--mix", "0.5,0.25,0.25", "--teacher", str(start), "--init", str(start),
        "--lr", "0", "--weight-decay", "0", "--degrade", "0.5", "--select", "val_mean",
        "--calibration", "shifted",
    ]  # fmt: skip
    out = wfile.load(train.main(args))
    assert out.metadata["label_source"] == "mixed"
    assert out.metadata["recipe"]["degrade"] == 0.5 and out.metadata["recipe"]["calibration"] == "shifted"
    assert out.metadata["recipe"]["mix"] == [0.5, 0.25, 0.25] and out.metadata["recipe"]["teacher"] == ["emotion.pt"]
    assert {"val_acc", "val_mean", "val_shifted_acc"} <= set(out.metadata["history"][0])
    # a zero learning rate leaves the starting convolutions as they were
    before, after = wfile.load(start).state_dict, out.state_dict
    conv = next(k for k in before if k.endswith("weight") and before[k].dim() == 4)
    assert torch.equal(before[conv], after[conv])

    # the evaluation refits the temperature the way the recipe did: on the validation images and a degraded copy
    results = evaluate.main(["--weights", str(tmp_path / "second" / "emotion.pt"), "--root", str(root)])
    assert results["temperature_validation"] == pytest.approx(out.temperature, rel=1e-3)
    split = fer.read_split(root, "train")
    _, val_idx = fer.stratified_split(split.labels, 0.2, 1)
    norm = out.metadata["normalization"]
    clean = evaluate.validation_logits(out.build_model(), norm, split, val_idx, {}, "cpu", False)
    assert fit_temperature(*clean) != pytest.approx(out.temperature, rel=1e-2)  # the copy made a difference

    for bad in ("0.5,0.5", "a,b,c", "1,-1,1", "0,0,0"):
        with pytest.raises(SystemExit):
            train.parse_args(["--labels", "mixed", "--mix", bad])
    assert "three non-negative weights" in capsys.readouterr().err

    vgg_m = wfile.save(tmp_path / "m.pt", build("vgg-m"), wfile.make_metadata("vgg-m", trained=True))
    with pytest.raises(SystemExit, match="is vgg-m, not vgg-s"):
        train.main(tiny_run_args(root, tmp_path / "third", epochs=1) + ["--init", str(vgg_m)])


def test_similarity_recovers_a_known_transform_and_template_crop_lands_on_it():
    rng = np.random.default_rng(0)
    template = rng.uniform(8, 40, (68, 2))
    angle, scale, shift = math.radians(12), 3.5, np.array([140.0, 90.0])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = (template - 24) @ (scale * rot).T + shift  # the face as it sits in a large frame
    m = framing.similarity(points, template)
    np.testing.assert_allclose(m[:, :2] @ points.T + m[:, 2:], template.T, atol=1e-6)
    frame = np.zeros((300, 300), dtype=np.uint8)
    x, y = points[30].round().astype(int)  # nose tip
    frame[y - 2 : y + 3, x - 2 : x + 3] = 255
    crop = framing.template_crop(frame, points, template)
    cy, cx = np.unravel_index(int(np.argmax(crop)), crop.shape)
    assert abs(cx - template[30, 0]) <= 1.5 and abs(cy - template[30, 1]) <= 1.5
