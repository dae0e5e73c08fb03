"""The default weights per device follow the shipped figures (inference/weights/defaults.json) by its rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from inference.emotion import choice

ROOT = Path(__file__).resolve().parents[2]
COUNTED = ["sfew2-aligned (pipeline, largest face)", "tw-performers (pipeline, largest face)"]


def test_shipped_figures_are_the_measured_ones():
    defaults = choice.read_defaults()
    assert defaults["counted"] == COUNTED
    for name, entry in defaults["figures"].items():
        measured = json.loads((ROOT / entry["source"]).read_text())
        assert measured["weights"] == name and measured["version"] == entry["version"]
        for set_name, accuracy in entry["accuracy"].items():
            assert accuracy == pytest.approx(measured[set_name]["accuracy"], abs=5e-5), (name, set_name)
        assert (choice.WEIGHTS_DIR / name).is_file()


def test_the_rule_on_the_shipped_figures_picks_the_cpu_file_for_cuda_too():
    defaults = choice.read_defaults()
    figures = {n: e["accuracy"] for n, e in defaults["figures"].items()}
    # emotion-large.pt is ahead on FER-2013's own test images, behind on both sets the rule counts
    assert (
        figures["emotion-large.pt"]["test (PublicTest+PrivateTest)"]
        > figures["emotion.pt"]["test (PublicTest+PrivateTest)"]
    )
    assert choice.score(figures["emotion.pt"], COUNTED) == pytest.approx((0.51965, 0.5108))
    assert choice.score(figures["emotion-large.pt"], COUNTED) == pytest.approx((0.47015, 0.4634))
    assert choice.choose("cuda", defaults) == "emotion.pt"
    assert choice.choose("cpu", defaults) == "emotion.pt"
    assert choice.default_weights("cuda") == choice.WEIGHTS_DIR / "emotion.pt"


def test_the_rule_follows_the_figures():
    defaults = choice.read_defaults()
    better = copy.deepcopy(defaults)
    for name in COUNTED:  # were the large file ahead where the rule looks, a CUDA worker would load it
        better["figures"]["emotion-large.pt"]["accuracy"][name] = 0.60
    assert choice.choose("cuda", better) == "emotion-large.pt"
    assert choice.choose("cpu", better) == "emotion.pt"  # the CPU keeps the fast network
    fer_only = copy.deepcopy(defaults)  # FER-2013's own images do not count
    fer_only["figures"]["emotion-large.pt"]["accuracy"]["test (PublicTest+PrivateTest)"] = 0.99
    assert choice.choose("cuda", fer_only) == "emotion.pt"
    tie = copy.deepcopy(defaults)  # equal means: the higher worst set wins
    tie["figures"]["emotion-large.pt"]["accuracy"].update(dict(zip(COUNTED, (0.5196, 0.5197), strict=True)))
    tie["figures"]["emotion.pt"]["accuracy"].update(dict(zip(COUNTED, (0.5093, 0.53), strict=True)))
    assert choice.choose("cuda", tie) == "emotion-large.pt"
    unmeasured = copy.deepcopy(better)  # a file not measured on a counted set is never chosen
    del unmeasured["figures"]["emotion-large.pt"]["accuracy"][COUNTED[1]]
    assert choice.choose("cuda", unmeasured) == "emotion.pt"


def test_classifier_records_the_file_it_loaded():
    from inference.pipeline import get_classifier

    clf = get_classifier("cpu")
    loaded = clf.identity()
    assert loaded["file"] == "emotion.pt" and loaded["device"] == "cpu" and loaded["gpu"] == ""
    assert loaded["version"] == choice.read_defaults()["figures"]["emotion.pt"]["version"]
    assert (
        loaded["sha256"]
        == choice.file_digest(choice.WEIGHTS_DIR / "emotion.pt")
        != choice.file_digest(choice.WEIGHTS_DIR / "emotion-large.pt")
    )
