// Shared pieces of the replay charts: sizes, colours, the seek overlay, the cursor and marker lines.
/* global d3 */
export const WIDTH = 800;
export const MARGIN = { top: 10, right: 16, bottom: 24, left: 44 };

export function emotionColor(emotions) {
  return d3.scaleOrdinal(emotions, d3.schemeTableau10);
}

// Ticks on whole seconds only (mm:ss labels would repeat otherwise), at most about `count`.
function wholeSecondTicks(duration, count) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const step = steps.find((s) => duration / s <= count) || 3600 * Math.ceil(duration / 3600 / count);
  return d3.range(0, duration + 1e-9, step);
}

// An <svg> with an inner <g>, an x axis over [0, duration] and a transparent overlay that seeks on
// click or drag (when ``seek`` is given) and reports hover. Returns the parts the charts draw into;
// ``setDuration`` and ``resize`` let a live recording grow the axis and add lanes.
export function timeFrame(container, { height, duration, seek, onHover, label }) {
  const inner = { w: WIDTH - MARGIN.left - MARGIN.right, h: 0 };
  const svg = d3.select(container).append("svg")
    .attr("class", "replay-chart").attr("role", "img").attr("aria-label", label);
  const g = svg.append("g").attr("transform", `translate(${MARGIN.left},${MARGIN.top})`);
  const x = d3.scaleLinear().range([0, inner.w]);
  const xAxis = g.append("g").attr("class", "axis x");
  const shade = g.append("g").attr("class", "shade");
  const plot = g.append("g").attr("class", "plot");
  const markers = g.append("g").attr("class", "markers");
  const cursor = g.append("line").attr("class", "cursor").attr("y1", 0);
  const overlay = g.append("rect").attr("class", "seek-overlay").attr("width", inner.w)
    .attr("fill", "transparent").style("cursor", seek ? "crosshair" : null);
  let dragging = false;
  let now = 0;
  let marked = [];
  const end = () => x.domain()[1];
  const timeAt = (ev) => Math.min(end(), Math.max(0, x.invert(d3.pointer(ev, overlay.node())[0])));
  overlay
    .on("pointerdown", (ev) => {
      if (!seek) return;
      dragging = true;
      overlay.node().setPointerCapture?.(ev.pointerId);
      seek(timeAt(ev));
    })
    .on("pointermove", (ev) => { const t = timeAt(ev); if (dragging) seek(t); onHover?.(t); })
    .on("pointerup pointercancel", () => { dragging = false; })
    .on("pointerleave", () => onHover?.(null));
  const frame = {
    svg, g, x, inner, plot, shade,
    setTime(t) { now = t; const px = x(Math.min(t, end())); cursor.attr("x1", px).attr("x2", px); },
    setMarkers(list) {
      marked = list;
      markers.selectAll("line").data(list, (m) => m.id).join("line")
        .attr("class", "marker-line").attr("y1", 0).attr("y2", inner.h)
        .attr("x1", (m) => x(Math.min(m.time, end()))).attr("x2", (m) => x(Math.min(m.time, end())))
        .selectAll("title").data((m) => [m]).join("title").text((m) => `${clock(m.time)} ${m.note}`);
    },
    setDuration(d) {
      x.domain([0, Math.max(d, 0.001)]);
      xAxis.call(d3.axisBottom(x).tickValues(wholeSecondTicks(end(), 8)).tickFormat((t) => clock(t)));
      frame.setTime(now);
      frame.setMarkers(marked);
    },
    resize(h) {
      inner.h = h - MARGIN.top - MARGIN.bottom;
      svg.attr("viewBox", `0 0 ${WIDTH} ${h}`);
      xAxis.attr("transform", `translate(0,${inner.h})`);
      cursor.attr("y2", inner.h);
      overlay.attr("height", inner.h);
      shade.selectAll("rect").attr("height", inner.h);
      markers.selectAll("line").attr("y2", inner.h);
    },
  };
  frame.resize(height);
  frame.setDuration(duration);
  return frame;
}

export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
}

// Lines break (and lanes end) where a series skips more than this: a bucket and a half, or ``gap``
// (seconds, or a function of the bucket width).
export function maxGap(width, gap) {
  if (typeof gap === "function") return gap(width);
  return gap ?? width * 1.5;
}

// The point of ``points`` (sorted by t) covering time ``t``, or null when nobody is there.
export function pointAt(points, t, width) {
  if (!points.length) return null;
  const i = d3.bisectRight(points.map((p) => p.t), t) - 1;
  if (i < 0) return null;
  const p = points[i];
  return t < p.t + Math.max(width, 1e-6) * 1.5 ? p : null;
}

// A bucket is shaded when at least half of its faces were below the quality bar (``low`` of
// ``faces``, both counted by the server or by the live buckets).
export const isLowQuality = (p) => p != null && p.low > 0 && p.low * 2 >= (p.faces ?? p.n);

// Grey bands behind the lines over the low-quality buckets of ``points`` (``width`` s each).
export function shadeLowQuality(frame, points, width) {
  frame.shade.selectAll("rect.low-quality").data(points.filter(isLowQuality), (p) => p.t).join("rect")
    .attr("class", "low-quality").attr("y", 0).attr("height", frame.inner.h)
    .attr("fill", "#888").attr("fill-opacity", 0.22)
    .attr("x", (p) => frame.x(p.t)).attr("width", (p) => Math.max(1, frame.x(p.t + width) - frame.x(p.t)))
    .selectAll("title").data((p) => [p]).join("title")
    .text((p) => `${p.low} of ${p.faces ?? p.n} faces below the quality bar`);
}
