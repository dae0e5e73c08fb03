"""The benchmark suite: one command, run on demand (never by the tests), printing one table.

    .venv/bin/python -m bench                       # everything, full length (about 20 min on 2 cores)
    .venv/bin/python -m bench --quick               # shorter variants of each (a few minutes)
    .venv/bin/python -m bench --only latency,upload # a subset: inference, latency, capacity, timeline,
                                                    # upload, ingest, long, identity, writes, study
    .venv/bin/python -m bench --only study          # a two-condition study comparison (bench/bench_study.py)
    .venv/bin/python -m bench --only identity       # people across sessions and cuts (bench/identity*.py)
    .venv/bin/python -m bench --json out.json       # the rows as JSON too

The real stack runs in subprocesses (bench/stack.py): a private embedded PostgreSQL and Redis in a
temporary folder (or the servers of --database-url/--redis-url, whose database is migrated), Daphne,
one live worker and one inference worker with their models loaded, as scripts/run.sh starts them.
The machine (cores, CPU model, RAM, load) is printed with the table: on a shared, busy machine the
figures are lower bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.live import jpeg_frames, record  # noqa: E402
from bench.media import long_recording, loop_clip  # noqa: E402
from bench.stack import Stack  # noqa: E402
from bench.wsclient import WebSocket  # noqa: E402
from bench.wsupload import upload_file  # noqa: E402

CLIP = "talking_face_retalking_2.mp4"
ALL = ("inference", "latency", "capacity", "timeline", "upload", "ingest", "long", "identity", "writes", "study")
LIVE_FPS = 5.0
TARGET_RECORDINGS = 4  # the capacity target: this many held at LIVE_FPS, p95 under 150 ms
DELETE_TIMELINE_USER = (
    "from django.contrib.auth import get_user_model\n"
    "get_user_model().objects.filter(username='bench-timeline').delete()"
)


def machine() -> dict:
    import psutil

    model = platform.processor() or "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_1min": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
    }


def media_dir() -> Path:
    base = Path(os.environ.get("EMOTION_DATA_DIR") or ROOT.parent / "shared" / "data")
    return base / "media"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# --------------------------------------------------------------------------- the measures
def bench_inference(args) -> list[dict]:
    from bench import bench_inference as bi

    clips = [CLIP] if args.quick else list(bi.CLIPS)
    rows = []
    for name in clips:
        r = bi.run_clip(media_dir() / name, min(2, os.cpu_count() or 1), 5)
        rows.append(
            row(
                f"analysed frames/s ({name}, every frame, {min(2, os.cpu_count() or 1)} processes)",
                f"{r['fps']:.1f}",
                f">= {bi.CLIPS.get(name, 0):.0f}",
                f"{r['frames']} frames; {r['fps_cpu']:.1f}/s by CPU time; recall {100 * r['recall']:.1f}%",
            )
        )
    return rows


def bench_latency(stack: Stack, args) -> list[dict]:
    seconds = 10 if args.quick else 30
    user = stack.user("bench-latency")
    frames = jpeg_frames(media_dir() / CLIP, LIVE_FPS, int(seconds * LIVE_FPS))
    rec = asyncio.run(record(stack.ws_base, user["cookie"], frames, fps=LIVE_FPS, title="bench latency"))
    warm = int(2 * LIVE_FPS)  # the first two seconds: the worker's first frames of a new session
    ms = [1000 * v for seq, v in rec.latencies.items() if seq >= warm]
    if not ms:
        return [row("live latency", "no results", "< 300 ms", f"skipped {rec.skipped}")]
    median, p95 = statistics.median(ms), pct(ms, 0.95)
    note = f"{len(ms)} frames over {seconds} s at {LIVE_FPS:.0f} fps after a 2 s warm-up; skipped {rec.skipped}"
    return [
        row("live latency, frame sent → result, median", f"{median:.0f} ms", "< 300 ms", note),
        row("live latency, frame sent → result, p95", f"{p95:.0f} ms", "< 300 ms", ""),
    ]


def _cpu_seconds(pids: list[int]) -> float:
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def batch_cpu_per_frame() -> tuple[float, int]:
    """The batch path's CPU time per analysed frame (ms) on the clip at the live rate, in this process."""
    import torch

    from inference.pipeline import analyze_video

    torch.set_num_threads(1)  # as bench_inference's processes and the live processes
    analyze_video(media_dir() / CLIP, fps=LIVE_FPS, end=1.0)  # models loaded, caches warm
    t0 = time.process_time()
    result = analyze_video(media_dir() / CLIP, fps=LIVE_FPS)
    return 1000 * (time.process_time() - t0) / max(1, result.n_frames), result.n_frames


def bench_capacity(stack: Stack, args) -> list[dict]:
    """Simultaneous live recordings at 5 fps, 1, 2, 3 … while every one is analysed at the full rate
    throughout: no frame skipped and no lowered rate (a recording whose rate was lowered is not held)."""
    seconds = 8 if args.quick else 15
    warm = int(2 * LIVE_FPS)  # each run's first two seconds: new sessions' first frames
    frames = jpeg_frames(media_dir() / CLIP, LIVE_FPS, int(seconds * LIVE_FPS))
    users = [stack.user(f"bench-cap-{i}") for i in range(args.max_recordings)]
    held, p95s, detail = 0, {}, []
    live_cpu = None
    for n in range(1, args.max_recordings + 1):

        async def many(n=n):
            return await asyncio.gather(
                *(
                    record(stack.ws_base, users[i]["cookie"], frames, fps=LIVE_FPS, title=f"capacity {n}.{i}")
                    for i in range(n)
                )
            )

        cpu0 = _cpu_seconds(stack.worker_pids("live"))
        recs = asyncio.run(many())
        cpu = _cpu_seconds(stack.worker_pids("live")) - cpu0
        answered = sum(len(r.of_type("live.result")) for r in recs)
        if n == 1 and answered:
            live_cpu = 1000 * cpu / answered
        skipped = [r.skipped for r in recs]
        reduced = sum(r.reduced for r in recs)
        ms = [1000 * v for r in recs for seq, v in r.latencies.items() if seq >= warm]
        p95 = pct(ms, 0.95) if ms else 0.0
        detail.append(
            f"{n}: skipped {sum(skipped)}, lowered {reduced}, median {statistics.median(ms) if ms else 0:.0f} ms, "
            f"p95 {p95:.0f} ms"
        )
        print(f"  capacity {n} recording(s): {detail[-1]}", flush=True)
        if sum(skipped) or reduced:
            detail.append(f"rate lowered by {sum(len(r.of_type('live.rate')) for r in recs)} 'live.rate' messages")
            break
        held = n
        p95s[n] = p95
    batch_ms, batch_frames = batch_cpu_per_frame()
    processes = f"{args.live_concurrency} live processes"
    limit = " (the search's limit, --max-recordings)" if held == args.max_recordings else ""
    target = min(TARGET_RECORDINGS, held)
    return [
        row(
            f"simultaneous live recordings held at {LIVE_FPS:.0f} fps",
            f"{held}{limit}",
            f">= {TARGET_RECORDINGS}",
            f"{seconds} s each, {processes} (run.sh's default here); " + "; ".join(detail),
        ),
        row(
            f"live latency p95 with {target} recordings",
            f"{p95s.get(target, 0.0):.0f} ms",
            "< 150 ms",
            f"after a 2 s warm-up; with {held}: {p95s.get(held, 0.0):.0f} ms",
        ),
        row("live latency p95, one recording", f"{p95s.get(1, 0.0):.0f} ms", "< 100 ms", "after a 2 s warm-up"),
        row(
            "CPU time per frame: live path vs batch path",
            f"{live_cpu or 0:.0f} ms vs {batch_ms:.0f} ms",
            "",
            "live: the live worker's processes over the one-recording run, per result (decode, analysis, "
            f"storage, Redis); batch: analyze_video on the clip at {LIVE_FPS:.0f} fps ({batch_frames} frames)",
        ),
    ]


def bench_timeline(stack: Stack, args) -> list[dict]:
    import httpx

    env = dict(stack.env)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_timeline.py"), "--keep", "--repeat", "3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    match = re.search(r"built session (\d+)", out.stdout)
    query = re.search(r"median ([\d.]+) ms", out.stdout)
    if not match:
        return [row("timeline endpoint", "failed", "< 300 ms", (out.stdout + out.stderr)[-300:])]
    session_id = match.group(1)
    token = stack.user("bench-timeline")["token"]
    url = f"{stack.base}/api/sessions/{session_id}/timeline/"
    headers = {"Authorization": f"Token {token}"}
    with httpx.Client(timeout=60) as client:
        client.get(url, headers=headers).raise_for_status()  # warm
        times = []
        for _ in range(5):
            t = time.perf_counter()
            r = client.get(url, headers=headers)
            times.append(1000 * (time.perf_counter() - t))
            r.raise_for_status()
    stack.manage("shell", "-c", DELETE_TIMELINE_USER)
    median = statistics.median(times)
    return [
        row(
            "timeline endpoint, 1 h session, 3 people (54,000 observations)",
            f"{median:.0f} ms",
            "< 300 ms",
            f"GET /api/sessions/<id>/timeline/ through Daphne, median of 5 ({len(r.content) // 1024} KB); "
            f"the query alone {query.group(1) if query else '?'} ms",
        )
    ]


def bench_writes(stack: Stack, args) -> list[dict]:
    cmd = [sys.executable, str(ROOT / "bench" / "bench_writes.py"), *(["--quick"] if args.quick else [])]
    out = subprocess.run(cmd, cwd=ROOT, env=dict(stack.env), capture_output=True, text=True, timeout=900)
    try:
        m = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [row("observation writes / channel layer", "failed", "", (out.stdout + out.stderr)[-300:])]
    return [
        row("observation rows written, batched (a segment)", f"{m['rows_per_s_batched']:,.0f} rows/s", "",
            f"bulk_create in batches of 1,000 in one transaction, one process; {m['bytes_per_row']:.0f} bytes a "
            "row on disk with its indexes"),
        row("live frames stored, one insert each", f"{m['frames_per_s_single_insert']:,.0f} frames/s", "",
            "one single-row insert per frame, autocommit, one process"),
        row("channel layer messages", f"{m['layer_messages_per_s']:,.0f} messages/s", "",
            f"group_send to a one-channel group and receive, windows of 50, one process: sends "
            f"{m['layer_sends_per_s']:,.0f}/s, receives {m['layer_receives_per_s']:,.0f}/s"),
        row("channel layer messages, 20 groups at once", f"{m['layer_messages_per_s_concurrent']:,.0f} messages/s", "",
            "20 one-channel groups sent to and received from concurrently (asyncio) in one process"),
    ]  # fmt: skip


def bench_study(stack: Stack, args) -> list[dict]:
    cmd = [sys.executable, str(ROOT / "bench" / "bench_study.py"), *(["--quick"] if args.quick else [])]
    out = subprocess.run(cmd, cwd=ROOT, env=dict(stack.env), capture_output=True, text=True, timeout=1800)
    try:
        m = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return [row("study comparison", "failed", "", (out.stdout + out.stderr)[-300:])]
    shape = (
        f"{m['sessions']} sessions x {m['minutes']} min x 2 people at 5 fps ({m['observations']:,} frames "
        f"counted), {m['participants']} participants, 2,000 resamples; median of 5"
    )
    return [
        row("study: two conditions compared", f"{m['comparison_s'] * 1000:.0f} ms", "< 2 s", shape),
        row("study: the same, baseline-corrected", f"{m['comparison_baseline_s'] * 1000:.0f} ms", "< 2 s",
            "baseline: the first 30 s of each session, subtracted"),
    ]  # fmt: skip


def bench_upload(stack: Stack, args) -> list[dict]:
    size = (16 if args.quick else 64) * 2**20
    data = os.urandom(size)
    user = stack.user("bench-upload")
    chunk = 256 * 1024  # as static/js/upload.js sends

    async def upload() -> float:
        ws = await WebSocket.connect(stack.ws_base + "/ws/upload/", cookie=user["cookie"])
        await ws.send_json({"type": "start", "name": "bench.bin", "size": size, "title": "bench"})
        ready = await ws.recv_json(timeout=30)
        assert ready["type"] == "ready", ready
        t0, offset = time.perf_counter(), 0
        while offset < size:
            await ws.send_bytes(data[offset : offset + chunk])
            ack = await ws.recv_json(timeout=60)
            assert ack["type"] == "ack", ack
            offset = ack["offset"]
        elapsed = time.perf_counter() - t0
        await ws.recv_json(timeout=60)  # the verdict on the (random) file: an error, as expected
        await ws.close()
        return elapsed

    elapsed = asyncio.run(upload())
    return [
        row(
            "upload throughput through /ws/upload/",
            f"{size / 2**20 / elapsed:.1f} MB/s",
            "",
            f"{size // 2**20} MB in 256 KB chunks, each acknowledged before the next (as upload.js)",
        )
    ]


def bench_ingest(stack: Stack, args) -> list[dict]:
    """One live recording at 5 fps while another user sends a 1 GB, one-hour video over /ws/upload/ (as
    upload.js: 256 KB chunks, each acknowledged) and the server probes and stores it: the recording's
    latency before the upload, while its chunks arrive, and while it is ingested."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    video = long_recording(workdir / "one-hour.mp4", 3600, pad_to=2**30)
    seconds = 40 if args.quick else 60  # the upload starts after 4 s; it and its ingest take ~10-30 s here
    frames = jpeg_frames(media_dir() / CLIP, LIVE_FPS, int(seconds * LIVE_FPS))
    live_user, upload_user = stack.user("bench-ingest-live"), stack.user("bench-ingest-upload")
    done = {}

    def upload() -> None:
        done["upload"] = asyncio.run(upload_file(stack.ws_base, upload_user["cookie"], video))

    start_at = int(4 * LIVE_FPS)
    rec = asyncio.run(
        record(
            stack.ws_base, live_user["cookie"], frames, fps=LIVE_FPS, title="bench ingest", during=(start_at, upload)
        )
    )
    up = done["upload"]
    video.unlink()
    workdir.rmdir()
    if up.verdict.get("type") == "accepted":  # its 180 segments need not be analysed
        session_id = int(up.verdict["session_id"])
        code = f"from sessions_app.models import Session; Session.objects.filter(pk={session_id}).delete()"
        stack.manage("shell", "-c", code)

    def ms(lo: float, hi: float) -> list[float]:
        return [1000 * v for seq, v in rec.latencies.items() if seq >= 2 * LIVE_FPS and lo <= rec.sent[seq] < hi]

    before, arriving, ingest = ms(0, up.started), ms(up.started, up.complete), ms(up.complete, up.answered)
    last_sent = max(rec.sent.values())
    covered = "" if last_sent > up.answered else " (the recording ended before the ingest did: raise its length)"

    def p95(values: list[float]) -> str:
        return f"{pct(values, 0.95):.0f} ms" if values else "no results"

    note = (
        f"{up.verdict.get('type')}; ingest {up.ingest_seconds:.1f} s (probe of 90,000 packets, copy of 1 GB), "
        f"{len(ingest)} frames answered meanwhile, slowest {max(ingest, default=0):.0f} ms; before the upload: p95 "
        f"{p95(before)} ({len(before)} frames); while its chunks arrived ({up.complete - up.started:.1f} s): p95 "
        f"{p95(arriving)}, slowest {max(arriving, default=0):.0f} ms; skipped {rec.skipped}{covered}"
    )
    return [row("live latency p95 while another user's 1 GB upload is ingested", p95(ingest), "< 300 ms", note)]


def bench_long(stack: Stack, args) -> list[dict]:
    import psutil

    minutes = 3 if args.quick else 30
    workdir = Path(tempfile.mkdtemp(prefix="bench-long-"))
    video = loop_clip(media_dir() / CLIP, workdir / f"loop-{minutes}min.mp4", minutes * 60.0)
    user = stack.user("bench-long")
    pids = stack.worker_pids("inference")
    main_pid, pool = pids[0], pids[1:]
    peak = {"pool": 0, "total": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                main = psutil.Process(main_pid)
                children = main.children()
                pool_rss = max((c.memory_info().rss for c in children), default=0)
                total = main.memory_info().rss + sum(c.memory_info().rss for c in children)
                peak["pool"], peak["total"] = max(peak["pool"], pool_rss), max(peak["total"], total)
            except psutil.Error:
                pass
            done.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t0 = time.perf_counter()
    session_id = stack.upload(user["token"], video, timeout=600)
    while True:
        status, frames, sample_fps = stack.sql(
            "SELECT status, frames_analysed, sample_fps FROM sessions_app_session WHERE id = %s", (session_id,)
        )[0]
        if status in ("done", "failed"):
            break
        time.sleep(2)
    elapsed = time.perf_counter() - t0
    done.set()
    sampler.join()
    video.unlink()
    workdir.rmdir()
    gb = peak["pool"] / 2**30
    return [
        row(
            f"{minutes}-minute video: worker peak memory (pool process RSS)",
            f"{gb:.2f} GB",
            "< 2 GB",
            f"{status}; {frames} frames at {sample_fps:g} fps analysed in {elapsed:.0f} s "
            f"({frames / elapsed:.1f} frames/s, one process); main+pool peak {peak['total'] / 2**30:.2f} GB; "
            f"pool pids {pool}",
        )
    ]


def row(measure: str, value: str, target: str, note: str) -> dict:
    return {"measure": measure, "value": value, "target": target, "note": note}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    ap.add_argument("--quick", action="store_true", help="shorter variants (smoke run)")
    ap.add_argument("--max-recordings", type=int, default=6, help="capacity: stop trying at this many")
    ap.add_argument(
        "--live-concurrency",
        type=int,
        default=int(os.environ.get("EMOTION_LIVE_PROCESSES") or os.cpu_count() or 1),
        help="processes of the live worker (default as run.sh: EMOTION_LIVE_PROCESSES, else one per core)",
    )
    ap.add_argument("--database-url", help="use this PostgreSQL instead of a private embedded one")
    ap.add_argument("--redis-url", help="use this Redis instead of a private embedded one")
    ap.add_argument("--json", help="also write the rows and the machine as JSON here")
    ap.add_argument(
        "--write-identity-params", action="store_true", help="identity: refit inference/identity_params.json"
    )
    ap.add_argument("--keep", action="store_true", help="keep the stack's folder (logs) afterwards")
    args = ap.parse_args()
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(ALL)
    if unknown:
        ap.error(f"unknown measures: {', '.join(sorted(unknown))}")
    if set(only) - {"study"} and not (media_dir() / CLIP).is_file():  # the study bench makes its own data
        print(f"the shared clip {media_dir() / CLIP} is missing; set EMOTION_DATA_DIR", file=sys.stderr)
        return 2

    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cores']} logical cores ({info['physical_cores']} physical), "
        f"{info['ram_gb']} GB RAM, load {info['load_1min']} (1 min), Python {info['python']}",
        flush=True,
    )
    rows: list[dict] = []
    if "inference" in only:
        print("inference …", flush=True)
        rows += bench_inference(args)
    if "identity" in only:
        from bench import identity

        print("identity …", flush=True)
        rows += identity.run(write=args.write_identity_params)
        from bench import identity_cuts

        rows += identity_cuts.run()
    stacked = [m for m in only if m not in ("inference", "identity")]
    if stacked:
        workdir = Path(tempfile.mkdtemp(prefix="bench-stack-"))
        only_db = set(stacked) <= {"study"}  # the study bench needs the database alone: no worker
        stack = Stack(
            workdir,
            workers=[] if only_db else [("live", "live", args.live_concurrency), ("inference", "inference,default", 1)],
            warmup=not only_db,
            database_url=args.database_url,
            redis_url=args.redis_url,
            extra_env={"EMOTION_WORKER_DEVICE": os.environ.get("EMOTION_WORKER_DEVICE", "auto")},
        )
        print(f"starting the stack in {workdir} …", flush=True)
        stack.start()
        try:
            for name in stacked:
                print(f"{name} …", flush=True)
                rows += globals()[f"bench_{name}"](stack, args)
        finally:
            stack.stop()
            if not args.keep:
                subprocess.run(["rm", "-rf", str(workdir)], check=False)
    print()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, load at start {info['load_1min']}")
    print("| measure | value | target | note |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['measure']} | {r['value']} | {r['target']} | {r['note']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
