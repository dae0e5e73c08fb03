"""The study's figures against values computed independently from the arrays the observations were made
from: frame masks in numpy, intervals with ``scipy.stats.bootstrap`` (method="percentile", the same seed
and number of resamples). The service draws the same participant indices as scipy (one
``Generator.integers(0, n, (B, n))`` call), so intervals agree to rounding: the only difference is the
order in which PostgreSQL and numpy add the frames (1e-9 is many orders above that, and far below any
difference a wrong resampling would make)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from sessions_app.models import Marker
from studies.models import StudySettings
from studies.services import compare
from studies.services.stats import bootstrap_means
from tests.studies.conftest import MEASURES, QUALITY_BAR

TOL = 1e-9
B, SEED = 2000, 4242


def scipy_ci(values: np.ndarray, n_resamples: int = B, seed: int = SEED) -> tuple[float, float]:
    res = sps.bootstrap(
        (np.asarray(values, dtype=float),), np.mean, n_resamples=n_resamples, method="percentile",
        rng=np.random.default_rng(seed), vectorized=True,
    )  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def test_bootstrap_matches_scipy_percentile():
    rng = np.random.default_rng(3)
    for n in (2, 5, 17):
        values = rng.normal(0.4, 0.2, size=(n, 3))
        ours = bootstrap_means(values, B, SEED)
        for j in range(3):
            low, high = scipy_ci(values[:, j])
            assert ours[0, j] == pytest.approx(values[:, j].mean(), abs=TOL)
            assert (ours[1, j], ours[2, j]) == pytest.approx((low, high), abs=TOL)
    # a wrong draw (another seed) gives another interval: the comparison can fail
    values = rng.normal(size=12)
    assert bootstrap_means(values, B, SEED + 1)[1, 0] != pytest.approx(scipy_ci(values)[0], abs=1e-6)


def in_spans(f, spans) -> np.ndarray:
    mask = np.zeros(f.time.shape, dtype=bool)
    for session, start, end in spans:
        if session.pk == f.session.pk:
            mask |= np.ones_like(mask) if start is None else (f.time >= start) & (f.time < end)
    return mask


def reference(study, spans, include_unreliable=False, base=None, op="subtract"):
    """participant code -> (mean per measure over its frames in ``spans``, frames); ``base(f)``: the
    baseline vector of that person's session (None: left out)."""
    acc: dict[str, list] = {}
    code_of = {p.pk: code for code, p in study.people.items()}
    for f in study.frames:
        mask = in_spans(f, spans) & ((f.quality >= QUALITY_BAR) | include_unreliable)
        if not mask.any():
            continue
        x = f.values[mask]
        if base is not None:
            b = base(f)
            if b is None:
                continue
            x = x - b if op == "subtract" else x / b
        acc.setdefault(code_of[f.person.pk], []).append(x)
    return {code: (np.vstack(xs).mean(axis=0), sum(len(x) for x in xs)) for code, xs in acc.items()}


@pytest.fixture
def three(study):
    rng = np.random.default_rng(11)
    s1 = study.add_session("one", 10, 5, rng, ["P01", "P02", "P03", "P04"])
    s2 = study.add_session("two", 10, 5, rng, ["P01", "P02", "P03"])
    s3 = study.add_session("three", 10, 5, rng, ["P02", "P03"])
    control = [(s1, None, None), (s2, 0.0, 5.0)]
    task = [(s2, 5.0, 10.0), (s3, None, None)]
    study.condition("control", *control)
    study.condition("task", *task)
    return study, s1, s2, s3, control, task


def check_condition(got: dict, ref: dict):
    order = sorted(ref, key=lambda code: code)  # participants were made in code order: ids follow codes
    assert {p["participant"] for p in got["participants"]} == set(ref)
    assert got["n_participants"] == len(ref)
    assert got["n_frames"] == sum(n for _, n in ref.values())
    for p in got["participants"]:
        mean, n = ref[p["participant"]]
        assert p["n_frames"] == n
        assert [p["means"][m] for m in MEASURES] == pytest.approx(list(mean), abs=TOL)
    values = np.vstack([ref[c][0] for c in order])
    for j, m in enumerate(MEASURES):
        across = got["across"][m]
        low, high = scipy_ci(values[:, j])
        assert across["mean"] == pytest.approx(values[:, j].mean(), abs=TOL)
        assert (across["ci_low"], across["ci_high"]) == pytest.approx((low, high), abs=TOL)
        assert across["n_participants"] == len(ref)
        assert across["n_frames"] == got["n_frames"]


def test_comparison_and_paired_difference(three):
    study, s1, s2, s3, control, task = three
    opts = compare.options(None, False, False, B, SEED)
    got = compare.compare(study.project, ["control", "task"], opts)
    ref_c, ref_t = reference(study, control), reference(study, task)
    assert set(ref_c) == {"P01", "P02", "P03", "P04"} and set(ref_t) == {"P01", "P02", "P03"}
    check_condition(got["conditions"][0], ref_c)
    check_condition(got["conditions"][1], ref_t)
    paired = got["paired"]
    both = ["P01", "P02", "P03"]
    diffs = np.vstack([ref_t[c][0] - ref_c[c][0] for c in both])
    assert paired["n_participants"] == 3 and paired["difference"] == "task - control"
    for j, m in enumerate(MEASURES):
        assert paired["across"][m]["mean"] == pytest.approx(diffs[:, j].mean(), abs=TOL)
        assert (paired["across"][m]["ci_low"], paired["across"][m]["ci_high"]) == pytest.approx(
            scipy_ci(diffs[:, j]), abs=TOL
        )
    # the quality toggle: faces below the bar count too, and more frames stand behind the figure
    every = compare.compare(study.project, ["control"], compare.options(None, False, True, B, SEED))
    check_condition(every["conditions"][0], reference(study, control, include_unreliable=True))
    assert every["conditions"][0]["n_frames"] > got["conditions"][0]["n_frames"]


def first_seconds_base(study, seconds):
    def base(f):
        m = (f.time < seconds) & (f.quality >= QUALITY_BAR)
        return f.values[m].mean(axis=0) if m.any() else None

    return base


@pytest.mark.parametrize("op", ["subtract", "divide"])
def test_baseline_first_seconds(three, op):
    study, s1, s2, s3, control, task = three
    StudySettings.objects.create(project=study.project, mode="first", first_seconds=2.0, op=op)
    got = compare.compare(study.project, ["task"], compare.options(None, True, False, B, SEED))
    assert got["baseline"] is True
    ref = reference(study, task, base=first_seconds_base(study, 2.0), op=op)
    check_condition(got["conditions"][0], ref)
    plain = compare.compare(study.project, ["task"], compare.options(None, False, False, B, SEED))
    assert plain["conditions"][0]["across"]["happy"]["mean"] != pytest.approx(
        got["conditions"][0]["across"]["happy"]["mean"], abs=1e-3
    )


def test_baseline_marked_range_and_condition(three):
    study, s1, s2, s3, control, task = three
    for s in (s2, s3):  # s1 has no marked baseline: its frames drop out of corrected figures
        Marker.objects.create(session=s, author=study.owner, time=1.1, note="rest start")
        Marker.objects.create(session=s, author=study.owner, time=3.3, note="rest end")
    StudySettings.objects.create(project=study.project, mode="markers", start_label="rest start", end_label="rest end")

    def marked(f):
        if f.session.pk == s1.pk:
            return None
        m = (f.time >= 1.1) & (f.time < 3.3) & (f.quality >= QUALITY_BAR)
        return f.values[m].mean(axis=0)

    got = compare.compare(study.project, ["control", "task"], compare.options(None, True, False, B, SEED))
    check_condition(got["conditions"][0], reference(study, control, base=marked))
    check_condition(got["conditions"][1], reference(study, task, base=marked))

    # a baseline condition: each participant's mean over its ranges, whatever the session
    rest = study.condition("rest", (s1, 0.0, 3.0))
    StudySettings.objects.filter(project=study.project).update(mode="condition", condition=rest)
    per_person = reference(study, [(s1, 0.0, 3.0)])
    code_of = {p.pk: c for c, p in study.people.items()}
    got = compare.compare(study.project, ["task"], compare.options(None, True, False, B, SEED))
    check_condition(
        got["conditions"][0], reference(study, task, base=lambda f: per_person.get(code_of[f.person.pk], (None,))[0])
    )


def test_event_locked_average(three):
    study, s1, s2, s3, control, task = three
    events = [(s1, 4.1), (s1, 7.3), (s2, 5.05)]
    for s, t in events:
        Marker.objects.create(session=s, author=study.owner, time=t, note="stim")
    Marker.objects.create(session=s3, author=study.owner, time=2.0, note="other")
    window, step = 1.0, 0.4
    got = compare.event_locked(study.project, "stim", window, step, compare.options(None, False, False, B, SEED))
    k_max = 2
    assert got["events"] == 3 and [p["t"] for p in got["curves"]["happy"]] == pytest.approx([-0.8, -0.4, 0, 0.4, 0.8])
    code_of = {p.pk: c for c, p in study.people.items()}
    per: dict[str, dict[int, list]] = {}
    for s, tm in events:
        for f in (f for f in study.frames if f.session.pk == s.pk):
            bins = np.floor((f.time - tm) / step + 0.5)
            for k in range(-k_max, k_max + 1):
                m = (bins == k) & (f.quality >= QUALITY_BAR)
                if m.any():
                    per.setdefault(code_of[f.person.pk], {}).setdefault(k, []).append(f.values[m].mean(axis=0))
    assert got["n_participants"] == len(per)
    for i, k in enumerate(range(-k_max, k_max + 1)):
        codes = sorted(c for c in per if k in per[c])
        values = np.vstack([np.mean(per[c][k], axis=0) for c in codes])
        for j, measure in enumerate(MEASURES):
            point = got["curves"][measure][i]
            assert point["n_participants"] == len(codes)
            assert point["mean"] == pytest.approx(values[:, j].mean(), abs=TOL)
            assert (point["ci_low"], point["ci_high"]) == pytest.approx(scipy_ci(values[:, j]), abs=TOL)


def test_lines_per_participant_across_sessions(three):
    study, s1, s2, s3, *_ = three
    got = compare.lines(study.project, compare.options(["happy"], False, False, B, SEED))
    assert [s["id"] for s in got["sessions"]] == [s1.pk, s2.pk, s3.pk]
    p02 = next(p for p in got["participants"] if p["participant"] == "P02")
    assert [pt["session"] for pt in p02["points"]] == [s1.pk, s2.pk, s3.pk]
    for pt, s in zip(p02["points"], (s1, s2, s3), strict=True):
        mean, n = reference(study, [(s, None, None)])["P02"]
        assert pt["means"]["happy"] == pytest.approx(mean[MEASURES.index("happy")], abs=TOL) and pt["n_frames"] == n
    p04 = next(p for p in got["participants"] if p["participant"] == "P04")
    assert [pt["session"] for pt in p04["points"]] == [s1.pk]


def test_bad_requests_say_why(three):
    study = three[0]
    opts = compare.options(None)
    for call, words in (
        (lambda: compare.compare(study.project, ["nope"], opts), "No condition"),
        (lambda: compare.compare(study.project, [], opts), "at least one"),
        (lambda: compare.options(["joy"]), "Unknown measure"),
        (lambda: compare.options(None, n_resamples=5), "resamples"),
        (lambda: compare.event_locked(study.project, "stim", math.inf, 0.5, opts), "window"),
        (lambda: compare.event_locked(study.project, "stim", 5, 0.0, opts), "step"),
    ):
        with pytest.raises(compare.StudyError, match=words):
            call()


def test_valence_arousal_estimate_means(three):
    """Where inference.affect's estimate exists, it is a measure like the others: computed per frame in the
    query, averaged and resampled the same way (skipped on a checkout from before it)."""
    affect = pytest.importorskip("inference.affect")
    study, s1, s2, s3, control, task = three
    names = ["valence_estimate", "arousal_estimate"]
    got = compare.compare(study.project, ["task"], compare.options(names, False, False, B, SEED))
    weights = np.array([affect.VALENCE, affect.AROUSAL]).T  # 7 x 2
    for f in study.frames:  # the reference: inference.affect's own function, frame by frame
        probs = f.values[:, :7]
        va = np.array([affect.valence_arousal(list(p)) for p in probs])
        assert va == pytest.approx(probs @ weights / probs.sum(axis=1, keepdims=True), abs=1e-12)
        f.values = va
    ref = reference(study, task)
    cond = got["conditions"][0]
    for p in cond["participants"]:
        assert [p["means"][m] for m in names] == pytest.approx(list(ref[p["participant"]][0]), abs=TOL)
    values = np.vstack([ref[c][0] for c in sorted(ref)])
    for j, m in enumerate(names):
        assert cond["across"][m]["mean"] == pytest.approx(values[:, j].mean(), abs=TOL)
        assert (cond["across"][m]["ci_low"], cond["across"][m]["ci_high"]) == pytest.approx(
            scipy_ci(values[:, j]), abs=TOL
        )
