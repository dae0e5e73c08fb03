// The replay page: loads the session's timeline and markers from the API, draws the charts and keeps
// them in step with the video; markers are added with the form or the "m" key.
import { attentionChart } from "./attention.js";
import { barsChart } from "./bars.js";
import { clock } from "./common.js";
import { lanesChart } from "./lanes.js";
import { seekLinks } from "./seeklinks.js";
import { timelineChart } from "./timeline.js";

function csrfToken(root) {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : root.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

async function api(root, url, options = {}) {
  const headers = { Accept: "application/json", ...(options.body ? { "Content-Type": "application/json" } : {}) };
  if (options.method && options.method !== "GET") headers["X-CSRFToken"] = csrfToken(root);
  const r = await fetch(url, { credentials: "same-origin", ...options, headers });
  if (r.status === 204) return null;
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || `request failed (${r.status})`);
  return body;
}

export async function startReplay(root) {
  const video = document.getElementById(root.dataset.video);
  const base = `/api/sessions/${root.dataset.session}`;
  const seek = (t) => {
    video.currentTime = Math.max(0, Math.min(t, Number.isFinite(video.duration) ? video.duration : t));
    sync(t);
  };
  const data = await api(root, `${base}/timeline/?max_points=1000`);
  const duration = Math.max(data.duration, Number(root.dataset.duration) || 0);
  const opts = { emotions: data.emotions, duration, bucketWidth: data.bucket_width, seek };

  // person selector: "everyone (average)" first, then each person (names as text, never HTML)
  const select = root.querySelector("#replay-person");
  const series = [{ label: "everyone (average)", points: data.everyone }]
    .concat(data.people.map((p) => ({ label: p.name, points: p.points })));
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
  video.addEventListener("timeupdate", () => sync(video.currentTime));
  video.addEventListener("seeked", () => sync(video.currentTime));
  choose();

  // markers
  const list = root.querySelector("#marker-list");
  const form = root.querySelector("#marker-form");
  const note = form.querySelector("input[name=note]");
  const pending = form.querySelector("#marker-time");
  const error = form.querySelector("#marker-error");
  let markers = [];
  let pendingTime = null;

  function renderMarkers() {
    [emo, att, lanes].forEach((c) => c.setMarkers(markers));
    list.replaceChildren(...markers.map((m) => {
      const li = document.createElement("li");
      li.className = "marker seekable";
      li.dataset.id = String(m.id);
      li.append(document.createTextNode(`${clock(m.time)} `));
      const text = document.createElement("span");
      text.className = "marker-note";
      text.textContent = m.note;
      const del = document.createElement("button");
      del.type = "button";
      del.className = "link marker-delete";
      del.textContent = "delete";
      del.setAttribute("aria-label", `Delete the marker at ${clock(m.time)}`);
      del.addEventListener("click", async () => {
        await api(root, `${base}/markers/${m.id}/`, { method: "DELETE" });
        markers = markers.filter((x) => x.id !== m.id);
        renderMarkers();
      });
      li.append(text, " ", del);
      return li;
    }));
    seekLinks(list, seek);
  }

  function capture() {
    pendingTime = video.currentTime || 0;
    pending.textContent = clock(pendingTime);
    note.focus();
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const t = pendingTime ?? (video.currentTime || 0);
    error.textContent = "";
    try {
      const m = await api(root, `${base}/markers/`, { method: "POST", body: JSON.stringify({ time: t, note: note.value }) });
      markers = [...markers, m].sort((a, b) => a.time - b.time || a.id - b.id);
      renderMarkers();
      note.value = "";
      pendingTime = null;
      pending.textContent = "";
    } catch (err) {
      error.textContent = err.message;
    }
  });
  form.querySelector("#marker-now").addEventListener("click", capture);
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "m" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest?.("input, textarea, select, [contenteditable]")) return;
    ev.preventDefault();
    capture();
  });
  markers = await api(root, `${base}/markers/`);
  renderMarkers();
  root.dataset.ready = "1";
}

const root = document.getElementById("replay");
if (root) startReplay(root).catch((err) => {
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = `The replay charts could not load: ${err.message}`;
  root.prepend(p);
});
