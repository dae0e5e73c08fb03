"""FER-2013 (Kaggle folder layout) and FER+ labels, as arrays.

The archive in the shared data folder is read-only: it is extracted once
into the cache folder, and the decoded images are cached as one ``.npz`` per
split so later runs start in a second.
"""

from __future__ import annotations

import csv
import hashlib
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inference.classes import EMOTIONS, index_of
from training.paths import cache_dir, data_dir

ARCHIVE_NAME = "fer2013.tar.gz"
FERPLUS_CSV = Path("ferplus") / "msambare_to_ferplus.csv"
# FER+ vote columns, in the CSV's order; the last three are not emotions.
FERPLUS_EMOTION_COLUMNS = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear")
FERPLUS_DROPPED_COLUMNS = ("contempt", "unknown", "NF")
SPLITS = ("train", "test")


@dataclass
class Split:
    """One split: images (N, 48, 48) uint8, labels (N,) canonical indices, names relative to the root."""

    images: np.ndarray
    labels: np.ndarray
    names: list[str]
    digests: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> Split:
        idx = np.flatnonzero(mask)
        return Split(self.images[idx], self.labels[idx], [self.names[i] for i in idx], [self.digests[i] for i in idx])


def extract_archive(archive: Path | None = None, dest: Path | None = None) -> Path:
    """Extract ``fer2013.tar.gz`` into the cache (once) and return the folder holding ``train/`` and ``test/``."""
    archive = archive or data_dir() / ARCHIVE_NAME
    if not archive.is_file():
        raise FileNotFoundError(f"FER-2013 archive not found at {archive}; set EMOTION_DATA_DIR")
    dest = dest or cache_dir() / "fer2013"
    marker = dest / ".extracted"
    stamp = f"{archive.stat().st_size}"
    if marker.is_file() and marker.read_text() == stamp:
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    marker.write_text(stamp)
    return dest


def class_folders(split_dir: Path) -> dict[str, int]:
    """Map each class folder of a split to its canonical index, by name (never by position)."""
    mapping = {}
    for child in sorted(split_dir.iterdir()):
        if child.is_dir():
            mapping[child.name] = index_of(child.name)
    missing = set(range(len(EMOTIONS))) - set(mapping.values())
    if missing:
        raise ValueError(f"{split_dir} lacks class folders for {', '.join(EMOTIONS[i] for i in sorted(missing))}")
    return mapping


def read_split(root: Path, split: str) -> Split:
    """Decode every image of ``root/split`` into arrays (grayscale, resized to 48x48 if needed)."""
    split_dir = root / split
    images, labels, names, digests = [], [], [], []
    for folder, label in class_folders(split_dir).items():
        for path in sorted((split_dir / folder).iterdir()):
            if not path.is_file():
                continue
            raw = path.read_bytes()
            img = Image.open(path).convert("L")
            if img.size != (48, 48):
                img = img.resize((48, 48), Image.BILINEAR)
            images.append(np.asarray(img, dtype=np.uint8))
            labels.append(label)
            names.append(f"{split}/{folder}/{path.name}")
            digests.append(hashlib.sha1(raw).hexdigest())
    return Split(np.stack(images), np.asarray(labels, dtype=np.int64), names, digests)


def load_split(split: str, root: Path | None = None) -> Split:
    """A split of the shared FER-2013 archive (or of ``root``), cached as ``.npz``."""
    if root is not None:
        return read_split(root, split)
    root = extract_archive()
    cache = root.parent / f"fer2013-{split}.npz"
    if cache.is_file():
        z = np.load(cache)
        return Split(z["images"], z["labels"], list(z["names"]), list(z["digests"]))
    data = read_split(root, split)
    np.savez(cache, images=data.images, labels=data.labels, names=np.array(data.names), digests=np.array(data.digests))
    return data


def duplicates_of(reference: Split, other: Split) -> np.ndarray:
    """Boolean mask over ``other``: True where a byte-identical file exists in ``reference``."""
    seen = set(reference.digests)
    return np.array([d in seen for d in other.digests], dtype=bool)


def ferplus_votes_to_canonical(row: dict[str, str]) -> tuple[np.ndarray, int]:
    """Seven canonical-order vote counts from one FER+ row, and the dropped (contempt/unknown/no-face) count."""
    votes = np.zeros(len(EMOTIONS), dtype=np.float32)
    for column in FERPLUS_EMOTION_COLUMNS:
        votes[index_of(column)] = float(row[column] or 0)
    dropped = sum(int(float(row.get(c) or 0)) for c in FERPLUS_DROPPED_COLUMNS)
    return votes, dropped


def keep_ferplus(votes: np.ndarray, dropped: int, unknown_nf: int) -> bool:
    """Keep an image unless most of its votes are unknown / no-face, or no emotion vote is left."""
    total = votes.sum() + dropped
    return votes.sum() > 0 and unknown_nf * 2 <= total


def load_ferplus(names: list[str], csv_path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """FER+ soft labels (N, 7) for ``names`` and a mask of the images FER+ keeps."""
    csv_path = csv_path or data_dir() / FERPLUS_CSV
    table = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            votes, dropped = ferplus_votes_to_canonical(row)
            unknown_nf = int(float(row.get("unknown") or 0)) + int(float(row.get("NF") or 0))
            table[row["kaggle_path"]] = (votes, keep_ferplus(votes, dropped, unknown_nf))
    soft = np.zeros((len(names), len(EMOTIONS)), dtype=np.float32)
    keep = np.zeros(len(names), dtype=bool)
    for i, name in enumerate(names):
        if name in table:
            votes, ok = table[name]
            if ok:
                soft[i] = votes / votes.sum()
                keep[i] = True
    return soft, keep


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, validation) with ``fraction`` of each class held out, reproducibly."""
    rng = np.random.default_rng(seed)
    val = []
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        val.extend(idx[: max(1, int(round(len(idx) * fraction)))])
    val = np.sort(np.asarray(val))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val
