// The replay page: loads the session's timeline and markers from the API, draws the charts and keeps
// them in step with the video; markers are added with the form or the "m" key.
import { api } from "./api.js";
import { attentionChart } from "./attention.js";
import { barsChart } from "./bars.js";
import { clock } from "./common.js";
import { lanesChart } from "./lanes.js";
import { markerPanel } from "./markers.js";
import { timelineChart } from "./timeline.js";

export async function startReplay(root) {
  const video = document.getElementById(root.dataset.video);
  const base = `/api/sessions/${root.dataset.session}`;
  const seek = (t) => {
    video.currentTime = Math.max(0, Math.min(t, Number.isFinite(video.duration) ? video.duration : t));
    sync(t);
  };
  const load = (all) => api(root, `${base}/timeline/?max_points=1000&all=${all ? 1 : 0}`);
  let data = await load(Boolean(root.querySelector("#replay-all")?.checked)); // the page's one switch
  const duration = Math.max(data.duration, Number(root.dataset.duration) || 0);
  const opts = { emotions: data.emotions, duration, bucketWidth: data.bucket_width, seek };

  // person selector: "everyone (average)" first, then each person (names as text, never HTML)
  const select = root.querySelector("#replay-person");
  const seriesOf = (d) => [{ label: "everyone (average)", points: d.everyone }]
    .concat(d.people.map((p) => ({ label: p.name, points: p.points })));
  let series = seriesOf(data);
  series.forEach((s, i) => select.append(new Option(s.label, String(i))));
  if (data.people.length === 1) select.value = "1";

  const bars = barsChart(root.querySelector("#replay-bars"), opts);
  const emo = timelineChart(root.querySelector("#replay-timeline"), opts);
  const att = attentionChart(root.querySelector("#replay-attention"), opts);
  const lanes = lanesChart(root.querySelector("#replay-lanes"), { ...opts, people: data.people });
  const timed = [bars, emo, att, lanes];

  function choose() {
    const s = series[Number(select.value)] || series[0];
    [bars, emo, att].forEach((c) => c.setSeries(s.points));
    sync(video.currentTime || 0);
  }
  function sync(t) {
    timed.forEach((c) => c.setTime(t));
    root.querySelector("#replay-clock").textContent = clock(t);
  }
  select.addEventListener("change", choose);
  // faces below the quality bar: shaded always, counted in the lines and bars only when asked for
  const all = root.querySelector("#replay-all");
  all?.addEventListener("change", async () => {
    all.disabled = true;
    try {
      data = await load(all.checked);
      series = seriesOf(data);
      lanes.setPeople(data.people);
      choose();
    } finally {
      all.disabled = false;
    }
  });
  video.addEventListener("timeupdate", () => sync(video.currentTime));
  video.addEventListener("seeked", () => sync(video.currentTime));
  choose();

  const markers = markerPanel(root, {
    base: () => base,
    now: () => video.currentTime || 0,
    seek,
    onChange: (list) => [emo, att, lanes].forEach((c) => c.setMarkers(list)),
  });
  await markers.load();
  root.dataset.ready = "1";
  root.dataset.shaded = String(emo.shadedCount());
}

const root = document.getElementById("replay");
if (root) startReplay(root).catch((err) => {
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = `The replay charts could not load: ${err.message}`;
  root.prepend(p);
});
