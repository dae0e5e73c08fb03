// Who is on screen when: one lane per person (thumbnail and name), bars where they were seen.
/* global d3 */
import { MARGIN, timeFrame } from "./common.js";

const LANE = 26;

export function lanesChart(container, { people, duration, bucketWidth, seek }) {
  const height = MARGIN.top + MARGIN.bottom + Math.max(1, people.length) * LANE;
  const frame = timeFrame(container, { height, duration, seek, label: "Who is on screen when" });
  frame.svg.attr("class", "replay-chart lanes");
  const lanes = frame.plot.selectAll("g.lane").data(people).join("g")
    .attr("class", "lane").attr("transform", (_, i) => `translate(0,${i * LANE})`);
  lanes.append("rect").attr("class", "lane-bg").attr("width", frame.inner.w).attr("height", LANE - 4)
    .attr("fill", (_, i) => (i % 2 ? "#f4f4f4" : "#eaeaea"));
  lanes.selectAll("rect.run").data((p) => runs(p.points, bucketWidth)).join("rect")
    .attr("class", "run").attr("y", 2).attr("height", LANE - 8).attr("fill", "#4e79a7")
    .attr("x", (r) => frame.x(r[0])).attr("width", (r) => Math.max(1, frame.x(r[1]) - frame.x(r[0])));
  lanes.filter((p) => p.thumbnail).append("image").attr("class", "lane-thumb")
    .attr("href", (p) => p.thumbnail).attr("x", 2).attr("y", 1).attr("width", LANE - 6).attr("height", LANE - 6);
  lanes.append("text").attr("class", "lane-name").attr("x", (p) => (p.thumbnail ? LANE : 4)).attr("y", LANE / 2 + 2)
    .text((p) => p.name);
  return { setTime: frame.setTime, setMarkers: frame.setMarkers };
}

// [start, end] spans of consecutive buckets.
function runs(points, width) {
  const out = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && p.t - last[1] <= width * 0.5 + 1e-9) last[1] = p.t + width;
    else out.push([p.t, p.t + width]);
  }
  return out;
}
