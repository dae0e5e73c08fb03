// Shared pieces of the replay charts: sizes, colours, the seek overlay, the cursor and marker lines.
/* global d3 */
export const WIDTH = 800;

// A chart's drawing width: the container's width in CSS pixels (so text stays its real size on a phone),
// at least 360; WIDTH while the container is not laid out (a hidden card).
export function chartWidth(container) {
  const w = container.clientWidth;
  return w > 0 ? Math.max(360, Math.round(w)) : WIDTH;
}
// The left margin holds the y axes and, in "Who is on screen", each lane's face and name.
export const MARGIN = { top: 10, right: 24, bottom: 24, left: 120 };

export function emotionColor(emotions) {
  return d3.scaleOrdinal(emotions, d3.schemeTableau10);
}

// Ticks on round times (tenths when zoomed in, whole seconds, minutes...) over [a, b], at most about
// ``count``, so that no two labels read the same.
function clockTicks([a, b], count) {
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  const span = b - a;
  const step = steps.find((s) => span / s <= count) || 3600 * Math.ceil(span / 3600 / count);
  const first = Math.ceil(a / step - 1e-9);
  return d3.range(first, Math.floor(b / step + 1e-9) + 1).map((k) => Number((k * step).toFixed(1)));
}

let clipIds = 0;

// An <svg> with an inner <g>, an x axis over [0, duration] and a transparent overlay that seeks on
// click or drag (when ``seek`` is given) and reports hover. Returns the parts the charts draw into;
// ``setDuration`` and ``resize`` let a live recording grow the axis and add lanes; ``setView`` zooms
// the axis to [a, b] (null: the whole duration); what falls outside is clipped.
export function timeFrame(container, { height, duration, seek, onHover, label }) {
  const width = chartWidth(container);
  const inner = { w: width - MARGIN.left - MARGIN.right, h: 0 };
  const svg = d3.select(container).append("svg")
    .attr("class", "replay-chart").attr("role", "img").attr("aria-label", label);
  const g = svg.append("g").attr("transform", `translate(${MARGIN.left},${MARGIN.top})`);
  const x = d3.scaleLinear().range([0, inner.w]);
  const xAxis = g.append("g").attr("class", "axis x");
  const clipId = `replay-clip-${++clipIds}`;
  const clipRect = svg.append("defs").append("clipPath").attr("id", clipId).append("rect").attr("width", inner.w);
  const shade = g.append("g").attr("class", "shade").attr("clip-path", `url(#${clipId})`);
  const plot = g.append("g").attr("class", "plot").attr("clip-path", `url(#${clipId})`);
  const markers = g.append("g").attr("class", "markers").attr("clip-path", `url(#${clipId})`);
  const cursor = g.append("line").attr("class", "cursor").attr("y1", 0);
  const overlay = g.append("rect").attr("class", "seek-overlay").attr("width", inner.w)
    .attr("fill", "transparent").style("cursor", seek ? "crosshair" : null);
  let dragging = false;
  let now = 0;
  let marked = [];
  let full = duration;
  let view = null;
  const end = () => full;
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
    svg, g, x, inner, plot, shade, clip: `url(#${clipId})`,
    setTime(t) {
      now = t;
      const px = x(Math.min(t, end()));
      const outside = px < 0 || px > inner.w;
      cursor.attr("x1", px).attr("x2", px).attr("visibility", outside ? "hidden" : null);
    },
    setMarkers(list) {
      marked = list;
      markers.selectAll("line").data(list, (m) => m.id).join("line")
        .attr("class", "marker-line").attr("y1", 0).attr("y2", inner.h)
        .attr("x1", (m) => x(Math.min(m.time, end()))).attr("x2", (m) => x(Math.min(m.time, end())))
        .selectAll("title").data((m) => [m]).join("title").text((m) => `${clock(m.time)} ${m.note}`);
    },
    setDuration(d) {
      full = Math.max(d, 0.001);
      const [a, b] = view ? [Math.max(0, view[0]), Math.min(full, view[1])] : [0, full];
      x.domain(b > a ? [a, b] : [0, full]);
      xAxis.call(d3.axisBottom(x).tickValues(clockTicks(x.domain(), Math.max(2, Math.floor(inner.w / 80)))).tickFormat((t) => clock(t)));
      svg.attr("data-view", x.domain().map((v) => v.toFixed(3)).join("-"));
      frame.setTime(now);
      frame.setMarkers(marked);
    },
    setView(range) { view = range; frame.setDuration(full); },
    resize(h) {
      inner.h = h - MARGIN.top - MARGIN.bottom;
      svg.attr("viewBox", `0 0 ${width} ${h}`);
      xAxis.attr("transform", `translate(0,${inner.h})`);
      cursor.attr("y2", inner.h);
      overlay.attr("height", inner.h);
      clipRect.attr("height", inner.h);
      shade.selectAll("rect").attr("height", inner.h);
      markers.selectAll("line").attr("y2", inner.h);
    },
  };
  frame.resize(height);
  frame.setDuration(duration);
  return frame;
}

// The replay's one way of writing a time: mm:ss.s, or h:mm:ss.s past an hour. Tenths are cut, not
// rounded (2.977 s is "00:02.9": the frame shown then), with a hair of slack for float noise.
export function clock(seconds) {
  const tenths = Math.max(0, Math.floor((Number(seconds) || 0) * 10 + 1e-6));
  const s = Math.floor(tenths / 10);
  const pad = (n) => String(n).padStart(2, "0");
  const rest = `${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}.${tenths % 10}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${rest}` : rest;
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
