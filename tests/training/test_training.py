"""Training pipeline: class mapping, FER+ votes, duplicates, metadata checks and a tiny end-to-end run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inference.classes import EMOTIONS, index_of
from inference.emotion import weights as wfile
from inference.emotion.network import build
from training import data as fer
from training import evaluate, train
from training.metrics import expected_calibration_error, fit_temperature, softmax

# FER-2013's folders sort alphabetically; the canonical order is different.
ALPHABETICAL = sorted(["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"])


def make_dataset(root: Path, per_class: int = 4, seed: int = 0) -> Path:
    """A tiny FER-style folder tree; each class gets a distinct brightness so a net can learn it."""
    rng = np.random.default_rng(seed)
    for split, prefix in (("train", "Training"), ("test", "PrivateTest")):
        for name in ALPHABETICAL:
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            level = 20 + 30 * index_of(name)
            for i in range(per_class):
                pixels = np.clip(rng.normal(level, 4, (48, 48)), 0, 255).astype(np.uint8)
                Image.fromarray(pixels).save(folder / f"{prefix}_{name}{i}.png")
    return root


def test_folders_map_to_canonical_order_by_name(tmp_path):
    root = make_dataset(tmp_path, per_class=1)
    mapping = fer.class_folders(root / "train")
    assert list(mapping) == ALPHABETICAL  # folders are alphabetical ...
    assert [mapping[n] for n in ALPHABETICAL] == [0, 1, 2, 3, 6, 4, 5]  # ... and neutral is last, not 5th
    split = fer.read_split(root, "train")
    for name, label in zip(split.names, split.labels, strict=False):
        assert EMOTIONS[label] == name.split("/")[1]


def test_missing_class_folder_is_refused(tmp_path):
    root = make_dataset(tmp_path, per_class=1)
    shutil.rmtree(root / "train" / "disgust")
    with pytest.raises(ValueError, match="disgust"):
        fer.class_folders(root / "train")


def test_ferplus_votes_map_by_name_and_drop_non_emotions():
    row = {
        "neutral": "1",
        "happiness": "6",
        "surprise": "0",
        "sadness": "2",
        "anger": "0",
        "disgust": "0",
        "fear": "0",
        "contempt": "1",
        "unknown": "0",
        "NF": "0",
    }
    votes, dropped = fer.ferplus_votes_to_canonical(row)
    assert votes[EMOTIONS.index("happy")] == 6
    assert votes[EMOTIONS.index("neutral")] == 1
    assert votes[EMOTIONS.index("sad")] == 2
    assert votes.sum() == 9 and dropped == 1
    assert fer.keep_ferplus(votes, dropped, unknown_nf=0)
    # mostly unknown / no-face: left out
    assert not fer.keep_ferplus(np.array([1, 0, 0, 1, 0, 0, 0], dtype=float), 8, unknown_nf=8)


def test_ferplus_csv_soft_labels(tmp_path):
    csv_path = tmp_path / "labels.csv"
    header = "kaggle_path,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
    csv_path.write_text(header + "\ntest/happy/a.jpg,2,8,0,0,0,0,0,0,0,0\ntest/fear/b.jpg,0,0,0,0,0,0,1,0,3,6\n")
    soft, keep = fer.load_ferplus(["test/happy/a.jpg", "test/fear/b.jpg", "test/sad/c.jpg"], csv_path)
    assert keep.tolist() == [True, False, False]
    assert soft[0, EMOTIONS.index("happy")] == pytest.approx(0.8)
    assert soft[0, EMOTIONS.index("neutral")] == pytest.approx(0.2)


def test_exact_duplicates_between_train_and_test(tmp_path):
    root = make_dataset(tmp_path, per_class=2)
    src = root / "train" / "happy" / "Training_happy0.png"
    shutil.copy(src, root / "test" / "sad" / "PrivateTest_copy.png")  # conflicting label, same bytes
    train_split, test_split = fer.read_split(root, "train"), fer.read_split(root, "test")
    dup = fer.duplicates_of(train_split, test_split)
    assert dup.sum() == 1
    assert test_split.names[int(np.flatnonzero(dup)[0])] == "test/sad/PrivateTest_copy.png"


def test_stratified_split_holds_out_each_class():
    labels = np.repeat(np.arange(7), 20)
    tr, va = fer.stratified_split(labels, 0.1, seed=3)
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(labels)
    assert np.bincount(labels[va]).tolist() == [2] * 7
    assert fer.stratified_split(labels, 0.1, seed=3)[1].tolist() == va.tolist()


def test_temperature_scaling_improves_overconfident_logits():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 7, 2000)
    logits = rng.normal(0, 1, (2000, 7))
    logits[np.arange(2000), labels] += 1.0
    logits *= 4  # overconfident
    t = fit_temperature(logits, labels)
    assert t > 1.5
    assert expected_calibration_error(softmax(logits, t), labels) < expected_calibration_error(softmax(logits), labels)


def _saved_weights(tmp_path, **meta_changes) -> Path:
    meta = wfile.make_metadata("vgg-s", **meta_changes)
    return wfile.save(tmp_path / "w.pt", build("vgg-s"), meta)


def test_weights_metadata_checks(tmp_path):
    path = _saved_weights(tmp_path)
    assert wfile.load(path).architecture == "vgg-s"
    payload = torch.load(path, weights_only=True)
    cases = {
        "classes": (lambda p: p["metadata"].update(classes=sorted(EMOTIONS)), "canonical order"),
        "arch": (lambda p: p["metadata"].update(architecture="resnet-99"), "unknown architecture"),
        "size": (lambda p: p["metadata"].update(input_size=64), "does not match architecture"),
        "format": (lambda p: p.update(format="something"), "not an emotion weights file"),
        "version": (lambda p: p.update(format_version=99), "format version"),
        "tensor": (lambda p: p["state_dict"].pop("head.3.weight"), "does not fit"),
        "temperature": (lambda p: p["metadata"].update(temperature=-1), "temperature"),
    }
    for name, (mutate, message) in cases.items():
        bad = {**payload, "metadata": dict(payload["metadata"]), "state_dict": dict(payload["state_dict"])}
        mutate(bad)
        torch.save(bad, tmp_path / f"{name}.pt")
        with pytest.raises(wfile.WeightsError, match=message):
            wfile.load(tmp_path / f"{name}.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(wfile.WeightsError, match="not a readable"):
        wfile.load(tmp_path / "junk.pt")


def tiny_run_args(root: Path, out: Path, epochs: int) -> list[str]:
    """``training.train`` arguments for a quick CPU run on a tiny dataset."""
    return ["--root", str(root), "--arch", "vgg-s", "--epochs", str(epochs), "--batch-size", "16",
            "--val-fraction", "0.2", "--out", str(out), "--no-progress", "--threads", "1"]  # fmt: skip


def test_train_evaluate_export_roundtrip(tmp_path, capsys):
    root = make_dataset(tmp_path / "data", per_class=6)
    out = tmp_path / "run"
    exported = train.main(tiny_run_args(root, out, epochs=1) + ["--version", "test-1"])
    assert (out / "last.pt").is_file() and (out / "best.pt").is_file()
    w = wfile.load(exported)
    assert w.trained and w.version == "test-1" and w.metadata["label_source"] == "fer2013"
    assert w.metadata["metrics"]["test (PublicTest+PrivateTest)"]["n"] == 42
    assert w.metadata["recipe"]["arch"] == "vgg-s"

    # resume continues from the checkpoint instead of starting over
    train.main(tiny_run_args(root, out, epochs=2) + ["--resume"])
    assert "resumed from epoch 1" in capsys.readouterr().out
    assert len(wfile.load(out / "emotion.pt").metadata["history"]) == 2

    png, js = tmp_path / "cm.png", tmp_path / "m.json"
    results = evaluate.main(
        ["--weights", str(out / "emotion.pt"), "--root", str(root), "--png", str(png), "--json", str(js), "--tta"]
    )
    assert png.stat().st_size > 1000 and js.is_file()
    whole = results["test (PublicTest+PrivateTest)"]
    assert sum(map(sum, whole["confusion"])) == 42
    assert 0 <= whole["accuracy"] <= 1 and len(whole["per_class"]) == 7

    # inference loads the exported file and classifies with it, as the training code would
    from inference.emotion.classifier import EmotionClassifier

    clf = EmotionClassifier(out / "emotion.pt", device="cpu")
    test_split = fer.read_split(root, "test")
    probs = clf.predict(test_split.images[:5])
    assert probs.shape == (5, 7)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    logits = evaluate.predict_logits(
        wfile.load(out / "emotion.pt").build_model(), test_split.images[:5], clf.weights.metadata["normalization"]
    )
    np.testing.assert_allclose(probs, softmax(logits, clf.temperature), atol=1e-3)


def test_shipped_weights_are_trained_and_small():
    root = Path(__file__).resolve().parents[2] / "inference" / "weights"
    for name, arch in (("emotion.pt", "vgg-s"), ("emotion-large.pt", "vgg-m")):
        path = root / name
        assert path.stat().st_size < 25 * 1024 * 1024
        w = wfile.load(path)
        assert w.trained and w.architecture == arch
        assert w.metadata["metrics"]["test (PublicTest+PrivateTest)"]["n"] == 7178
        assert w.metadata["metrics"]["test (PublicTest+PrivateTest)"]["accuracy"] > 0.66
