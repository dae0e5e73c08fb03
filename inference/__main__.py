"""Command line: ``python -m inference analyze INPUT [options]``.

Exit codes: 0 ok, 2 bad input (unreadable / not media) or bad options, 1 other failure.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import click

from inference.errors import MediaError


@click.group()
def cli():
    """Emotion, identity and attention analysis of images and videos."""


@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False))
@click.option("--fps", type=float, default=None, help="Frames per second to analyse (default: every frame).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write all results as JSON.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="Write one row per face per frame.")
@click.option(
    "--annotated", type=click.Path(dir_okay=False), help="Write an annotated H.264 MP4 (or PNG/JPEG for an image)."
)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--detector", type=click.Choice(["hog", "cnn"]), default="hog", show_default=True)
@click.option(
    "--detect-every",
    type=int,
    default=None,
    help="Run full detection every N frames (default: about 5 times a second).",
)
def analyze(input_path, fps, json_out, csv_out, annotated, device, detector, detect_every):
    """Analyse INPUT (image or video) and print a per-person summary."""
    from inference import media

    try:
        info = media.probe(input_path)
    except MediaError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        code = _run(input_path, info, fps, json_out, csv_out, annotated, device, detector, detect_every)
    except MediaError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        click.echo(f"error: {exc.__class__.__name__}: {exc}", err=True)
        sys.exit(1)
    sys.exit(code)


def _run(input_path, info, fps, json_out, csv_out, annotated, device, detector, detect_every) -> int:
    from tqdm import tqdm

    from inference import media
    from inference.api import annotate
    from inference.classes import EMOTIONS
    from inference.pipeline import Analyzer, analyze_video, auto_detect_every

    is_image = info.kind == "image"
    if is_image:
        detect_every = 1
    elif detect_every is None:
        detect_every = auto_detect_every(fps or info.fps)
    an = Analyzer(device=device, detector=detector, detect_every=detect_every, target=1280 if is_image else 640)
    total = 1 if is_image else (int(info.duration * fps) + 1 if fps else info.frame_count or None)
    writer = None
    ann_images = []
    if annotated and not is_image:
        out_fps = fps if fps else (info.fps or 25.0)
        writer = media.VideoWriter(annotated, fps=out_fps)
    bar = tqdm(total=total, unit="frame", desc=Path(input_path).name, disable=None)

    def on_frame(frame, result):
        bar.update(1)
        if annotated:
            img = annotate(frame.image, [f.to_dict() for f in result.faces])
            if writer is not None:
                writer.write(img)
            else:
                ann_images.append(img)

    try:
        res = analyze_video(input_path, fps=None if is_image else fps, analyzer=an, on_frame=on_frame)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    if annotated and is_image and ann_images:
        from PIL import Image

        out = Path(annotated)
        if out.suffix.lower() in (".png", ".jpg", ".jpeg"):
            Image.fromarray(ann_images[0]).save(out)
        else:
            media.write_video(out, ann_images, fps=1)
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(res.to_dict(), indent=1))
    if csv_out:
        Path(csv_out).parent.mkdir(parents=True, exist_ok=True)
        with open(csv_out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
                    "frame",
                    "time",
                    "slot",
                    "track_id",
                    "person",
                    "top",
                    "right",
                    "bottom",
                    "left",
                    "emotion",
                    "confidence",
                    *EMOTIONS,
                    "attention",
                    "yaw",
                    "pitch",
                    "roll",
                    "eye_openness",
                ]
            )
            for fr in res.frames:
                for f in fr.faces:
                    w.writerow(
                        [
                            fr.index,
                            f"{fr.time:.3f}",
                            f.slot,
                            f.track_id,
                            f.person or "",
                            *f.box,
                            f.emotion,
                            f"{f.confidence:.4f}",
                            *(f"{f.probabilities[e]:.4f}" for e in EMOTIONS),
                            f"{f.attention:.4f}",
                            f"{f.yaw:.1f}",
                            f"{f.pitch:.1f}",
                            f"{f.roll:.1f}",
                            f"{f.eye_openness:.3f}",
                        ]
                    )
    n_faces = sum(len(f.faces) for f in res.frames)
    click.echo(
        f"{Path(input_path).name}: {info.kind} {info.width}x{info.height}, {res.n_frames} frame(s) analysed, "
        f"{n_faces} face observation(s), {len(res.summary)} person(s), {res.elapsed:.1f} s "
        f"(emotion model {an.classifier.architecture} v{an.classifier.version})"
    )
    if res.summary:
        click.echo(f"{'person':<10} {'on screen':>9} {'frames':>6}  {'dominant':<9} {'conf':>5}  {'attention':>9}")
        for s in res.summary:
            who = s.person or f"#{s.track_id}"
            click.echo(
                f"{who:<10} {s.time_on_screen:>8.1f}s {s.frames:>6}  {s.dominant_emotion:<9} "
                f"{s.mean_probabilities[s.dominant_emotion]:>5.2f}  {s.mean_attention:>9.2f}"
            )
    else:
        click.echo("no faces found")
    return 0


def main():
    cli(prog_name="python -m inference")


if __name__ == "__main__":
    main()
