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
// click or drag and reports hover. Returns the parts the charts draw into.
export function timeFrame(container, { height, duration, seek, onHover, label }) {
  const inner = { w: WIDTH - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom };
  const svg = d3.select(container).append("svg")
    .attr("viewBox", `0 0 ${WIDTH} ${height}`).attr("class", "replay-chart").attr("role", "img")
    .attr("aria-label", label);
  const g = svg.append("g").attr("transform", `translate(${MARGIN.left},${MARGIN.top})`);
  const x = d3.scaleLinear().domain([0, Math.max(duration, 0.001)]).range([0, inner.w]);
  g.append("g").attr("class", "axis x").attr("transform", `translate(0,${inner.h})`)
    .call(d3.axisBottom(x).tickValues(wholeSecondTicks(duration, 8)).tickFormat((t) => clock(t)));
  const plot = g.append("g").attr("class", "plot");
  const markers = g.append("g").attr("class", "markers");
  const cursor = g.append("line").attr("class", "cursor").attr("y1", 0).attr("y2", inner.h);
  const overlay = g.append("rect").attr("class", "seek-overlay").attr("width", inner.w).attr("height", inner.h)
    .attr("fill", "transparent").style("cursor", "crosshair");
  let dragging = false;
  const timeAt = (ev) => Math.min(x.domain()[1], Math.max(0, x.invert(d3.pointer(ev, overlay.node())[0])));
  overlay
    .on("pointerdown", (ev) => { dragging = true; overlay.node().setPointerCapture?.(ev.pointerId); seek(timeAt(ev)); })
    .on("pointermove", (ev) => { const t = timeAt(ev); if (dragging) seek(t); onHover?.(t); })
    .on("pointerup pointercancel", () => { dragging = false; })
    .on("pointerleave", () => onHover?.(null));
  const frame = {
    svg, g, x, inner, plot,
    setTime(t) { const px = x(Math.min(t, x.domain()[1])); cursor.attr("x1", px).attr("x2", px); },
    setMarkers(list) {
      markers.selectAll("line").data(list, (m) => m.id).join("line")
        .attr("class", "marker-line").attr("y1", 0).attr("y2", inner.h)
        .attr("x1", (m) => x(m.time)).attr("x2", (m) => x(m.time))
        .selectAll("title").data((m) => [m]).join("title").text((m) => `${clock(m.time)} ${m.note}`);
    },
  };
  frame.setTime(0);
  return frame;
}

export function clock(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  return `${String(Math.floor(total / 60)).padStart(2, "0")}:${String(total % 60).padStart(2, "0")}`;
}

// The point of ``points`` (sorted by t) covering time ``t``, or null when nobody is there.
export function pointAt(points, t, width) {
  if (!points.length) return null;
  const i = d3.bisectRight(points.map((p) => p.t), t) - 1;
  if (i < 0) return null;
  const p = points[i];
  return t < p.t + Math.max(width, 1e-6) * 1.5 ? p : null;
}
