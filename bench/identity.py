"""The identity benchmark: simulated owners whose sessions arrive one after another.

    .venv/bin/python -m bench --only identity

(draft)
"""

from __future__ import annotations

import csv
import os
import random
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE_VERSION = 1
LFW_PEOPLE = 400  # people drawn (seeded) of the 901 with 3+ photos: descriptors for all would take ~15 min here
LFW_PHOTOS = 8  # at most this many photos per LFW person (the first ones, by file name)


def data_dir() -> Path:
    return Path(os.environ.get("EMOTION_DATA_DIR") or ROOT.parent / "shared" / "data")


def cache_dir() -> Path:
    path = Path(os.environ.get("EMOTION_CACHE_DIR") or ROOT / ".cache") / "identity"
    path.mkdir(parents=True, exist_ok=True)
    return path


def extracted(archive: str, folder: str) -> Path:
    """The archive extracted once into the cache."""
    target = cache_dir() / folder
    if not target.is_dir():
        src = data_dir() / archive
        if not src.is_file():
            raise FileNotFoundError(f"{src} not found; set EMOTION_DATA_DIR to the shared data folder")
        with tarfile.open(src) as tar:
            tar.extractall(cache_dir(), filter="data")
    return target


def lfw_photos(seed: int = 14) -> dict[str, list[Path]]:
    root = extracted("lfw-ge3.tar.gz", "lfw")
    people = sorted(p.name for p in root.iterdir() if p.is_dir())
    chosen = sorted(random.Random(seed).sample(people, min(LFW_PEOPLE, len(people))))
    return {name: sorted((root / name).glob("*.jpg"))[:LFW_PHOTOS] for name in chosen}


def tw_photos() -> dict[str, list[Path]]:
    root = extracted("tw-performers.tar.gz", "tw-performers")
    out: dict[str, list[Path]] = {}
    with open(root / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(f"tw{row['performer']}", []).append(root / row["file"])
    return {k: sorted(v) for k, v in sorted(out.items())}


def describe_photo(path: Path, centred: bool):
    """The platform's face code on one photo: the face nearest the centre (LFW) or the largest."""
    from PIL import Image

    from inference import faces
    from inference.identity import describe

    image = np.asarray(Image.open(path).convert("RGB"))
    found = faces.detect_scored(image)
    if not found:
        return None
    h, w = image.shape[:2]

    def key(item):
        (t, r, b, lf), _ = item
        if centred:
            return abs((t + b) / 2 - h / 2) + abs((r + lf) / 2 - w / 2)
        return -(b - t) * (r - lf)

    box, det = min(found, key=key)
    return describe(image, [box], [det])[0]


def descriptors(name: str, photos: dict[str, list[Path]], centred: bool) -> dict[str, list]:
    """person -> [Sample] for the photos with a face, cached in .cache/identity/<name>-v<N>.npz."""
    from inference import quality

    path = cache_dir() / f"{name}-v{CACHE_VERSION}-q{quality.VERSION}.npz"
    wanted = [(person, str(p.relative_to(cache_dir()))) for person, ps in photos.items() for p in ps]
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        if set(map(tuple, data["tried"].tolist())) >= set(wanted):
            return _from_arrays(data, set(wanted))
    rows, t0 = [], time.perf_counter()
    for i, (person, p) in enumerate(wanted):
        s = describe_photo(cache_dir() / p, centred)
        if s is not None:
            q = s.quality
            det = np.nan if q.detection is None else q.detection
            rows.append((person, p, s.descriptor, [q.size, q.sharpness, q.yaw, q.pitch, det]))
        if i % 200 == 199:
            print(f"  {name}: {i + 1}/{len(wanted)} photos ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    np.savez_compressed(
        path,
        keys=np.array([[r[0], r[1]] for r in rows]),
        descriptor=np.array([r[2] for r in rows], dtype=np.float32),
        measures=np.array([r[3] for r in rows], dtype=np.float64),
        tried=np.array(wanted),
    )
    return _from_arrays(np.load(path, allow_pickle=False), set(wanted))


def _from_arrays(data, wanted: set) -> dict[str, list]:
    from inference import quality
    from inference.identity import Sample

    out: dict[str, list] = {}
    for (person, p), desc, m in zip(data["keys"].tolist(), data["descriptor"], data["measures"], strict=True):
        if (person, p) not in wanted:
            continue
        q = quality.FaceQuality(m[0], m[1], m[2], m[3], None if np.isnan(m[4]) else float(m[4]))
        out.setdefault(person, []).append(Sample(desc, q, quality.quality_score(q)))
    return out


# --------------------------------------------------------------------------- folds
def split_people(people: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Two disjoint halves of the people (fit, report): no person is in both."""
    order = sorted(people)
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return sorted(order[:half]), sorted(order[half:])


def folds(lfw_people: list[str], tw_people: list[str], seed: int = 14) -> list[dict]:
    """Fold 1: fit on LFW half A + TW half A, report on LFW half B + TW half B. Fold 2 swaps the TW
    halves (the Taiwanese set is small); LFW is reported on half B only, with fold 1's fit."""
    lfw_fit, lfw_test = split_people(lfw_people, seed)
    tw_a, tw_b = split_people(tw_people, seed + 1)
    return [
        {"name": "fold 1", "fit": {"lfw": lfw_fit, "tw": tw_a}, "test": {"lfw": lfw_test, "tw": tw_b}},
        {"name": "fold 2", "fit": {"lfw": lfw_fit, "tw": tw_b}, "test": {"tw": tw_a}},
    ]


# --------------------------------------------------------------------------- simulated owners
def owner_sessions(people: dict[str, list], rng: random.Random) -> list[tuple[str, list]]:
    """Each person's photos split into 2 or 3 disjoint groups (sessions); all in random order."""
    out = []
    for name, samples in people.items():
        order = list(samples)
        rng.shuffle(order)
        n = min(len(order), rng.choice((2, 3)))
        out += [(name, order[i::n]) for i in range(n)]
    rng.shuffle(out)
    return out


def simulate_owner(people: dict[str, list], rng: random.Random, params, decide=None) -> dict:
    """Sessions of one owner arrive one after another; each goes through the platform's rule.

    The owner answers each suggestion truthfully at once (confirm: merged; not the same: remembered).
    """
    from inference import identity

    decide = decide or identity.decide
    known: list[dict] = []  # the owner's people: {"refs": [...], "who": name}
    rejected: set[frozenset] = set()
    seen: set[str] = set()
    c = dict.fromkeys(
        ("people", "sessions", "no_face", "false", "repeat", "auto", "suggested", "first", "first_suggested"), 0
    )
    for name, samples in owner_sessions(people, rng):
        c["sessions"] += 1
        refs, _ = identity.select_references([], [], samples)
        if not refs:
            c["no_face"] += 1
            continue
        first = name not in seen
        seen.add(name)
        c["first" if first else "repeat"] += 1
        d = decide(refs, {i: p["refs"] for i, p in enumerate(known)}, rejected, params)
        right = d.candidate is not None and known[d.candidate]["who"] == name
        if d.outcome == identity.SAME:
            if not right:
                c["false"] += 1
            elif not first:
                c["auto"] += 1
            known[d.candidate]["refs"] = identity.merge_references(known[d.candidate]["refs"], refs)
            continue
        if d.outcome == identity.MAYBE:
            if first:
                c["first_suggested"] += 1
            elif right:
                c["suggested"] += 1
            if right:  # confirmed: merged into the suggested person
                known[d.candidate]["refs"] = identity.merge_references(known[d.candidate]["refs"], refs)
                continue
            rejected.add(frozenset((d.candidate, len(known))))
        known.append({"refs": refs, "who": name})
    c["people"] = len(seen)
    return c


def run_set(people: dict[str, list], owners: int, per_owner: int | None, params, seed: int, decide=None) -> dict:
    """Many simulated owners; each sees ``per_owner`` people drawn from ``people`` (all when None)."""
    rng = random.Random(seed)
    total: dict[str, int] = {}
    names = sorted(people)
    for _ in range(owners):
        chosen = names if per_owner is None else rng.sample(names, min(per_owner, len(names)))
        counts = simulate_owner({n: people[n] for n in chosen}, rng, params, decide)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total


def rates(c: dict) -> dict:
    repeat, first = max(c["repeat"], 1), max(c["first"], 1)
    return {
        "false_per_1000": 1000.0 * c["false"] / max(c["people"], 1),
        "auto": 100.0 * c["auto"] / repeat,
        "with_suggestion": 100.0 * (c["auto"] + c["suggested"]) / repeat,
        "first_suggested": 100.0 * c["first_suggested"] / first,
    }


# --------------------------------------------------------------------------- fitting (fit halves only)
def usable(people: dict[str, list]) -> dict[str, np.ndarray]:
    return {n: np.array([x.descriptor for x in v if x.usable], dtype=np.float64) for n, v in people.items()}


def fit_transform(populations: list[dict[str, np.ndarray]], dims: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Within-class whitening (WCCN) and, with ``dims``, the ``dims`` most discriminant directions (LDA)
    of the whitened space. Each population weighs the same, so the small Taiwanese half is not drowned
    by LFW's people."""
    sw, sb, means = np.zeros((128, 128)), np.zeros((128, 128)), []
    for pop in populations:
        centres = np.array([x.mean(axis=0) for x in pop.values() if len(x) >= 2])
        within = np.concatenate([x - x.mean(axis=0) for x in pop.values() if len(x) >= 2])
        sw += within.T @ within / len(within)
        mu = centres.mean(axis=0)
        sb += (centres - mu).T @ (centres - mu) / len(centres)
        means.append(mu)
    sw, sb = sw / len(populations), sb / len(populations)
    sw += np.eye(128) * 1e-3 * np.trace(sw) / 128  # a little shrinkage: 128 dims, few people
    vals, vecs = np.linalg.eigh(sw)
    whiten = vecs @ np.diag(vals**-0.5) @ vecs.T
    if dims is None:
        return np.mean(means, axis=0), whiten
    bvals, bvecs = np.linalg.eigh(whiten @ sb @ whiten)
    top = bvecs[:, np.argsort(bvals)[::-1][:dims]]
    return np.mean(means, axis=0), whiten @ top


def record_decisions(people: dict[str, list], owners: int, per_owner: int | None, params, seed: int) -> list:
    """(distance, score, margin, right, first) of every session under the truthful-owner simulation,
    for choosing the limits without re-running the whole simulation per candidate limit."""
    from inference import identity

    rng = random.Random(seed)
    names = sorted(people)
    rows = []
    for _ in range(owners):
        chosen = names if per_owner is None else rng.sample(names, min(per_owner, len(names)))
        sub = {n: people[n] for n in chosen}
        sessions = owner_sessions(sub, rng)
        known: list[dict] = []
        seen: set[str] = set()
        for name, samples in sessions:
            refs, _ = identity.select_references([], [], samples)
            if not refs:
                continue
            first = name not in seen
            seen.add(name)
            d = identity.decide(refs, {i: p["refs"] for i, p in enumerate(known)}, (), params)
            right = d.candidate is not None and known[d.candidate]["who"] == name
            rows.append((d.distance, d.score, min(d.margin, 1e6), right, first))
            idx = next((i for i, p in enumerate(known) if p["who"] == name), None)
            if idx is None:
                known.append({"refs": refs, "who": name})
            else:
                known[idx]["refs"] = identity.merge_references(known[idx]["refs"], refs)
    return np.array(rows, dtype=np.float64).reshape(-1, 5)


def outcome_rates(a: np.ndarray, same_d: float, same_s: float, margin: float, maybe_d: float) -> dict:
    d, s, m, right, first = a[:, 0], a[:, 1], a[:, 2], a[:, 3] > 0, a[:, 4] > 0
    same = (d <= same_d) & (s <= same_s) & (m >= margin)
    maybe = ~same & (d <= maybe_d)
    people = first.sum()
    return {
        "false_per_1000": 1000.0 * (same & ~right).sum() / max(people, 1),
        "auto": 100.0 * (same & right & ~first).sum() / max((~first).sum(), 1),
        "with_suggestion": 100.0 * ((same | maybe) & right & ~first).sum() / max((~first).sum(), 1),
        "first_suggested": 100.0 * (maybe & first).sum() / max(people, 1),
    }


def choose_limits(records: dict[str, list], false_limits: dict[str, float], first_limit: float) -> dict:
    """The SAME limits with the best worst-population auto-link rate under the false-merge limits, then
    the widest MAYBE limit that keeps first-timer suggestions under ``first_limit`` %."""
    best = None
    for same_d in np.arange(0.3, 1.3, 0.025):
        for same_s in np.arange(0.4, 1.01, 0.025):
            for margin in (0.0, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2):
                r = {k: outcome_rates(v, same_d, same_s, margin, 0.0) for k, v in records.items()}
                if any(r[k]["false_per_1000"] > false_limits[k] for k in r):
                    continue
                key = (min(x["auto"] for x in r.values()), sum(x["auto"] for x in r.values()), -margin)
                if best is None or key > best[0]:
                    best = (key, float(same_d), float(same_s), float(margin))
    _, same_d, same_s, margin = best
    maybe_d = same_d
    for cand in np.arange(same_d, same_d + 0.8, 0.01):
        r = {k: outcome_rates(v, same_d, same_s, margin, cand) for k, v in records.items()}
        if all(x["first_suggested"] <= first_limit for x in r.values()):
            maybe_d = float(cand)
    return {"same_distance": same_d, "same_score": same_s, "margin": margin, "maybe_distance": maybe_d}


if __name__ == "__main__":
    lfw = descriptors("lfw", lfw_photos(), centred=True)
    tw = descriptors("tw", tw_photos(), centred=False)
    print(len(lfw), sum(map(len, lfw.values())), len(tw), sum(map(len, tw.values())))
