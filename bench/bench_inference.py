"""Benchmark the inference pipeline on the shared clips.

    .venv/bin/python bench/bench_inference.py [--data DIR] [--workers 2] [--detect-every 5] [--clips a.mp4,b.mp4]

Every frame of each clip is analysed. The clip is cut into ``--workers`` equal
time ranges analysed by that many processes (each with one torch thread), as two
worker processes would in production; frames/second is analysed frames over the
wall time of the parallel run (process start-up and model loading excluded, so
steady-state throughput is measured; the separate "wall incl. start" column
includes them). "fps (CPU time)" divides the frames by the largest CPU time of one
process: the rate the same run reaches when each process has a core to itself
(use it when other jobs share the machine; it matches wall-clock fps on an idle
one). Per-stage times are the time spent in each stage, summed over the
processes, in ms per analysed frame.

Recall: a reference run detects faces with HOG on every frame at full resolution
(upsampled once when the frame's longest side is at most 720 px, as the
pipeline's plan does for small frames); a reference face counts as found when the
pipeline reports a face with IoU >= 0.3 on the same frame. The reference is
cached under ``bench/.cache/``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIPS = {"talking_face_retalking_2.mp4": 50.0, "short_hamilton_clip.mp4": 30.0}
STAGES = ("decode", "detect", "landmarks", "embed", "emotion", "attention")


def _data_dir(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("EMOTION_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def _worker(args):
    path, start, end, detect_every, ready, go = args
    os.environ["INFERENCE_TORCH_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from inference.pipeline import Analyzer, analyze_video

    an = Analyzer(device="cpu", detect_every=detect_every)
    an.classifier.predict([__import__("numpy").zeros((48, 48), "uint8")])  # warm the model
    ready.wait()
    go.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    res = analyze_video(path, start=start, end=end, analyzer=an, merge=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    boxes = {f.index: [list(x.box) for x in f.faces] for f in res.frames}
    return {"wall": wall, "cpu": cpu, "frames": res.n_frames, "timings": res.timings, "boxes": boxes}


def reference(path: Path) -> dict[int, list]:
    cache = ROOT / "bench" / ".cache" / f"{path.name}.reference.json"
    if cache.is_file():
        return {int(k): v for k, v in json.loads(cache.read_text()).items()}
    import face_recognition

    from inference import media

    out = {}
    for fr in media.iter_video(path):
        h, w = fr.image.shape[:2]
        up = 1 if max(h, w) <= 720 else 0
        out[fr.index] = [list(b) for b in face_recognition.face_locations(fr.image, number_of_times_to_upsample=up)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def run_clip(path: Path, workers: int, detect_every: int) -> dict:
    from inference import media
    from inference.faces import iou

    info = media.probe(path)
    cuts = [info.duration * i / workers for i in range(workers + 1)]
    cuts[-1] = None
    ctx = mp.get_context("spawn")
    mgr = ctx.Manager()
    ready = mgr.Barrier(workers + 1)
    go = mgr.Barrier(workers + 1)
    t_start = time.perf_counter()
    with ctx.Pool(workers) as pool:
        async_res = pool.map_async(
            _worker, [(str(path), cuts[i], cuts[i + 1], detect_every, ready, go) for i in range(workers)]
        )
        ready.wait()
        t0 = time.perf_counter()
        go.wait()
        parts = async_res.get()
        wall = time.perf_counter() - t0
    wall_incl = time.perf_counter() - t_start
    mgr.shutdown()
    frames = sum(p["frames"] for p in parts)
    stages = {s: sum(p["timings"][s] for p in parts) / max(frames, 1) * 1000 for s in STAGES}
    boxes: dict[int, list] = {}
    for p in parts:
        boxes.update({int(k): v for k, v in p["boxes"].items()})
    ref = reference(path)
    total = found = 0
    for idx, rb in ref.items():
        ours = boxes.get(idx, [])
        total += len(rb)
        found += sum(1 for b in rb if any(iou(tuple(b), tuple(o)) >= 0.3 for o in ours))
    return {
        "clip": path.name,
        "frames": frames,
        "fps": frames / wall,
        "fps_cpu": frames / max(p["cpu"] for p in parts),
        "wall": wall,
        "wall_incl": wall_incl,
        "stages": stages,
        "slowest": max(stages, key=stages.get),
        "recall": found / total if total else 1.0,
        "ref_faces": total,
        "found": found,
        "faces": sum(len(v) for v in boxes.values()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--detect-every", type=int, default=5)
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--json")
    args = ap.parse_args()
    media_dir = _data_dir(args.data) / "media"
    rows = []
    for name in args.clips.split(","):
        path = media_dir / name
        if not path.is_file():
            print(f"skipping {name}: not found in {media_dir}")
            continue
        rows.append(run_clip(path, args.workers, args.detect_every))
    head = [
        "clip",
        "frames",
        "fps",
        "fps (CPU time)",
        "target",
        *[f"{s} ms" for s in STAGES],
        "slowest",
        "recall",
        "wall incl. start",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        target = CLIPS.get(r["clip"], 0)
        cells = [
            r["clip"],
            str(r["frames"]),
            f"{r['fps']:.1f}",
            f"{r['fps_cpu']:.1f}",
            f">= {target:.0f}",
            *[f"{r['stages'][s]:.1f}" for s in STAGES],
            r["slowest"],
            f"{100 * r['recall']:.1f}% ({r['found']}/{r['ref_faces']})",
            f"{r['wall_incl']:.1f} s",
        ]
        print("| " + " | ".join(cells) + " |")
    print(f"({args.workers} processes, detection every {args.detect_every} frames, stage ms = ms per analysed frame)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
