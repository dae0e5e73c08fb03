// Markers beside the video (replay) or the camera (live recording): a list in time order, a note form,
// "Mark now" and the "m" key, which take the time first and then focus the note. Stored through
// /api/sessions/<id>/markers/. ``base()`` is the session's API path (null: no session yet), ``now()``
// the current time, ``seek`` (optional) makes the times in the list links, ``onChange`` gets the list.
// Without the form (the page leaves it out for a role that cannot annotate) the list is read-only.
import { api } from "./api.js";
import { clock } from "./common.js";
import { seekLinks } from "./seeklinks.js";

export function markerPanel(root, { base, now, seek, onChange }) {
  const list = root.querySelector("#marker-list");
  const form = root.querySelector("#marker-form");
  const note = form?.querySelector("input[name=note]");
  const pending = form?.querySelector("#marker-time");
  const error = form?.querySelector("#marker-error");
  let markers = [];
  let pendingTime = null;

  function render() {
    onChange(markers);
    list.replaceChildren(...markers.map((m) => {
      const li = document.createElement("li");
      li.className = "marker seekable";
      li.dataset.id = String(m.id);
      li.dataset.time = String(m.time);
      li.append(document.createTextNode(`${clock(m.time)} `));
      const text = document.createElement("span");
      text.className = "marker-note";
      text.textContent = m.note;
      li.append(text);
      if (!form) return li;
      const del = document.createElement("button");
      del.type = "button";
      del.className = "link marker-delete";
      del.textContent = "delete";
      del.setAttribute("aria-label", `Delete the marker at ${clock(m.time)}`);
      del.addEventListener("click", async () => {
        await api(root, `${base()}/markers/${m.id}/`, { method: "DELETE" });
        markers = markers.filter((x) => x.id !== m.id);
        render();
      });
      li.append(" ", del);
      return li;
    }));
    if (seek) seekLinks(list, seek);
  }

  function capture() {
    if (!base()) return;
    pendingTime = now();
    pending.textContent = clock(pendingTime);
    note.focus();
  }
  const panel = {
    async load() {
      markers = await api(root, `${base()}/markers/`);
      render();
    },
  };
  if (!form) return panel; // read-only: no form, no "m" key
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!base()) return;
    const t = pendingTime ?? now();
    error.textContent = "";
    try {
      const m = await api(root, `${base()}/markers/`, { method: "POST", body: JSON.stringify({ time: t, note: note.value }) });
      markers = [...markers, m].sort((a, b) => a.time - b.time || a.id - b.id);
      render();
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
    if (!base()) return;
    ev.preventDefault();
    capture();
  });
  return panel;
}
