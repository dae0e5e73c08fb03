"""``training.evaluate`` on folder sets: whole images and the production path (detection + crop)."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.classes import EMOTIONS, index_of
from inference.emotion import weights as wfile
from tests.training.test_training import make_dataset
from training import evaluate, folders

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "inference" / "weights" / "emotion.pt"


@pytest.fixture(scope="module")
def media_dir() -> Path:
    base = Path(os.environ.get("EMOTION_DATA_DIR") or REPO.parent / "shared" / "data")
    if not (base / "media" / "obama.jpg").is_file():
        pytest.skip("shared test media not found (set EMOTION_DATA_DIR)")
    return base / "media"


def make_photo_set(root: Path, media: Path) -> Path:
    """Seven class folders (some empty): three photos with faces and a blank one without."""
    for name in sorted(EMOTIONS):
        (root / name).mkdir(parents=True)
    shutil.copy(media / "obama.jpg", root / "happy" / "a.jpg")
    shutil.copy(media / "biden.jpg", root / "neutral" / "b.jpg")
    shutil.copy(media / "two_people.jpg", root / "sad" / "c.jpg")
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(root / "fear" / "blank.png")
    return root


def test_folder_set_whole_and_pipeline(tmp_path, media_dir):
    fer_root = make_dataset(tmp_path / "fer", per_class=3)
    # one level down: found anyway; the set is named by the folder given
    photos = make_photo_set(tmp_path / "photos" / "inner", media_dir)
    js = tmp_path / "r.json"
    results = evaluate.main(
        ["--weights", str(SHIPPED), "--root", str(fer_root), "--set", str(photos.parent), "--pipeline",
         "--json", str(js)]
    )  # fmt: skip
    assert json.loads(js.read_text())["version"] == wfile.load(SHIPPED).version == "2026.11-vgg-s-ft-mixed"
    whole, piped = results["photos (whole image)"], results["photos (pipeline, largest face)"]
    assert whole["n"] == 4 and sum(map(sum, whole["confusion"])) == 4
    # labels come from the folder names: each class's support is its folder's count
    assert {c["class"]: c["support"] for c in whole["per_class"]} == {
        e: int(e in ("happy", "neutral", "sad", "fear")) for e in EMOTIONS
    }
    assert piped["photos"] == 4 and piped["faces_found"] == 3 and piped["n"] == 3  # the blank has no face
    assert 0 <= piped["ece_calibrated"] <= 1 and piped["temperature"] == results["temperature_validation"]

    # the pipeline mode scores the largest face as the platform's own path classifies it
    from inference.api import EmotionRecognition

    fs = folders.read_folder_set("inner", photos)
    from inference.emotion.classifier import EmotionClassifier

    logits, found = evaluate.pipeline_logits(EmotionClassifier(SHIPPED, device="cpu"), fs)
    assert found.tolist() == [False, True, True, True]  # sorted folders: fear, happy, neutral, sad
    er = EmotionRecognition(device="cpu", weights_path=SHIPPED)
    faces = er.run(folders.read_rgb(fs.paths[3]))
    assert len(faces) == 2  # two people: the larger face is the one scored
    big = max(faces, key=lambda f: (f["box"][2] - f["box"][0]) * (f["box"][1] - f["box"][3]))
    p = np.exp(logits[3] / er.classifier.temperature)
    np.testing.assert_allclose(p / p.sum(), [big["probabilities"][e] for e in EMOTIONS], atol=1e-5)

    # whole-image mode: the photo resized whole to 48 px, as FER-2013's own images are read
    grey = np.asarray(Image.open(fs.paths[1]).convert("L").resize((48, 48), Image.BILINEAR))
    assert np.array_equal(folders.whole_images(fs)[1], grey)


def test_archive_sets_extract_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_CACHE_DIR", str(tmp_path / "cache"))
    src = tmp_path / "src" / "faces"
    for name in EMOTIONS:
        (src / name).mkdir(parents=True)
        Image.fromarray(np.full((60, 50), 10 * index_of(name), np.uint8)).save(src / name / "x.png")
    archive = tmp_path / "faces.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src, arcname="faces")
    name, root = folders.locate(str(archive))
    assert name == "faces" and root.is_relative_to(tmp_path / "cache") and root.name == "faces"
    fs = folders.read_folder_set(name, root)
    assert [EMOTIONS[i] for i in fs.labels] == sorted(EMOTIONS)  # by folder name, never by position
    assert folders.whole_images(fs)[fs.labels.tolist().index(index_of("sad"))].mean() == pytest.approx(
        10 * index_of("sad")
    )


def test_a_set_without_class_folders_is_refused(tmp_path):
    (tmp_path / "happy").mkdir()
    with pytest.raises(ValueError, match="no folder per class"):
        folders.locate(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        folders.locate(str(tmp_path / "missing"))
