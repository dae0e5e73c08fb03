// Summaries on the replay page: follows their state live on the session's websocket ("summary.state"
// messages), refreshes the list from the API whenever the socket (re)opens, and turns the times cited in
// summary text into links that seek the video. Text is always set with textContent; the seek-link module
// then works on text nodes only, so nothing a model wrote is ever parsed as HTML.
import { seekLinks } from "./replay/seeklinks.js";
import { isFinalClose, openSocket } from "./ws.js";

const root = document.getElementById("summaries");

function seeker() {
  const video = document.getElementById(root.dataset.video);
  if (!video) return null;
  return (t) => {
    const end = Number.isFinite(video.duration) ? video.duration : t;
    video.currentTime = Math.max(0, Math.min(t, end));
  };
}

function cancelUrl(id) {
  return root.dataset.cancelUrl.replace(/\/0\/cancel\/$/, `/${id}/cancel/`);
}

function itemFor(data) {
  const list = root.querySelector("#summary-list");
  let li = list.querySelector(`li.summary[data-id="${data.id}"]`);
  if (!li) {
    li = root.querySelector("#summary-item-template").content.firstElementChild.cloneNode(true);
    li.dataset.id = String(data.id);
    const cancel = li.querySelector(".summary-cancel-form"); // absent for a role that cannot summarize
    if (cancel) cancel.action = cancelUrl(data.id);
    list.prepend(li);
    root.querySelector("#summary-empty").hidden = true;
  }
  return li;
}

const finished = (status) => ["done", "failed", "cancelled"].includes(status);

function render(data) {
  const li = itemFor(data);
  const changed = li.dataset.status !== data.status || li.dataset.rendered !== "1";
  li.className = `summary summary-${data.status}`;
  li.dataset.status = data.status;
  li.querySelector(".summary-backend").textContent = data.backend_label;
  li.querySelector(".summary-model").textContent = data.model_name;
  li.querySelector(".summary-model-wrap").hidden = !data.model_name;
  li.querySelector(".summary-who").textContent = data.requested_by || "—";
  const counted = li.querySelector(".summary-counted");
  if (counted && "include_unreliable" in data) {
    counted.textContent = data.include_unreliable ? "all faces" : "reliable faces only";
  }
  if (data.created && !li.querySelector(".summary-when").textContent.trim()) {
    li.querySelector(".summary-when").textContent = data.created.slice(0, 16).replace("T", " ");
  }
  li.querySelector(".summary-status").textContent = data.cancel_requested && !finished(data.status)
    ? `${data.status_label} (cancelling)` : data.status_label;
  const bar = li.querySelector(".summary-progress");
  bar.value = data.progress;
  bar.hidden = finished(data.status);
  const cancel = li.querySelector(".summary-cancel-form");
  if (cancel) cancel.hidden = finished(data.status);
  const stale = li.querySelector(".summary-stale");
  if (stale && "made_before_people_changed" in data) stale.hidden = !data.made_before_people_changed;
  const error = li.querySelector(".summary-error");
  error.textContent = data.error;
  error.hidden = !data.error;
  if (changed) {
    const text = li.querySelector(".summary-text");
    text.textContent = data.text;
    const seek = seeker();
    if (seek) seekLinks(text, seek);
    li.dataset.rendered = "1";
  }
}

async function refresh() {
  const r = await fetch(`/api/sessions/${root.dataset.session}/summaries/`, {
    credentials: "same-origin", headers: { Accept: "application/json" },
  });
  if (!r.ok) return;
  (await r.json()).forEach(render);
}

function active() {
  return [...root.querySelectorAll("li.summary[data-id]")].some((li) => li.dataset.id && !finished(li.dataset.status));
}

// Server-rendered text: linkify once. Then follow the socket; it is reopened every few seconds while a
// summary is queued or running, and each opening re-reads the stored states, so nothing is missed.
function start() {
  const seek = seeker();
  root.querySelectorAll("#summary-list li.summary").forEach((li) => {
    li.dataset.rendered = "1";
    if (seek) seekLinks(li.querySelector(".summary-text"), seek);
  });
  const connect = () => {
    const ws = openSocket(`/ws/sessions/${root.dataset.session}/`);
    const timer = setTimeout(() => { if (active()) ws.close(); }, 5000);
    ws.onopen = () => refresh().catch(() => {});
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type === "summary.state") render(msg.summary);
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      if (isFinalClose(ev.code)) return; // the log-in ended or the session is gone: reconnecting cannot help
      setTimeout(connect, active() ? 500 : 5000);
    };
  };
  connect();
  root.dataset.ready = "1";
}

// The replay's quality switch changed what a new summary will count (sessions_app.reliability).
document.addEventListener("quality-switch", (ev) => {
  const what = root?.querySelector("#summary-counts-what");
  if (what) what.textContent = ev.detail.all ? what.dataset.all : what.dataset.reliable;
});

// People merged or split in another tab: coming back to this one re-reads the summaries, so a summary
// made before the change says so without a reload.
document.addEventListener("visibilitychange", () => {
  if (root && document.visibilityState === "visible") refresh().catch(() => {});
});

if (root) start();
