// Current-frame emotion bars for the selected series (a person, or the average of everyone): from the
// series at the video's time (replay) or straight from the latest live frame (``setValues``).
/* global d3 */
import { emotionColor, pointAt } from "./common.js";

export function barsChart(container, { emotions, bucketWidth }) {
  const color = emotionColor(emotions);
  const w = 320, row = 22, left = 70, h = emotions.length * row + 20;
  const svg = d3.select(container).append("svg").attr("viewBox", `0 0 ${w} ${h}`)
    .attr("class", "replay-chart bars").attr("role", "img").attr("aria-label", "Emotions at the current time");
  const x = d3.scaleLinear().domain([0, 1]).range([0, w - left - 44]);
  const rows = svg.selectAll("g.bar").data(emotions).join("g").attr("class", "bar")
    .attr("transform", (_, i) => `translate(0,${i * row})`);
  rows.append("text").attr("x", left - 6).attr("y", row / 2 + 4).attr("text-anchor", "end").text((e) => e);
  const rects = rows.append("rect").attr("class", (e) => `bar-${e}`).attr("x", left).attr("y", 3)
    .attr("height", row - 6).attr("width", 0).attr("fill", (e) => color(e));
  const values = rows.append("text").attr("class", "bar-value").attr("y", row / 2 + 4);
  const status = svg.append("text").attr("class", "bars-status muted").attr("x", left).attr("y", h - 4);
  let points = [];

  // ``probabilities`` in the order of ``emotions``, or null: nobody on screen (or, with ``why``, only
  // faces below the quality bar).
  function setValues(probabilities, why = "nobody on screen") {
    const v = (i) => (probabilities ? probabilities[i] : 0);
    rects.attr("width", (_, i) => x(v(i))).attr("data-value", (_, i) => v(i).toFixed(3));
    values.attr("x", (_, i) => left + x(v(i)) + 4).text((_, i) => (probabilities ? `${Math.round(v(i) * 100)}%` : ""));
    status.text(probabilities ? "" : why);
  }
  return {
    setSeries(series) { points = series; },
    setTime(t) {
      const p = pointAt(points, t, bucketWidth);
      setValues(p?.probabilities ?? null, p ? "only faces below the quality bar" : undefined);
    },
    setValues,
  };
}
