// The replay page: loads the session's timeline and markers from the API, draws the charts and the
// face boxes over the video and keeps them in step with it; markers are added with the form or the
// "m" key; "," and "." step one sampled frame.
import { api } from "./api.js";
import { attentionChart } from "./attention.js";
import { barsChart } from "./bars.js";
import { clock } from "./common.js";
import { lanesChart } from "./lanes.js";
import { markerPanel } from "./markers.js";
import { faceOverlay } from "./overlay.js";
import { playbackControls } from "./playback.js";
import { timelineChart, zoomStrip } from "./timeline.js";

export async function startReplay(root) {
  const video = document.getElementById(root.dataset.video);
  const base = `/api/sessions/${root.dataset.session}`;
  const seek = (t) => {
    video.currentTime = Math.max(0, Math.min(t, Number.isFinite(video.duration) ? video.duration : t));
    sync(t);
  };
  const load = (all) => api(root, `${base}/timeline/?max_points=1000&all=${all ? 1 : 0}`);
  // the server-rendered people cards for that choice (the same template as the page's)
  const peopleCards = async (all) => {
    const r = await fetch(`${root.dataset.peopleUrl}?all=${all ? 1 : 0}`, { credentials: "same-origin" });
    if (!r.ok) throw new Error(`request failed (${r.status})`);
    const doc = new DOMParser().parseFromString(await r.text(), "text/html");
    const cards = doc.getElementById("session-people");
    if (!cards) throw new Error("no people cards");
    return document.importNode(cards, true);
  };
  // the page's one switch; the first load also brings the face boxes
  const firstAll = Boolean(root.querySelector("#replay-all")?.checked);
  root.dataset.counted = firstAll ? "all" : "reliable";
  let data = await api(root, `${base}/timeline/?max_points=1000&boxes=1&all=${firstAll ? 1 : 0}`);
  const fps = Number(root.dataset.fps) || 5;
  const duration = Math.max(data.duration, Number(root.dataset.duration) || 0);
  const opts = { emotions: data.emotions, duration, bucketWidth: data.bucket_width, seek };

  // person selector: each person (names as text, never HTML), then "everyone (average)"; the charts
  // open on one person (the longest on screen), since averaging different people's emotions blurs them
  const select = root.querySelector("#replay-person");
  const seriesOf = (d) => d.people.map((p) => ({ label: p.name, points: p.points }))
    .concat([{ label: "everyone (average)", points: d.everyone }]);
  let series = seriesOf(data);
  series.forEach((s, i) => select.append(new Option(s.label, String(i))));
  const longest = data.summary.reduce((best, p, i) => (p.frames > data.summary[best].frames ? i : best), 0);
  select.value = String(data.people.length ? longest : 0);

  const bars = barsChart(root.querySelector("#replay-bars"), opts);
  const emo = timelineChart(root.querySelector("#replay-timeline"), opts);
  const att = attentionChart(root.querySelector("#replay-attention"), opts);
  const lanes = lanesChart(root.querySelector("#replay-lanes"), {
    ...opts, people: data.people, onPick: (i) => { select.value = String(i); choose(); },
  });
  const timed = [bars, emo, att, lanes];
  const overlay = faceOverlay(video, root.querySelector("#replay-overlay"), { boxes: data.boxes, people: data.people, fps });
  timed.push(overlay);
  root.querySelector("#replay-boxes")?.addEventListener("change", (ev) => overlay.setShown(ev.target.checked));
  // zoom: brushing the strip under the emotions chart narrows every chart's time axis; a double-click
  // on any chart (or an empty brush) shows the whole session again
  const zoomed = [emo, att, lanes];
  const strip = zoomStrip(root.querySelector("#replay-timeline"), {
    duration, onZoom: (range) => zoomed.forEach((c) => c.setView(range)),
  });
  root.querySelectorAll(".replay-chart").forEach((svg) => svg.addEventListener("dblclick", () => strip.reset()));
  playbackControls(root, video, { fps, seek });

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
  // Faces below the quality bar: shaded always, counted only when asked for. The box is the page's one
  // switch: the charts, lanes, the people cards below and the summaries panel follow it in place (the
  // server remembers the choice for downloads, new summaries and a reload).
  const all = root.querySelector("#replay-all");
  const allError = root.querySelector("#replay-all-error");
  all?.addEventListener("change", async () => {
    all.disabled = true;
    allError.hidden = true;
    try {
      const [fresh, cards] = await Promise.all([load(all.checked), peopleCards(all.checked)]);
      data = fresh;
      series = seriesOf(data);
      lanes.setPeople(data.people);
      overlay.setPeople(data.people);
      choose();
      document.getElementById("session-people")?.replaceWith(cards);
      const url = new URL(window.location.href);
      if (url.searchParams.has("all")) { // a reload must not undo the choice with an old ?all=
        url.searchParams.delete("all");
        window.history.replaceState(null, "", url);
      }
      document.dispatchEvent(new CustomEvent("quality-switch", { detail: { all: all.checked } }));
      root.dataset.counted = all.checked ? "all" : "reliable";
    } catch (err) {
      all.checked = !all.checked;
      allError.textContent = "The figures could not be updated; try again.";
      allError.hidden = false;
    } finally {
      all.disabled = false;
    }
  });
  // the cards' "Include them" / "Count reliable faces only" link works the same box, without a reload
  document.addEventListener("click", (ev) => {
    const link = ev.target.closest?.("#session-people .quality-toggle a");
    if (!link || !all || all.disabled) return;
    ev.preventDefault();
    all.checked = new URL(link.href).searchParams.get("all") === "1";
    all.dispatchEvent(new Event("change"));
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
