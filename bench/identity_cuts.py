"""Within-session cases of the identity benchmark: clips with cuts, analysed by the engine.

Part of ``python -m bench --only identity``. Clips are built at run time into ``.cache/identity/cuts/``
(never committed) from front-view photos of the Taiwanese performers of the *report* half (fold 1's test
people, never used for fitting), each photo held 1 s in the same place, so every change is a hard cut:

* **alternating**: performer A, B, A, B, A, B (one photo each) for consecutive pairs of the report
  half. A *false merge* is a person of the result holding seconds of both performers.
* **one across cuts**: six photos of one performer. *Linked*: the result is one person.

Plus the shared Hamilton clip (one singer across camera cuts, a second face at the end): the people the
engine reports. Analysis at 3 fps (every frame detected), as ``analyze_video`` does for an upload.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np

from bench import identity as bench_identity

FPS = 3.0
PHOTOS = 6  # photos per clip, one second each


def front_photos(root: Path) -> dict[str, list[Path]]:
    """Front-view photos per performer (``tw01`` ...), by file name."""
    out: dict[str, list[Path]] = {}
    with open(root / "labels.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["view"] == "1":
                out.setdefault(f"tw{r['performer']}", []).append(root / r["file"])
    return {k: sorted(v) for k, v in out.items()}


def write_clip(path: Path, photos: list[Path]) -> Path:
    from PIL import Image

    from inference.media import write_video

    if not path.is_file():
        frames = (np.asarray(Image.open(p).convert("RGB")) for p in photos for _ in range(int(FPS)))
        tmp = path.with_suffix(".tmp.mp4")
        write_video(tmp, frames, fps=FPS)
        os.replace(tmp, path)
    return path


def holders(path: Path) -> tuple[list[set], int]:
    """The people (merged track ids) seen in each second of the clip, and how many people in all."""
    from inference.pipeline import analyze_video

    result = analyze_video(path, fps=FPS)
    per_second: list[set] = []
    for fr in result.frames:
        second = int(round(fr.time, 3))
        while len(per_second) <= second:
            per_second.append(set())
        per_second[second] |= {f.track_id for f in fr.faces}
    return per_second, len(result.summary)


def run(log=print) -> list[dict]:
    root = bench_identity.extracted("tw-performers.tar.gz", "tw-performers")
    photos = front_photos(root)
    _, report = bench_identity.split_people(sorted(photos), bench_identity.SEED + 1)  # fold 1's test half
    cache = bench_identity.cache_dir() / "cuts"
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pairs = [(a, b) for a, b in zip(report[0::2], report[1::2], strict=False)]
    merged, split_pairs = [], 0
    for a, b in pairs:
        seq = [photos[a][i // 2] if i % 2 == 0 else photos[b][i // 2] for i in range(PHOTOS)]
        per_second, _ = holders(write_clip(cache / f"alternating-{a}-{b}.mp4", seq))
        ids_a = set().union(*per_second[0::2])
        ids_b = set().union(*per_second[1::2])
        if ids_a & ids_b:
            merged.append(f"{a}/{b}")
        split_pairs += 1
    linked, people_counts = 0, []
    for name in report:
        _, n = holders(write_clip(cache / f"one-{name}.mp4", photos[name][:PHOTOS]))
        people_counts.append(n)
        linked += n == 1
    log(f"identity cuts: {len(pairs)} alternating pairs, {len(report)} single performers")
    rows = [
        bench_identity.row(
            "identity within a session: alternating pairs merged into one person",
            f"{len(merged)} of {split_pairs}",
            "0",
            f"Taiwanese report half, A/B/A/B/A/B one photo a second in the same place, {FPS:g} fps; "
            f"merged: {', '.join(merged) or 'none'}",
        ),
        bench_identity.row(
            "identity within a session: one performer across cuts linked into one person",
            f"{linked} of {len(report)}",
            "all",
            f"{PHOTOS} photos, one second each; people per clip: {sorted(people_counts)}",
        ),
    ]
    ham = bench_identity.data_dir() / "media" / "short_hamilton_clip.mp4"
    if ham.is_file():
        from inference.pipeline import analyze_video

        result = analyze_video(ham, fps=5.0)
        spans = ", ".join(
            f"{s.first_time:.1f}-{s.last_time:.1f} s" for s in sorted(result.summary, key=lambda s: s.first_time)
        )
        rows.append(
            bench_identity.row(
                "identity within a session: people on the Hamilton clip (one singer across cuts + one face)",
                str(len(result.summary)),
                "2",
                f"5 fps; people seen {spans}",
            )
        )
    log(f"identity cuts: {time.perf_counter() - t0:.0f} s")
    return rows
