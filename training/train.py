"""Train the emotion network: ``python -m training.train --help``.

Runs on CPU or CUDA with the same command. Each epoch writes a checkpoint
(``last.pt``, resumable with ``--resume``) and keeps the best model by
validation accuracy; the end of the run fits the temperature on the
validation split, evaluates on the test folders and exports a weights file
in the format of :mod:`inference.emotion.weights`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from inference.classes import EMOTIONS
from inference.emotion import weights as wfile
from inference.emotion.network import ARCHITECTURES, build
from training import data as fer
from training import targets as targets_mod
from training.augment import augment, degrade, shifted_copy
from training.evaluate import evaluate_model, predict_logits
from training.metrics import fit_temperature
from training.paths import DATA_ENV

LABEL_SOURCES = ("fer2013", "ferplus-majority", "ferplus-soft", "mixed")
SELECTIONS = ("val_acc", "val_mean")


def mix_weights(text: str) -> tuple[float, float, float]:
    """``--mix``: three non-negative weights (original, FER+, teachers), not all zero."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or min(values) < 0 or sum(values) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give three non-negative weights such as 0.4,0.3,0.3")
    return values


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--data", type=Path, default=None, help="shared data folder (default: $EMOTION_DATA_DIR or ../shared/data)"
    )
    p.add_argument(
        "--root", type=Path, default=None, help="an extracted folder with train/ and test/ (instead of the archive)"
    )
    p.add_argument("--labels", choices=LABEL_SOURCES, default="fer2013")
    p.add_argument(
        "--mix",
        type=mix_weights,
        default="0.4,0.3,0.3",
        help="with --labels mixed: weights of the original label, the FER+ votes and the teachers",
    )
    p.add_argument("--teacher", type=Path, action="append", default=[], help="teacher weights file (repeatable)")
    p.add_argument("--init", type=Path, default=None, help="start from this weights file (same architecture)")
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), default="vgg-m")
    p.add_argument("--epochs", type=int, default=120)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--optimizer", choices=("sgd", "adamw"), default="sgd")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--warmup-epochs", type=float, default=3)
    p.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument(
        "--class-weights",
        choices=("none", "sqrt", "inverse"),
        default="sqrt",
        help="weight the loss by (inverse) class frequency against imbalance",
    )
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--rotate", type=float, default=10.0, help="rotation jitter, degrees")
    p.add_argument("--scale", type=float, default=0.1, help="scale jitter, fraction")
    p.add_argument("--shift", type=float, default=0.1, help="shift jitter, fraction")
    p.add_argument(
        "--degrade", type=float, default=0.0, help="probability of each capture degradation (training.augment.degrade)"
    )
    p.add_argument(
        "--select",
        choices=SELECTIONS,
        default="val_acc",
        help="keep the epoch with the best validation accuracy, or the best mean of original and FER+ accuracy",
    )
    p.add_argument(
        "--calibration",
        choices=("clean", "shifted"),
        default="clean",
        help="fit the temperature on the validation images, or on them and a degraded copy of them",
    )
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch default)")
    p.add_argument("--out", type=Path, default=Path("training/runs/default"), help="run folder for checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=0,
        help="time budget: after the first epoch the schedule is shortened to fit it (0: none)",
    )
    p.add_argument("--export", type=Path, default=None, help="weights file to write at the end")
    p.add_argument("--version", default=None, help="version string stored in the weights metadata")
    p.add_argument("--no-progress", action="store_true")
    return p.parse_args(argv)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_training_data(args) -> tuple[fer.Split, np.ndarray, np.ndarray]:
    """The train split, its soft targets (N, 7) and a mask of usable rows for the chosen label source."""
    if args.data is not None:
        os.environ[DATA_ENV] = str(args.data)
    train = fer.load_split("train", args.root)
    if args.labels == "fer2013":
        targets = np.eye(len(EMOTIONS), dtype=np.float32)[train.labels]
        usable = np.ones(len(train), dtype=bool)
    elif args.labels == "mixed":
        plus, plus_ok = fer.load_ferplus(train.names)
        teacher = targets_mod.teacher_probs(args.teacher, train.images) if args.teacher else None
        targets = targets_mod.mix_targets(train.labels, plus, plus_ok, teacher, args.mix)
        usable = np.ones(len(train), dtype=bool)
    else:
        targets, usable = fer.load_ferplus(train.names)
        if args.labels == "ferplus-majority":
            targets = np.eye(len(EMOTIONS), dtype=np.float32)[targets.argmax(axis=1)]
    return train, targets, usable


def class_weight_vector(labels: np.ndarray, mode: str) -> torch.Tensor:
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(np.float64) + 1
    if mode == "none":
        w = np.ones_like(counts)
    elif mode == "sqrt":
        w = 1 / np.sqrt(counts)
    else:
        w = 1 / counts
    w = w / (w * counts).sum() * counts.sum()  # keep the mean loss scale
    return torch.tensor(w, dtype=torch.float32)


def validation_ferplus(split: fer.Split, val_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows into the validation split, FER+ majority labels) where FER+ votes are usable, or None."""
    try:
        soft, keep = fer.load_ferplus([split.names[i] for i in val_idx])
    except FileNotFoundError:
        return None
    if not keep.any():  # a folder set FER+ does not cover
        return None
    return np.flatnonzero(keep), soft[keep].argmax(axis=1)


def validation_scores(logits: np.ndarray, labels: np.ndarray, plus) -> dict[str, float]:
    """Validation accuracy against the run's labels, against FER+ majorities, and their mean."""
    acc = float((logits.argmax(1) == labels).mean())
    if plus is None:
        return {"val_acc": acc, "val_mean": acc}
    rows, plus_labels = plus
    plus_acc = float((logits[rows].argmax(1) == plus_labels).mean())
    return {"val_acc": acc, "val_ferplus_acc": plus_acc, "val_mean": (acc + plus_acc) / 2}


def plain(value):
    """A recipe value as the weights file may hold it (weights-only loading refuses paths)."""
    if isinstance(value, Path):
        return value.name
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def lr_at(step: int, total: int, warmup: int, base: float, schedule: str) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    if schedule == "constant":
        return base
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def to_input(images_u8: torch.Tensor, norm: dict) -> torch.Tensor:
    return ((images_u8.float() / 255.0) - norm["mean"]) / norm["std"]


def train(args) -> Path:
    seed_everything(args.seed)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    args.out.mkdir(parents=True, exist_ok=True)

    train_split, targets, usable = load_training_data(args)
    # mixed targets are scored against the original labels, as the test folder is
    hard = train_split.labels if args.labels == "mixed" else targets.argmax(axis=1)
    train_idx, val_idx = fer.stratified_split(train_split.labels, args.val_fraction, args.seed)
    train_idx = train_idx[usable[train_idx]]
    val_idx = val_idx[usable[val_idx]]

    images = torch.from_numpy(train_split.images).unsqueeze(1).to(device)  # uint8 on device
    soft = torch.from_numpy(targets).to(device)
    norm = dict(wfile.DEFAULT_NORMALIZATION)
    cw = class_weight_vector(hard[train_idx], args.class_weights).to(device)

    model = build(args.arch)
    if args.init is not None:
        start = wfile.load(args.init)
        if start.architecture != args.arch:
            raise SystemExit(f"--init {args.init} is {start.architecture}, not {args.arch}")
        model.load_state_dict(start.build_model().float().state_dict())
    model = model.to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(
            model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay
        )
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    steps_per_epoch = math.ceil(len(train_idx) / args.batch_size)
    total_epochs = args.epochs
    start_epoch, best_acc, history = 0, -1.0, []
    last_path, best_path = args.out / "last.pt", args.out / "best.pt"
    if args.resume and last_path.is_file():
        ck = torch.load(last_path, map_location=device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        start_epoch, best_acc, history = ck["epoch"] + 1, ck["best_acc"], ck["history"]
        # Keep a schedule shortened by --max-minutes unless the caller asks for another length.
        asked_before = int(ck["args"].get("epochs", args.epochs))
        total_epochs = ck["total_epochs"] if args.epochs == asked_before else args.epochs
        torch.set_rng_state(ck["rng_cpu"])
        if cuda and ck.get("rng_cuda") is not None:
            torch.cuda.set_rng_state(ck["rng_cuda"])
        print(f"resumed from epoch {start_epoch} (best validation accuracy {best_acc:.4f})")

    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed * 1000 + start_epoch)
    val_images = images[torch.as_tensor(val_idx, device=device)]
    val_plus = validation_ferplus(train_split, val_idx)
    val_shifted = shifted_copy(val_images, args.seed)
    started = time.time()
    epoch = start_epoch
    while epoch < total_epochs:
        t0 = time.time()
        model.train()
        perm = torch.as_tensor(train_idx, device=device)[torch.randperm(len(train_idx), device=device, generator=gen)]
        running, seen = 0.0, 0
        bar = tqdm(
            range(steps_per_epoch), desc=f"epoch {epoch + 1}/{total_epochs}", disable=args.no_progress, leave=False
        )
        for b in bar:
            step = epoch * steps_per_epoch + b
            for group in opt.param_groups:
                group["lr"] = lr_at(
                    step,
                    total_epochs * steps_per_epoch,
                    int(args.warmup_epochs * steps_per_epoch),
                    args.lr,
                    args.schedule,
                )
            idx = perm[b * args.batch_size : (b + 1) * args.batch_size]
            x = images[idx].float() / 255.0
            if not args.no_augment:
                x = augment(x, generator=gen, rotate_deg=args.rotate, scale=args.scale, shift=args.shift)
            if args.degrade:
                x = degrade(x, generator=gen, p=args.degrade)
            x = (x - norm["mean"]) / norm["std"]
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            y = soft[idx]
            if args.label_smoothing:
                y = y * (1 - args.label_smoothing) + args.label_smoothing / len(EMOTIONS)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
                logits = model(x)
            logp = F.log_softmax(logits.float(), dim=1)
            loss = -(y * logp * cw).sum(dim=1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.item() * len(idx) if b % 20 == 0 or b == steps_per_epoch - 1 else 0
            seen += len(idx) if b % 20 == 0 or b == steps_per_epoch - 1 else 0
            if b % 20 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
        val_logits = predict_logits(model, val_images, norm, device=device)
        scores = validation_scores(val_logits, hard[val_idx], val_plus)
        scores["val_shifted_acc"] = float(
            (predict_logits(model, val_shifted, norm, device=device).argmax(1) == hard[val_idx]).mean()
        )
        val_acc = scores[args.select]
        elapsed = time.time() - t0
        history.append({"epoch": epoch + 1, "loss": running / max(seen, 1), **scores, "seconds": round(elapsed, 1)})
        improved = val_acc > best_acc
        if improved:
            best_acc = val_acc
            torch.save(model.state_dict(), best_path)
        if args.max_minutes and epoch == start_epoch + 1 and not args.resume:
            # Judge by the second epoch: the first pays for CUDA start-up and autotuning.
            remaining = args.max_minutes * 60 - (time.time() - started)
            fit = epoch + 1 + int(remaining / max(elapsed, 1e-3))
            if fit < total_epochs:
                total_epochs = max(epoch + 1, fit)
                print(f"time budget {args.max_minutes} min: schedule shortened to {total_epochs} epochs")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "epoch": epoch,
                "best_acc": best_acc,
                "history": history,
                "total_epochs": total_epochs,
                "args": {k: str(v) for k, v in vars(args).items()},
                "rng_cpu": torch.get_rng_state(),
                "rng_cuda": torch.cuda.get_rng_state() if cuda else None,
            },
            last_path,
        )
        print(
            f"epoch {epoch + 1}/{total_epochs} loss {history[-1]['loss']:.4f} "
            + " ".join(f"{k} {v:.4f}" for k, v in scores.items())
            + f"{' *' if improved else ''} ({elapsed:.1f}s)",
            flush=True,
        )
        epoch += 1
    print(f"training finished in {(time.time() - started) / 60:.1f} min; best validation accuracy {best_acc:.4f}")

    model.load_state_dict(torch.load(best_path, map_location=device, weights_only=True))
    val_logits = predict_logits(model, val_images, norm, device=device)
    labels = hard[val_idx]
    if args.calibration == "shifted":
        val_logits = np.concatenate([val_logits, predict_logits(model, val_shifted, norm, device=device)])
        labels = np.concatenate([labels, labels])
    temperature = fit_temperature(val_logits, labels)
    metrics = {"validation_" + args.select: best_acc, "epochs": total_epochs, "calibration": args.calibration}
    try:
        metrics.update(evaluate_model(model, norm, temperature, root=args.root, device=device))
    except FileNotFoundError as exc:
        print(f"test evaluation skipped: {exc}")
    recipe = {
        k: plain(v)
        for k, v in vars(args).items()
        if k not in {"data", "root", "out", "export", "resume", "no_progress", "threads"}
    }
    meta = wfile.make_metadata(
        args.arch,
        temperature=temperature,
        version=args.version or f"{args.arch}-{args.labels}-{datetime.now(UTC):%Y%m%d}",
        trained=True,
        metrics=metrics,
        data_source="FER-2013 (Kaggle msambare layout)" if args.root is None else f"folder {args.root.name}",
        label_source=args.labels,
        recipe=recipe,
        history=history,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    out = wfile.save(args.export or args.out / "emotion.pt", model.cpu(), meta)
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"exported {out} (temperature {temperature:.3f})")
    return out


def main(argv=None) -> Path:
    return train(parse_args(argv))


if __name__ == "__main__":
    main()
