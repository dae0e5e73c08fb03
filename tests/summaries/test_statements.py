"""Every sentence of a heuristic summary agrees with the figures it cites: each line is parsed back
into its numbers and checked against the digest it was written from (no database: plain digests)."""

from __future__ import annotations

import random
import re

import pytest

from inference.classes import EMOTIONS
from sessions_app.timefmt import clock
from sessions_app.units import percent
from summaries import heuristic
from summaries.digest import Digest, digest_from_rows

TIME = r"\d\d:\d\d(?::\d\d)?\.\d"


def _probs(emotion: str, p: float) -> list[float]:
    rest = (1.0 - p) / (len(EMOTIONS) - 1)
    return [p if e == emotion else rest for e in EMOTIONS]


def _digest(people: dict[int, list[tuple[float, str, float, float]]], **kw) -> Digest:
    """``people``: person id -> [(time, emotion, its probability, attention)]."""
    rows = sorted((t, pid, pid, *_probs(e, p), att) for pid, frames in people.items() for t, e, p, att in frames)
    names = {pid: f"P{pid}" for pid in people}
    defaults = {"session_id": 1, "title": "t", "duration": 30.0, "sample_fps": 2.0, "markers": []}
    return digest_from_rows(rows, names, **{**defaults, **kw})


def _random_digest(seed: int) -> Digest:
    rng = random.Random(seed)
    people = {}
    for pid in range(1, rng.randint(2, 4) + 1):
        start = rng.randint(0, 20)
        people[pid] = [
            (start + f / 2, rng.choice(EMOTIONS), rng.choice([0.3, 0.495, 0.5, 0.7, 0.9]), rng.choice(EDGES))
            for f in range(rng.randint(3, 40))
        ]
    markers = [(rng.uniform(0, 30), rng.choice(["", "  ", "intro", "question"])) for _ in range(3)]
    return _digest(people, markers=sorted(markers), people_charted=len(people) + rng.randint(0, 1))


# attention values on and around the shown boundaries (40%, 70%)
EDGES = [0.0, 0.3949, 0.395, 0.3999, 0.40, 0.4001, 0.6949, 0.695, 0.70, 0.7001, 1.0]

DIGESTS = {
    # one person per edge value, constant attention: the mean sits exactly on it
    "edges": _digest({i + 1: [(t / 2, "happy", 0.5, a) for t in range(6)] for i, a in enumerate(EDGES)}),
    "one person": _digest({1: [(t / 2, "sad", 0.4951, 0.4) for t in range(4)]}, duration=2.977),
    "markers": _digest(
        {1: [(0.0, "fear", 0.66, 0.7), (0.5, "happy", 0.8, 0.39)]},
        markers=[(2.977, ""), (3.0, "   "), (3725.25, "late")],
        duration=3726.0,
    ),
    "photo": _digest({1: [(0.0, "happy", 0.8, 0.5)], 2: [(0.0, "angry", 0.6, 0.7)]}, photo=True, duration=0.0),
    "all faces": _digest({1: [(0.0, "happy", 0.8, 0.5)]}, include_unreliable=True, people_charted=2),
    **{f"random {seed}": _random_digest(seed) for seed in range(8)},
}


class Checker:
    def __init__(self, digest: Digest):
        self.d = digest
        self.by_name = {p.name: p for p in digest.people}
        self.person = None
        self.bands: tuple[int, int] | None = None

    def band_of(self, shown: int) -> str:
        high, low = self.bands
        return "high" if shown >= high else "low" if shown < low else "moderate"

    def check(self, line: str) -> None:  # noqa: C901 - one branch per kind of statement
        d = self.d
        if m := re.fullmatch(
            r"(A photo|(\S+) of video), (\d+) (person|people) seen"
            r"( \((\d+) with faces clear enough to describe\))?\. Figures count (.+)\.",
            line,
        ):
            assert (m[1] == "A photo") == d.photo
            if not d.photo:
                assert m[2] == clock(d.duration)
            seen = d.people_charted if d.people_charted is not None else len(d.people)
            assert int(m[3]) == seen and m[4] == ("person" if seen == 1 else "people")
            assert (m[6] is not None) == (len(d.people) < seen) and (m[6] is None or int(m[6]) == len(d.people))
            assert (m[7] == "reliable faces only") != d.include_unreliable
        elif m := re.fullmatch(rf"(.+): on screen (\d+\.\d) s, ({TIME})–({TIME})\.", line):
            self.person = p = self.by_name[m[1]]
            assert not d.photo
            assert m[2] == f"{p.time_on_screen:.1f}" and m[3] == clock(p.first) and m[4] == clock(p.end)
        elif m := re.fullmatch(r"(.+): in the photo\.", line):
            assert d.photo
            self.person = self.by_name[m[1]]
        elif m := re.fullmatch(
            r"- (?:Starts (\w+), ends (\w+); d|D)ominant emotion (\w+) \((?:mean )?(\d+)%\)\.", line
        ):
            p = self.person
            if m[1]:
                assert (m[1], m[2]) == (p.segments[0].emotion, p.segments[-1].emotion)
            shown = {e: percent(v) for e, v in p.mean_probs.items()}
            assert int(m[4]) == shown[m[3]] == max(shown.values()) and m[3] == p.dominant
        elif m := re.fullmatch(r"- No emotion shift\.", line):
            assert not heuristic.shifts(self.person)
        elif m := re.fullmatch(r"- (\d+) emotion (shifts?): (.+)\.", line):
            listed = re.findall(rf"({TIME}) (\w+) → (\w+)", m[3])
            shifts = [(clock(t), a, b) for t, a, b in heuristic.shifts(self.person)]
            assert int(m[1]) == len(shifts) and m[2] == ("shift" if len(shifts) == 1 else "shifts")
            assert listed == shifts[: len(listed)] and listed
        elif m := re.fullmatch(r"- Peaks: (.+)\.", line):
            for e, pct, t in re.findall(rf"(\w+) (\d+)% at ({TIME})", m[1]):
                i = EMOTIONS.index(e)
                top = max(percent(s.probs[i]) for s in self.person.samples)
                assert int(pct) == top >= heuristic.PEAK_MIN
                assert any(clock(s.time) == t and percent(s.probs[i]) == top for s in self.person.samples)
        elif m := re.fullmatch(r"- No emotion reached (\d+)% on any frame\.", line):
            assert all(percent(v) < int(m[1]) for s in self.person.samples for v in s.probs)
        elif m := re.fullmatch(r"- Attention (high|moderate|low): mean (\d+)% \((.+)\)\.", line):
            self.read_bands(m[3])
            assert int(m[2]) == percent(self.person.mean_attention) and m[1] == self.band_of(int(m[2]))
        elif m := re.fullmatch(r"- Attention never fell below (\d+)%\.", line):
            assert int(m[1]) == self.bands[1]
            assert all(percent(s.attention) >= self.bands[1] for s in self.person.samples)
        elif m := re.fullmatch(rf"- Longest low-attention stretch: ({TIME})–({TIME}) \((\d+\.\d) s\)\.", line):
            start, end = _seconds(m[1]), _seconds(m[2])
            assert abs((end - start) - float(m[3])) <= 0.15
            inside = [s for s in self.person.samples if start <= s.time < end]
            assert inside and all(percent(s.attention) < self.bands[1] for s in inside)
        elif m := re.fullmatch(r"Group \((\d+) people\):", line):
            assert int(m[1]) == len(d.people) > 1
        elif m := re.fullmatch(r"- Dominant emotions: (.+)\.", line):
            for part in m[1].split("; "):
                emotion, names = part.split(" for ", 1)
                assert all(self.by_name[n].dominant == emotion for n in names.split(", "))
        elif m := re.fullmatch(
            r"- Attention (\w+) over all faces \(mean (\d+)%\); "
            r"most attentive (.+) \((\d+)%\), least attentive (.+) \((\d+)%\)\.",
            line,
        ):
            frames = sum(p.frames for p in d.people)
            mean = sum(p.mean_attention * p.frames for p in d.people) / frames
            assert int(m[2]) == percent(mean) and m[1] == self.band_of(int(m[2]))
            shown = [percent(p.mean_attention) for p in d.people]
            assert int(m[4]) == percent(self.by_name[m[3]].mean_attention) == max(shown)
            assert int(m[6]) == percent(self.by_name[m[5]].mean_attention) == min(shown)
        elif m := re.fullmatch(r"Markers: (.+)\.", line):
            parts = m[1].split("; ")
            assert len(parts) == len(d.markers)
            for part, (t, note) in zip(parts, d.markers, strict=True):
                assert part == f"{clock(t)} {note.strip() or '(no note)'}"
        else:
            raise AssertionError(f"a statement the checker does not know: {line!r}")

    def read_bands(self, text: str) -> None:
        m = re.fullmatch(r"high (\d+)% or more, moderate (\d+)–(\d+)%, low under (\d+)%", text)
        high, mod_lo, mod_hi, low = map(int, m.groups())
        assert mod_lo == low and mod_hi == high - 1  # every whole percentage in exactly one band
        self.bands = (high, low)


def _seconds(text: str) -> float:
    parts = [float(x) for x in text.split(":")]
    return sum(v * 60**i for i, v in enumerate(reversed(parts)))


def check_summary(digest: Digest, text: str) -> None:
    checker = Checker(digest)
    for line in filter(None, text.split("\n")):
        checker.check(line)
    if digest.photo:
        assert "fps" not in text and "frame" not in text


@pytest.mark.parametrize("name", list(DIGESTS))
def test_each_statement_agrees_with_its_figures(name):
    digest = DIGESTS[name]
    text = heuristic.summarize(digest).text
    check_summary(digest, text)
    assert text.count("\n\n") >= 1  # more than the headline was checked


def test_edge_values_fall_in_one_band_as_shown():
    text = heuristic.summarize(DIGESTS["edges"]).text
    means = re.findall(r"Attention (\w+): mean (\d+)%", text)
    assert ("moderate", "40") in means and ("high", "70") in means and ("low", "39") in means
    assert ("low", "40") not in means and ("moderate", "70") not in means
    markers = heuristic.summarize(DIGESTS["markers"]).text.split("Markers: ")[1]
    assert not re.search(rf"{TIME}\s*[;.]", markers)  # an empty note is never a bare time
    assert markers == "00:02.9 (no note); 00:03.0 (no note); 01:02:05.2 late."


@pytest.mark.parametrize(
    "bad",
    [
        "- Attention low: mean 40% (high 70% or more, moderate 40–69%, low under 40%).",
        "- Attention moderate: mean 40% (high 70% or more, moderate 40–70%, low under 40%).",
        "Markers: 00:02.9 ; 00:03.0 (no note); 01:02:05.2 late.",
    ],
)
def test_checker_catches_contradictions(bad):
    digest = DIGESTS["markers"]
    checker = Checker(digest)
    checker.person = digest.people[0]
    with pytest.raises(AssertionError):
        checker.check(bad)


def test_prompt_counts_people_as_charted_and_knows_a_photo():
    from summaries.prompt import build_user_text

    assert build_user_text(DIGESTS["all faces"]).startswith("Session length 00:30.0, 2 people.")
    assert build_user_text(DIGESTS["photo"]).startswith("A photo, 2 people.")
