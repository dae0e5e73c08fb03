// Emotions over time for the selected series: one line per emotion, legend toggles, a cursor at the
// video time (or at "now" while recording), click/drag to seek, and a hover readout. ``setSeries``
// may be called again and again with a growing series (live recording).
/* global d3 */
import { MARGIN, chartWidth, clock, emotionColor, maxGap, pointAt, shadeLowQuality, timeFrame } from "./common.js";

export function timelineChart(container, { emotions, duration, bucketWidth, gap, seek }) {
  const color = emotionColor(emotions);
  const hidden = new Set();
  let points = [];
  let width = bucketWidth;
  const legend = d3.select(container).append("div").attr("class", "legend");
  const readout = d3.select(container).append("div").attr("class", "readout muted").text("\u00a0");
  const frame = timeFrame(container, {
    height: 220, duration, seek, label: "Emotions over time",
    onHover(t) {
      const p = t == null ? null : pointAt(points, t, maxGap(width, gap) / 1.5);
      readout.text(t == null ? "\u00a0" : `${clock(t)} · ` + (p && !p.probabilities
        ? "only faces below the quality bar"
        : p
        ? emotions.filter((e) => !hidden.has(e)).map((e) => `${e} ${Math.round(p.probabilities[emotions.indexOf(e)] * 100)}%`).join(" · ")
        : "nobody on screen"));
    },
  });
  const y = d3.scaleLinear().domain([0, 1]).range([frame.inner.h, 0]);
  frame.g.insert("g", ".plot").attr("class", "axis y").call(d3.axisLeft(y).ticks(4).tickFormat(d3.format(".0%")));

  function draw() {
    const lines = emotions.map((e, i) => ({ e, i }));
    const gapped = withGaps(points, maxGap(width, gap));
    shadeLowQuality(frame, points, width);
    frame.plot.selectAll("path.emotion-line").data(lines, (d) => d.e).join("path")
      .attr("class", (d) => `emotion-line emotion-${d.e}`)
      .attr("fill", "none").attr("stroke", (d) => color(d.e)).attr("stroke-width", 1.5)
      .style("display", (d) => (hidden.has(d.e) ? "none" : null))
      .attr("d", (d) => d3.line().defined((p) => p != null && p.probabilities != null)
        .x((p) => frame.x(p.t)).y((p) => y(p.probabilities[d.i]))(gapped));
  }

  legend.selectAll("button").data(emotions).join("button")
    .attr("type", "button").attr("class", "legend-toggle").attr("aria-pressed", "true")
    .style("border-color", (e) => color(e))
    .text((e) => e)
    .on("click", function (ev, e) {
      if (hidden.has(e)) hidden.delete(e); else hidden.add(e);
      d3.select(this).attr("aria-pressed", String(!hidden.has(e))).classed("off", hidden.has(e));
      draw();
    });

  return {
    setSeries(series, newWidth = width) { points = series; width = newWidth; draw(); },
    setDuration(d) { frame.setDuration(d); draw(); },
    setView(range) { frame.setView(range); draw(); },
    shadedCount: () => frame.shade.selectAll("rect.low-quality").size(),
    setTime: frame.setTime,
    setMarkers: frame.setMarkers,
  };
}

// Break the line where the series skips more than ``gap`` seconds between points (the person left).
export function withGaps(points, gap) {
  const out = [];
  points.forEach((p, i) => {
    if (i > 0 && p.t - points[i - 1].t > gap + 1e-9) out.push(null);
    out.push(p);
  });
  return out;
}

// A thin strip under a chart, over the whole session: brushing a span on it zooms the charts to that
// span (``onZoom([a, b])``); an empty brush or ``reset`` shows everything (``onZoom(null)``).
export function zoomStrip(container, { duration, onZoom }) {
  const h = 26, width = chartWidth(container), w = width - MARGIN.left - MARGIN.right;
  const svg = d3.select(container).append("svg").attr("viewBox", `0 0 ${width} ${h}`)
    .attr("class", "replay-chart zoom-strip").attr("role", "img")
    .attr("aria-label", "Zoom: drag across a span of time; double-click a chart to show all of it");
  const g = svg.append("g").attr("transform", `translate(${MARGIN.left},2)`);
  g.append("rect").attr("width", w).attr("height", h - 4).attr("fill", "#f1f1f1");
  g.append("text").attr("class", "zoom-hint").attr("x", 6).attr("y", h / 2 + 2)
    .text(w < 400 ? "drag here to zoom" : "drag here to zoom the charts · double-click a chart to see the whole session");
  const x = d3.scaleLinear().domain([0, Math.max(duration, 0.001)]).range([0, w]);
  const brush = d3.brushX().extent([[0, 0], [w, h - 4]]).on("end", (ev) => {
    if (!ev.sourceEvent && ev.selection) return;  // moved by ``reset``, not by the user
    const range = ev.selection ? ev.selection.map(x.invert) : null;
    onZoom(range && range[1] - range[0] > 0.05 ? range : null);
  });
  const brushG = g.append("g").attr("class", "brush").call(brush);
  svg.on("dblclick", () => { brushG.call(brush.move, null); onZoom(null); });
  return { reset() { brushG.call(brush.move, null); onZoom(null); } };
}
