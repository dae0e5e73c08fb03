// Attention over time for the selected series, with the same cursor, seeking and markers.
/* global d3 */
import { clock, maxGap, pointAt, shadeLowQuality, timeFrame } from "./common.js";
import { withGaps } from "./timeline.js";

export function attentionChart(container, { duration, bucketWidth, gap, seek }) {
  let points = [];
  let width = bucketWidth;
  const readout = d3.select(container).append("div").attr("class", "readout muted").text("\u00a0");
  const frame = timeFrame(container, {
    height: 120, duration, seek, label: "Attention over time",
    onHover(t) {
      const p = t == null ? null : pointAt(points, t, maxGap(width, gap) / 1.5);
      readout.text(t == null ? "\u00a0" : `${clock(t)} · ${p && p.attention == null ? "only faces below the quality bar" : p ? `attention ${Math.round(p.attention * 100)}%` : "nobody on screen"}`);
    },
  });
  const y = d3.scaleLinear().domain([0, 1]).range([frame.inner.h, 0]);
  frame.g.insert("g", ".plot").attr("class", "axis y").call(d3.axisLeft(y).ticks(2).tickFormat(d3.format(".0%")));
  const path = frame.plot.append("path").attr("class", "attention-line").attr("fill", "none")
    .attr("stroke", "#444").attr("stroke-width", 1.5);
  const draw = () => {
    shadeLowQuality(frame, points, width);
    path.attr("d", d3.line().defined((p) => p != null && p.attention != null).x((p) => frame.x(p.t))
      .y((p) => y(p.attention))(withGaps(points, maxGap(width, gap))));
  };
  return {
    setSeries(series, newWidth = width) { points = series; width = newWidth; draw(); },
    setDuration(d) { frame.setDuration(d); draw(); },
    setView(range) { frame.setView(range); draw(); },
    setTime: frame.setTime,
    setMarkers: frame.setMarkers,
  };
}
