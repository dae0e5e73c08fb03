// The study's D3 charts: bars with 95% intervals per condition, a line per participant across sessions,
// and event-locked means with their interval band. Each draws into an empty container.
/* global d3 */

const W = 640, H = 260, M = { top: 12, right: 16, bottom: 36, left: 52 };

function frame(container, label) {
  d3.select(container).selectAll("*").remove();
  const svg = d3.select(container).append("svg").attr("viewBox", `0 0 ${W} ${H}`)
    .attr("class", "study-svg").attr("role", "img").attr("aria-label", label);
  return svg;
}

function axes(svg, x, y, yLabel) {
  svg.append("g").attr("transform", `translate(0,${H - M.bottom})`).call(d3.axisBottom(x).ticks(8));
  svg.append("g").attr("transform", `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(6));
  svg.append("text").attr("x", 4).attr("y", M.top - 2).attr("class", "axis-label").text(yLabel);
}

function extent(values) {
  const [lo, hi] = d3.extent(values.filter((v) => v !== null && Number.isFinite(v)));
  if (lo === undefined) return [0, 1];
  const pad = (hi - lo) * 0.1 || 0.05;
  return [Math.min(0, lo - pad), hi + pad];
}

export function barsChart(container, comparison, measure) {
  const rows = comparison.conditions.map((c) => ({ label: c.condition, ...c.across[measure] }));
  const svg = frame(container, `Mean ${measure} per condition with 95% intervals`);
  const x = d3.scaleBand().domain(rows.map((r) => r.label)).range([M.left, W - M.right]).padding(0.35);
  const y = d3.scaleLinear().domain(extent(rows.flatMap((r) => [r.mean, r.ci_low, r.ci_high])))
    .range([H - M.bottom, M.top]);
  axes(svg, x, y, measure);
  const g = svg.selectAll("g.cond").data(rows).join("g").attr("class", "cond").attr("data-condition", (r) => r.label);
  g.append("rect").attr("class", "study-bar").attr("x", (r) => x(r.label)).attr("width", x.bandwidth())
    .attr("y", (r) => y(Math.max(0, r.mean ?? 0))).attr("height", (r) => Math.abs(y(r.mean ?? 0) - y(0)))
    .attr("data-mean", (r) => r.mean);
  const ci = g.filter((r) => r.ci_low !== null);
  const cx = (r) => x(r.label) + x.bandwidth() / 2;
  ci.append("line").attr("class", "study-ci").attr("x1", cx).attr("x2", cx)
    .attr("y1", (r) => y(r.ci_low)).attr("y2", (r) => y(r.ci_high));
  g.append("text").attr("class", "study-n").attr("x", cx).attr("y", H - 4).attr("text-anchor", "middle")
    .text((r) => `n=${r.n_participants}, ${r.n_frames} frames`);
}

export function linesChart(container, lines, measure) {
  const svg = frame(container, `${measure} of each participant across sessions`);
  const ids = lines.sessions.map((s) => String(s.id));
  const x = d3.scalePoint().domain(ids).range([M.left, W - M.right]).padding(0.5);
  const all = lines.participants.flatMap((p) => p.points.map((q) => q.means[measure]));
  const y = d3.scaleLinear().domain(extent(all)).range([H - M.bottom, M.top]);
  const titles = Object.fromEntries(lines.sessions.map((s) => [String(s.id), s.title]));
  svg.append("g").attr("transform", `translate(0,${H - M.bottom})`)
    .call(d3.axisBottom(x).tickFormat((id) => (titles[id] || id).slice(0, 14)));
  svg.append("g").attr("transform", `translate(${M.left},0)`).call(d3.axisLeft(y).ticks(6));
  const color = d3.scaleOrdinal(d3.schemeTableau10);
  const line = d3.line().defined((q) => q.means[measure] !== null)
    .x((q) => x(String(q.session))).y((q) => y(q.means[measure]));
  const g = svg.selectAll("g.participant").data(lines.participants).join("g").attr("class", "participant")
    .attr("data-participant", (p) => p.participant);
  g.append("path").attr("class", "study-line").attr("d", (p) => line(p.points)).attr("stroke", (p) => color(p.participant));
  g.selectAll("circle").data((p) => p.points.filter((q) => q.means[measure] !== null).map((q) => ({ p, q })))
    .join("circle").attr("class", "study-dot").attr("r", 3.5).attr("fill", (d) => color(d.p.participant))
    .attr("cx", (d) => x(String(d.q.session))).attr("cy", (d) => y(d.q.means[measure]));
  g.append("text").attr("class", "study-n").attr("x", W - M.right).attr("text-anchor", "end")
    .attr("y", (p, i) => M.top + 12 * i).attr("fill", (p) => color(p.participant)).text((p) => p.participant);
}

export function eventsChart(container, locked, measure) {
  const svg = frame(container, `${measure} around ${locked.event} events with 95% band`);
  const pts = locked.curves[measure];
  const x = d3.scaleLinear().domain([-locked.window, locked.window]).range([M.left, W - M.right]);
  const y = d3.scaleLinear().domain(extent(pts.flatMap((p) => [p.mean, p.ci_low, p.ci_high])))
    .range([H - M.bottom, M.top]);
  axes(svg, x, y, `${measure} (t = 0: ${locked.event}, ${locked.events} events)`);
  const band = d3.area().defined((p) => p.ci_low !== null).x((p) => x(p.t)).y0((p) => y(p.ci_low)).y1((p) => y(p.ci_high));
  svg.append("path").attr("class", "study-band").attr("d", band(pts));
  const line = d3.line().defined((p) => p.mean !== null).x((p) => x(p.t)).y((p) => y(p.mean));
  svg.append("path").attr("class", "study-line study-mean").attr("d", line(pts));
  svg.append("line").attr("class", "study-zero").attr("x1", x(0)).attr("x2", x(0)).attr("y1", M.top).attr("y2", H - M.bottom);
}
