"""Evaluation sets laid out as class folders (``<root>/<label>/<image>``), e.g. the shared
``sfew2-aligned.tar.gz`` and ``tw-performers.tar.gz``.

These sets are for measuring only: nothing in ``training`` trains, tunes or chooses by them.
Archives are extracted once into the git-ignored cache, as :mod:`training.data` does for FER-2013.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from inference.classes import EMOTIONS, index_of
from training.data import extract_archive
from training.paths import cache_dir, data_dir

# set name -> archive in the shared data folder
ARCHIVES = {"sfew2-aligned": "sfew2-aligned.tar.gz", "tw-performers": "tw-performers.tar.gz"}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


@dataclass
class FolderSet:
    """Image paths and their canonical labels, in a stable (sorted) order."""

    name: str
    paths: list[Path]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def _has_class_folders(folder: Path) -> bool:
    names = {c.name for c in folder.iterdir() if c.is_dir()}
    return set(EMOTIONS) <= names


def class_root(folder: Path) -> Path:
    """``folder`` itself when it holds the seven class folders, else its single sub-folder that does."""
    if _has_class_folders(folder):
        return folder
    subs = [c for c in folder.iterdir() if c.is_dir() and not c.name.startswith(".")]
    if len(subs) == 1 and _has_class_folders(subs[0]):
        return subs[0]
    raise ValueError(f"{folder} has no folder per class ({', '.join(EMOTIONS)})")


def locate(name_or_path: str) -> tuple[str, Path]:
    """(display name, folder with class folders) for a shared set's name or a folder / archive path."""
    if name_or_path in ARCHIVES:
        archive = data_dir() / ARCHIVES[name_or_path]
        if not archive.is_file():
            raise FileNotFoundError(f"{archive} not found; set EMOTION_DATA_DIR")
        return name_or_path, class_root(extract_archive(archive, cache_dir() / name_or_path))
    path = Path(name_or_path)
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        stem = path.name.split(".tar")[0].removesuffix(".tgz")
        return stem, class_root(extract_archive(path, cache_dir() / f"set-{stem}"))
    if path.is_dir():
        return path.name, class_root(path)
    raise FileNotFoundError(f"{name_or_path}: neither a shared set ({', '.join(ARCHIVES)}) nor a folder")


def read_folder_set(name: str, root: Path) -> FolderSet:
    """Every image under ``root/<class>/``; class folders map by name, never by position."""
    paths, labels = [], []
    for folder in sorted(c for c in root.iterdir() if c.is_dir() and not c.name.startswith(".")):
        label = index_of(folder.name)
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
                labels.append(label)
    if not paths:
        raise ValueError(f"{root} holds no images")
    return FolderSet(name, paths, np.asarray(labels, dtype=np.int64))


def whole_images(fs: FolderSet, size: int = 48) -> np.ndarray:
    """Each image whole, grey, resized to ``size`` square (as FER-2013's own images are read)."""
    out = np.empty((len(fs), size, size), dtype=np.uint8)
    for i, path in enumerate(fs.paths):
        with Image.open(path) as img:
            grey = img.convert("L")
            if grey.size != (size, size):
                grey = grey.resize((size, size), Image.BILINEAR)
            out[i] = np.asarray(grey, dtype=np.uint8)
    return out


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)
