"""Within-session cases of the identity benchmark: clips with cuts, analysed by the engine.

Part of ``python -m bench --only identity``. Clips are built at run time into ``.cache/identity/cuts/``
(never committed) from front-view photos of the Taiwanese performers of the *report* half (fold 1's test
people, never used for fitting), each photo held 1 s in the same place, so every change is a hard cut:

* **alternating**: performer A, B, A, B, A, B (one photo each) for consecutive pairs of the report
  half. A *false merge* is a person of the result holding seconds of both performers; a *false
  suggestion* is a suggestion (``Analyzer.suggestions``, what ``finalize_session`` offers) pairing a
  person of A's seconds with one of B's.
* **one across cuts**: six photos of one performer. *Linked*: the result is one person; *suggested*:
  one person once the suggestions are confirmed.

Plus the shared Hamilton clip (one singer across camera cuts, a second face at the end): the people the
engine reports and its suggestions. Analysis at 3 fps (every frame detected), as ``analyze_video`` does
for an upload.
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


def analysed(path: Path, fps: float):
    """The engine's result and its suggestions (pairs of merged track ids) for one clip."""
    from inference.pipeline import Analyzer, analyze_video, auto_detect_every

    an = Analyzer(detect_every=auto_detect_every(fps))
    result = analyze_video(path, fps=fps, analyzer=an)
    return result, [(a, b) for a, b, _ in an.suggestions()]


def after_confirming(people: list[int], pairs: list[tuple[int, int]]) -> int:
    """How many people remain once every suggestion is confirmed (merged)."""
    root = {p: p for p in people}

    def find(p):
        while root[p] != p:
            p = root[p]
        return p

    for a, b in pairs:
        root[find(a)] = find(b)
    return len({find(p) for p in people})


def holders(path: Path) -> tuple[list[set], int, list[tuple[int, int]], list[int]]:
    """The people (merged track ids) seen in each second of the clip, how many people in all, and the
    suggested pairs."""
    result, pairs = analysed(path, FPS)
    per_second: list[set] = []
    for fr in result.frames:
        second = int(round(fr.time, 3))
        while len(per_second) <= second:
            per_second.append(set())
        per_second[second] |= {f.track_id for f in fr.faces}
    return per_second, len(result.summary), pairs, [s.track_id for s in result.summary]


def run(log=print) -> list[dict]:
    root = bench_identity.extracted("tw-performers.tar.gz", "tw-performers")
    photos = front_photos(root)
    _, report = bench_identity.split_people(sorted(photos), bench_identity.SEED + 1)  # fold 1's test half
    cache = bench_identity.cache_dir() / "cuts"
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    pairs = [(a, b) for a, b in zip(report[0::2], report[1::2], strict=False)]
    merged, suggested, split_pairs = [], [], 0
    for a, b in pairs:
        seq = [photos[a][i // 2] if i % 2 == 0 else photos[b][i // 2] for i in range(PHOTOS)]
        per_second, _, offered, _ = holders(write_clip(cache / f"alternating-{a}-{b}.mp4", seq))
        ids_a = set().union(*per_second[0::2])
        ids_b = set().union(*per_second[1::2])
        if ids_a & ids_b:
            merged.append(f"{a}/{b}")
        if any((x in ids_a and y in ids_b) or (x in ids_b and y in ids_a) for x, y in offered):
            suggested.append(f"{a}/{b}")
        split_pairs += 1
    linked, linked_or_suggested, people_counts = 0, 0, []
    for name in report:
        _, n, offered, people = holders(write_clip(cache / f"one-{name}.mp4", photos[name][:PHOTOS]))
        people_counts.append(n)
        linked += n == 1
        linked_or_suggested += after_confirming(people, offered) == 1
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
            "identity within a session: alternating pairs with a (false) suggestion",
            f"{len(suggested)} of {split_pairs}",
            "0",
            f"suggested: {', '.join(suggested) or 'none'}",
        ),
        bench_identity.row(
            "identity within a session: one performer across cuts linked into one person / or suggested",
            f"{linked} / {linked_or_suggested} of {len(report)}",
            "all",
            f"{PHOTOS} photos, one second each; people per clip: {sorted(people_counts)}",
        ),
    ]
    ham = bench_identity.data_dir() / "media" / "short_hamilton_clip.mp4"
    if ham.is_file():
        result, offered = analysed(ham, 5.0)
        span = {s.track_id: f"{s.first_time:.1f}-{s.last_time:.1f} s" for s in result.summary}
        spans = ", ".join(span[s.track_id] for s in sorted(result.summary, key=lambda s: s.first_time))
        pairs_text = "; ".join(f"{span.get(a, a)} ~ {span.get(b, b)}" for a, b in offered) or "none"
        people = [s.track_id for s in result.summary]
        rows.append(
            bench_identity.row(
                "identity within a session: Hamilton clip (one singer across cuts + one face): people / suggestions "
                "/ people once confirmed",
                f"{len(people)} / {len(offered)} / {after_confirming(people, offered)}",
                "2",
                f"5 fps; people seen {spans}; suggested {pairs_text}",
            )
        )
    log(f"identity cuts: {time.perf_counter() - t0:.0f} s")
    return rows
