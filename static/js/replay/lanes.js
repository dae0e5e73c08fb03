// Who is on screen when: one lane per person, bars where they were seen; each lane's face and name
// sit in the left margin beside it, never over the bars.
// ``setPeople`` redraws with a new list (a live recording adds lanes as faces appear).
/* global d3 */
import { MARGIN, maxGap, timeFrame } from "./common.js";

const LANE = 26;
const heightFor = (n) => MARGIN.top + MARGIN.bottom + Math.max(1, n) * LANE;

// ``onPick(i)``: a click on the i-th lane's face or name (the replay shows that person's charts).
export function lanesChart(container, { people = [], duration, bucketWidth, gap, seek, onPick }) {
  const frame = timeFrame(container, { height: heightFor(people.length), duration, seek, label: "Who is on screen when" });
  frame.svg.attr("class", "replay-chart lanes");
  frame.plot.attr("clip-path", null);  // the names sit left of the plot: only the bars are clipped
  let shown = people;
  let width = bucketWidth;

  function draw() {
    frame.resize(heightFor(shown.length));
    const lanes = frame.plot.selectAll("g.lane").data(shown, (p) => p.key ?? String(p.id)).join((enter) => {
      const lane = enter.append("g").attr("class", "lane");
      lane.append("rect").attr("class", "lane-bg").attr("height", LANE - 4);
      lane.append("g").attr("class", "runs").attr("clip-path", frame.clip);
      lane.filter((p) => p.thumbnail).append("image").attr("class", "lane-thumb")
        .attr("href", (p) => p.thumbnail).attr("x", 2 - MARGIN.left).attr("y", 1).attr("width", LANE - 6).attr("height", LANE - 6);
      lane.append("text").attr("class", "lane-name").attr("x", (p) => (p.thumbnail ? LANE : 4) - MARGIN.left).attr("y", LANE / 2 + 2);
      lane.append("title");
      if (onPick) {
        lane.selectAll("image.lane-thumb, text.lane-name").classed("pickable", true)
          .on("click", (ev) => onPick(shown.indexOf(d3.select(ev.currentTarget.parentNode).datum())));
      }
      return lane;
    }).order().attr("transform", (_, i) => `translate(0,${i * LANE})`);
    lanes.select("rect.lane-bg").attr("width", frame.inner.w).attr("fill", (_, i) => (i % 2 ? "#f4f4f4" : "#eaeaea"));
    lanes.select("text.lane-name").text((p) => short(p.name, p.thumbnail ? 13 : 16));
    lanes.select("title").text((p) => p.name);
    lanes.select("g.runs").selectAll("rect.run").data((p) => runs(p.points, width, maxGap(width, gap))).join("rect")
      .attr("class", "run").attr("y", 2).attr("height", LANE - 8).attr("fill", "#4e79a7")
      .attr("x", (r) => frame.x(r[0])).attr("width", (r) => Math.max(1, frame.x(r[1]) - frame.x(r[0])));
  }
  draw();
  return {
    setPeople(list, newWidth = width) { shown = list; width = newWidth; draw(); },
    setDuration(d) { frame.setDuration(d); draw(); },
    setView(range) { frame.setView(range); draw(); },
    setTime: frame.setTime,
    setMarkers: frame.setMarkers,
  };
}

// [start, end] spans of buckets no more than ``gap`` apart (start to start).
function runs(points, width, gap) {
  const out = [];
  let prev = null;
  for (const p of points) {
    const last = out[out.length - 1];
    if (last && p.t - prev <= gap + 1e-9) last[1] = p.t + width;
    else out.push([p.t, p.t + width]);
    prev = p.t;
  }
  return out;
}

// A name cut to ``n`` characters (with an ellipsis) to fit the margin; the full one is in the lane's title.
const short = (name, n) => (name.length > n ? `${name.slice(0, n - 1)}\u2026` : name);
