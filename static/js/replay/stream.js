// The replay charts fed incrementally during a live recording. Each `live.result` adds its faces to
// rolling buckets; redraws are throttled to a few per second (one requestAnimationFrame at most every
// REDRAW_MS), and the bucket width doubles whenever a series would exceed ``maxPoints`` buckets, so an
// hour-long recording costs no more to draw than the first two minutes.
import { attentionChart } from "./attention.js";
import { barsChart } from "./bars.js";
import { clock } from "./common.js";
import { lanesChart } from "./lanes.js";
import { timelineChart } from "./timeline.js";

const REDRAW_MS = 250;
const EVERYONE = "everyone";
const SWITCH_S = 2; // seconds on screen by which another face must lead before the charts follow it

// Count-weighted mean buckets per series, in the same shape as the timeline API's points:
// {t, n, faces, low, probabilities, attention}, t the start of the bucket; a face below the quality
// bar (``low``) counts in ``faces`` and ``low`` (the chart shades it) but not in the means.
export class LiveBuckets {
  constructor(width, maxPoints = 600) {
    this.width = width;
    this.maxPoints = maxPoints;
    this.series = new Map(); // key -> points sorted by t
  }

  add(key, t, probabilities, attention, low = false) {
    while (t / this.width >= this.maxPoints) this.coarsen();
    let points = this.series.get(key);
    if (!points) this.series.set(key, (points = []));
    const start = Math.floor(t / this.width + 1e-6) * this.width;
    let i = points.length;
    while (i > 0 && points[i - 1].t > start + 1e-9) i--; // results can arrive a little out of order
    const p = points[i - 1];
    const face = low
      ? { n: 0, faces: 1, low: 1, probabilities: null, attention: null }
      : { n: 1, faces: 1, low: 0, probabilities: [...probabilities], attention };
    if (p && Math.abs(p.t - start) < 1e-9) merge(p, face);
    else points.splice(i, 0, { t: start, ...face });
  }

  points(key) {
    return this.series.get(key) || [];
  }

  // Double the width: neighbouring buckets merge.
  coarsen() {
    this.width *= 2;
    for (const [key, points] of this.series) {
      const out = [];
      for (const p of points) {
        const start = Math.floor(p.t / this.width + 1e-6) * this.width;
        const last = out[out.length - 1];
        if (last && Math.abs(last.t - start) < 1e-9) merge(last, p);
        else out.push({ ...p, t: start, probabilities: p.probabilities && [...p.probabilities] });
      }
      this.series.set(key, out);
    }
  }
}

function merge(into, p) {
  const n = into.n + p.n;
  if (p.n && !into.n) {
    into.probabilities = [...p.probabilities];
    into.attention = p.attention;
  } else if (p.n) {
    into.probabilities = into.probabilities.map((v, i) => (v * into.n + p.probabilities[i] * p.n) / n);
    into.attention = (into.attention * into.n + p.attention * p.n) / n;
  }
  into.faces = (into.faces ?? into.n) + (p.faces ?? p.n);
  into.low = (into.low ?? 0) + (p.low ?? 0);
  into.n = n;
}

// The x axis ends at the next round time after ``now``, so it grows in steps rather than every frame.
function axisEnd(now) {
  const step = now < 60 ? 10 : now < 600 ? 60 : 300;
  return Math.max(step, Math.ceil((now + 1e-3) / step) * step);
}

// ``root`` holds #live-bars, #live-timeline, #live-attention, #live-lanes, #live-person, #live-clock.
export function liveCharts(root, { emotions, fps, maxPoints = 600 }) {
  const buckets = new LiveBuckets(1 / fps, maxPoints);
  // A frame skipped under back-pressure must not break the lines: bridge gaps up to 2.5 s.
  const gapOf = (width) => Math.max(width * 1.5, 2.5);
  const opts = { emotions, duration: axisEnd(0), bucketWidth: buckets.width, gap: gapOf, seek: null };
  // Person selector, as on the replay page: each face in order of appearance, then "everyone
  // (average)"; the charts follow the face longest on screen (averaging different people's emotions
  // blurs them) until the user picks a series, which is then kept as faces come and go.
  const select = root.querySelector("#live-person");
  const average = new Option("everyone (average)", EVERYONE);
  select.replaceChildren(average);
  let picked = false; // the user chose a series
  const seen = new Map(); // key -> faces so far (low-quality ones too: time on screen)
  const bars = barsChart(root.querySelector("#live-bars"), opts);
  const emo = timelineChart(root.querySelector("#live-timeline"), opts);
  const att = attentionChart(root.querySelector("#live-attention"), opts);
  const lanes = lanesChart(root.querySelector("#live-lanes"), opts);
  const people = new Map(); // key -> name, in order of appearance
  let latest = null;
  let now = 0;
  let end = opts.duration;
  let scheduled = false;
  let lastDraw = 0;
  let draws = 0;

  const keyOf = (face) => (face.person_id != null ? `p${face.person_id}` : `t${face.track}`);

  function currentValues() {
    const faces = (latest?.faces || []).filter((f) => select.value === EVERYONE || keyOf(f) === select.value);
    if (!faces.length) return null;
    return emotions.map((_, i) => faces.reduce((s, f) => s + f.probabilities[i], 0) / faces.length);
  }

  function draw() {
    scheduled = false;
    lastDraw = performance.now();
    draws += 1;
    const width = buckets.width;
    if (axisEnd(now) !== end) {
      end = axisEnd(now);
      [emo, att, lanes].forEach((c) => c.setDuration(end));
    }
    for (const [key, name] of people) {
      const option = select.querySelector(`option[value="${key}"]`);
      if (!option) select.insertBefore(new Option(name, key), average);
      else if (option.text !== name) option.text = name;
    }
    if (!picked) select.value = longest();
    const points = buckets.points(select.value);
    emo.setSeries(points, width);
    att.setSeries(points, width);
    lanes.setPeople([...people].map(([key, name]) => ({ key, name, points: buckets.points(key) })), width);
    bars.setValues(currentValues());
    [emo, att, lanes].forEach((c) => c.setTime(now));
    root.querySelector("#live-clock").textContent = clock(now);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    const wait = Math.max(0, lastDraw + REDRAW_MS - performance.now());
    setTimeout(() => requestAnimationFrame(draw), wait);
  }

  // The face longest on screen; the one shown keeps its place unless another leads it by SWITCH_S, so
  // two faces on screen together do not make the charts flip back and forth.
  function longest() {
    const shown = seen.get(select.value) ?? -Infinity;
    let best = select.value;
    let most = shown + SWITCH_S * fps;
    for (const [key, n] of seen) {
      if (n > most) [best, most] = [key, n];
    }
    return best;
  }

  select.addEventListener("change", () => {
    picked = true;
    schedule();
  });
  return {
    // One `live.result` message: {time, faces: [{track, person, person_id, probabilities, attention, low}]}.
    add(msg) {
      if (!latest || msg.time >= latest.time) latest = msg;
      for (const f of msg.faces) {
        if (!Array.isArray(f.probabilities)) continue;
        const key = keyOf(f);
        people.set(key, f.person || people.get(key) || `Face on track ${f.track}`);
        buckets.add(key, msg.time, f.probabilities, f.attention, f.low === true);
        seen.set(key, (seen.get(key) || 0) + 1);
        buckets.add(EVERYONE, msg.time, f.probabilities, f.attention, f.low === true);
      }
      now = Math.max(now, msg.time);
      schedule();
    },
    // The recording's clock: moves the "now" cursor between results.
    tick(t) {
      now = Math.max(now, t);
      schedule();
    },
    setMarkers(list) {
      [emo, att, lanes].forEach((c) => c.setMarkers(list));
    },
    // The server's `live.rate`: the charts say when they are fed fewer frames than asked for.
    setRate({ fps: rate, requested, reduced }) {
      const note = root.querySelector("#live-rate");
      if (!note) return;
      note.hidden = !reduced;
      note.textContent = reduced
        ? `Analysis rate reduced to ${rate} frames/s (asked for ${requested}): the server is busy. The recording keeps its full rate.`
        : "";
      root.dataset.rateReduced = reduced ? "1" : "";
    },
    buckets,
    draw, // at once, unthrottled (for measurements)
    get draws() { return draws; },
  };
}
