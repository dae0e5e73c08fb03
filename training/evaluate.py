"""Evaluate an emotion weights file: ``python -m training.evaluate --help``.

Reports accuracy, per-class precision/recall/F1, macro F1, the confusion
matrix (also as PNG) and calibration (ECE before and after the temperature
fitted on FER-2013's validation split) on: the whole Kaggle test folder
(PublicTest + PrivateTest, original labels), PrivateTest alone, the test
folder without images that also appear in train, and the FER+ test labels.

``--set`` adds folder sets (``sfew2-aligned``, ``tw-performers`` from the shared
data folder, or any folder / archive of ``<class>/<image>``), each image classified
whole; ``--pipeline`` also runs them through the platform's own path (detection,
landmarks, alignment and crop, as the workers do) and scores the largest face.
Evaluation sets are for measuring only: the temperature and everything else come
from FER-2013's training split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from inference.classes import EMOTIONS
from training import data as fer
from training import folders
from training.augment import shifted_copy, tta_views
from training.metrics import fit_temperature, report


@torch.no_grad()
def predict_logits(
    model: torch.nn.Module, images, norm: dict, device=None, batch: int = 512, tta: bool = False
) -> np.ndarray:
    """Logits (N, 7) for uint8 images (N, 48, 48) or (N, 1, 48, 48), as float64."""
    device = torch.device(device or "cpu")
    x_all = torch.as_tensor(images)
    if x_all.dim() == 3:
        x_all = x_all.unsqueeze(1)
    was_training = model.training
    model.eval()
    out = []
    for i in range(0, len(x_all), batch):
        x = x_all[i : i + batch].to(device).float() / 255.0
        views = tta_views(x) if tta else [x]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            logits = torch.stack([model((v - norm["mean"]) / norm["std"]).float() for v in views]).mean(0)
        out.append(logits.cpu().double().numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)))


def evaluation_sets(train: fer.Split, test: fer.Split) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Named (row indices into ``test``, labels) sets of the test folder."""
    everything = np.arange(len(test))
    private = np.array(["PrivateTest_" in n for n in test.names])
    dup = fer.duplicates_of(train, test)
    sets = {
        "test (PublicTest+PrivateTest)": (everything, test.labels),
        "PrivateTest": (everything[private], test.labels[private]),
        "test without train duplicates": (everything[~dup], test.labels[~dup]),
    }
    try:
        soft, keep = fer.load_ferplus(test.names)
        sets["FER+ test labels (majority)"] = (everything[keep], soft[keep].argmax(axis=1))
    except FileNotFoundError:
        pass
    return sets


def evaluate_model(model, norm, temperature, root=None, device="cpu", tta=False) -> dict:
    train = fer.load_split("train", root)
    test = fer.load_split("test", root)
    logits = predict_logits(model, test.images, norm, device, tta=tta)  # once; the sets are subsets
    results = {"duplicates_removed": int(fer.duplicates_of(train, test).sum())}
    for name, (rows, labels) in evaluation_sets(train, test).items():
        if len(labels):
            results[name] = report(logits[rows], labels, temperature)
    return results


class _Recorder:
    """Passes the pipeline's calls to the classifier and keeps its last (unrounded) probabilities."""

    def __init__(self, classifier):
        self.classifier = classifier
        self.last = np.zeros((0, len(EMOTIONS)))

    def face_crop(self, *args):
        return self.classifier.face_crop(*args)

    def predict(self, crops) -> np.ndarray:
        self.last = self.classifier.predict(crops)
        return self.last


def pipeline_logits(classifier, fs: folders.FolderSet) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, 7) of the largest face the production path finds in each photo, and a found mask.

    Each photo goes through a fresh :class:`~inference.pipeline.Analyzer` configured as the workers
    configure it for an image (detection on the frame, landmarks, aligned 48 px crop). The pipeline
    gives ``softmax(z / T)``; ``log(p) * T`` equals ``z`` up to a per-row constant, which neither
    argmax nor any temperature changes, so the result scores like logits.
    """
    from inference.pipeline import Analyzer

    rec = _Recorder(classifier)
    logits = np.zeros((len(fs), len(EMOTIONS)))
    found = np.zeros(len(fs), dtype=bool)
    for i, path in enumerate(fs.paths):
        res = Analyzer(classifier=rec, detect_every=1).process(folders.read_rgb(path), 0, 0.0)
        if not res.faces:
            continue
        face = max(res.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[1] - f.box[3]))
        p = np.clip(rec.last[face.slot], 1e-12, None)
        logits[i] = np.log(p) * classifier.temperature
        found[i] = True
    return logits, found


def evaluate_folder_set(model, norm, temperature, fs, device="cpu", tta=False, classifier=None) -> dict:
    """Whole-image report of a folder set, plus the production-path report when ``classifier`` is given."""
    whole = predict_logits(model, folders.whole_images(fs), norm, device, tta=tta)
    out = {f"{fs.name} (whole image)": report(whole, fs.labels, temperature)}
    if classifier is not None:
        logits, found = pipeline_logits(classifier, fs)
        r = report(logits[found], fs.labels[found], temperature)
        # a photo where no face is found is a miss of the platform too
        r["photos"] = len(fs)
        r["faces_found"] = int(found.sum())
        r["accuracy_all_photos"] = float((logits.argmax(axis=1)[found] == fs.labels[found]).sum() / max(1, len(fs)))
        out[f"{fs.name} (pipeline, largest face)"] = r
    return out


def plot_confusion(cm: np.ndarray, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                f"{cm[i, j]}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def format_report(name: str, r: dict) -> str:
    found = ""
    if "faces_found" in r:
        found = (
            f"  (a face found in {r['faces_found']} of {r['photos']} photos; accuracy over all photos, "
            f"misses counted wrong: {r['accuracy_all_photos'] * 100:.2f}%)"
        )
    lines = [
        f"== {name}: n={r['n']}  accuracy {r['accuracy'] * 100:.2f}%  macro F1 {r['macro_f1'] * 100:.2f}%  "
        f"ECE {r['ece']:.4f} -> {r['ece_calibrated']:.4f} (T={r['temperature']:.3f}){found}",
        f"{'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}",
    ]
    for c in r["per_class"]:
        lines.append(f"{c['class']:<10}{c['precision']:>10.3f}{c['recall']:>10.3f}{c['f1']:>10.3f}{c['support']:>9}")
    lines.append("confusion (rows true, columns predicted: " + ", ".join(EMOTIONS) + ")")
    lines += ["  " + " ".join(f"{v:>5}" for v in row) for row in r["confusion"]]
    return "\n".join(lines)


def validation_logits(model, norm, train: fer.Split, val_idx, recipe: dict, device, tta) -> tuple:
    """Validation logits and labels for the temperature, as the weights' recipe fitted it:
    the validation images, and a degraded copy of them too for ``--calibration shifted``."""
    images = torch.from_numpy(train.images[val_idx]).unsqueeze(1)
    logits = predict_logits(model, images, norm, device, tta=tta)
    labels = train.labels[val_idx]
    if recipe.get("calibration") == "shifted":
        shifted = shifted_copy(images, int(recipe.get("seed", 1)))
        logits = np.concatenate([logits, predict_logits(model, shifted, norm, device, tta=tta)])
        labels = np.concatenate([labels, labels])
    return logits, labels


def main(argv=None) -> dict:
    from inference.emotion.weights import load
    from training.paths import PROJECT_ROOT

    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, default=PROJECT_ROOT / "inference" / "weights" / "emotion.pt")
    p.add_argument("--root", type=Path, default=None, help="an extracted folder with train/ and test/")
    p.add_argument("--tta", action="store_true", help="average over mirrored and shifted views")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--set",
        action="append",
        dest="sets",
        default=None,
        metavar="NAME|PATH",
        help=f"evaluate this set ({', '.join(('fer2013', *folders.ARCHIVES))}, or a folder/archive of "
        "<class>/<image>); repeatable; default fer2013",
    )
    p.add_argument("--pipeline", action="store_true", help="also score folder sets through detection + crop")
    p.add_argument("--json", type=Path, default=None, help="write all numbers here")
    p.add_argument("--png", type=Path, default=None, help="confusion matrix of the whole test folder")
    args = p.parse_args(argv)

    w = load(args.weights)
    model = w.build_model().to(args.device)
    norm = w.metadata["normalization"]
    recipe = w.metadata.get("recipe", {})
    train = fer.load_split("train", args.root)
    _, val_idx = fer.stratified_split(train.labels, float(recipe.get("val_fraction", 0.1)), int(recipe.get("seed", 1)))
    val_logits, val_labels = validation_logits(model, norm, train, val_idx, recipe, args.device, args.tta)
    temperature = fit_temperature(val_logits, val_labels)
    print(
        f"weights {args.weights.name}: {w.architecture}, version {w.version}, label source "
        f"{w.metadata.get('label_source')}; temperature fitted on validation {temperature:.3f} "
        f"(stored {w.temperature:.3f}){'; TTA on' if args.tta else ''}"
    )
    results = {"weights": args.weights.name, "version": w.version, "temperature_validation": temperature}
    classifier = None
    if args.pipeline:
        from inference.emotion.classifier import EmotionClassifier

        classifier = EmotionClassifier(args.weights, device=args.device)
    for name in args.sets or ["fer2013"]:
        if name == "fer2013":
            results.update(evaluate_model(model, norm, temperature, args.root, args.device, args.tta))
            print(f"{results['duplicates_removed']} test images have a byte-identical copy in train")
            continue
        fs = folders.read_folder_set(*folders.locate(name))
        results.update(evaluate_folder_set(model, norm, temperature, fs, args.device, args.tta, classifier))
    for name, r in results.items():
        if isinstance(r, dict):
            print(format_report(name, r))
    first = next(k for k, v in results.items() if isinstance(v, dict))
    if args.png:
        plot_confusion(np.array(results[first]["confusion"]), f"{w.version}: {first}", args.png)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
