// The Study page's comparison: reads the form, asks the API for the comparison, the lines across
// sessions and the event-locked averages, and draws them; the download links follow the choices.
import { barsChart, eventsChart, linesChart } from "./charts.js";

const root = document.getElementById("study-compare");
const form = document.getElementById("compare-form");
const status = document.getElementById("compare-status");
const base = `/api/projects/${root.dataset.project}/study`;

async function get(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || `request failed (${r.status})`);
  return body;
}

function params() {
  const data = new FormData(form);
  const q = new URLSearchParams();
  q.set("conditions", data.getAll("conditions").join(","));
  q.set("baseline", data.get("baseline") ? "1" : "0");
  q.set("all", data.get("all") ? "1" : "0");
  return { q, measure: data.get("measure"), event: data.get("event"), window: data.get("window") || "5" };
}

async function show() {
  const { q, measure, event, window } = params();
  document.getElementById("export-comparison").href = `${base}/export/comparison.csv?${q}`;
  status.textContent = "Computing…";
  const errors = [];
  const draw = async (fn) => { try { await fn(); } catch (e) { errors.push(e.message); } };
  await draw(async () => {
    const c = await get(`${base}/comparison/?${q}&measures=${measure}`);
    barsChart(document.getElementById("chart-bars"), c, measure);
  });
  await draw(async () => {
    const lines = await get(`${base}/lines/?${q}&measures=${measure}`);
    linesChart(document.getElementById("chart-lines"), lines, measure);
  });
  if (event) {
    await draw(async () => {
      const e = new URLSearchParams(q);
      e.set("event", event); e.set("window", window); e.set("measures", measure);
      e.set("step", String(Math.max(0.1, Number(window) / 20)));
      eventsChart(document.getElementById("chart-events"), await get(`${base}/event-locked/?${e}`), measure);
    });
  }
  status.textContent = errors.join(" ");
  root.dataset.ready = "1";
}

form.addEventListener("submit", (ev) => { ev.preventDefault(); show(); });
show();
