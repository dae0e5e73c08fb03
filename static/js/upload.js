// Upload files over /ws/upload/ in 256 KB chunks; after a dropped connection, resume from the
// last offset the server acknowledged (unless another page resumed it: then this one stops).
// Many files at once (chosen or dropped) wait in a queue: two upload at a time, each with its own
// progress bar and state (waiting, uploading, analysing, done, failed with the server's message); a
// failed file never stops the others. Each accepted file's analysis is followed on /ws/sessions/<id>/;
// a single file goes to its session page when done, as before.
import { followSession } from "./follow.js";
import { controlSocket } from "./ws.js";

const CHUNK = 256 * 1024;
const AT_ONCE = 2; // files uploading at the same time
const CLOSE_SUPERSEDED = 4409; // the server: another connection (tab, window) took this upload over
const form = document.getElementById("upload-form");
const statusLine = document.getElementById("upload-status");
const uploadBar = document.getElementById("upload-progress");
const analysisBar = document.getElementById("analysis-progress");
const projectSelect = document.getElementById("session-project");
const queueList = document.getElementById("upload-queue");
const dropZone = form; // the whole form takes dropped files

const STATES = { waiting: "Waiting", uploading: "Uploading", analysing: "Analysing", done: "Done", failed: "Failed" };
const queue = []; // every file added on this page, in order
let active = 0;

function say(text) {
  statusLine.textContent = text;
}

function upload(file, title, project, onProgress, onSay) {
  let uploadId = null;
  let retries = 0;
  return new Promise((resolve, reject) => {
    const connect = () => {
      let finished = false;
      const ws = controlSocket("/ws/upload/", {
        start: () => ({ type: "start", name: file.name, size: file.size, title, upload_id: uploadId, project }),
        onMessage(msg) {
          if (msg.type === "ready") {
            uploadId = msg.upload_id;
            retries = 0;
            onSay(msg.offset > 0 ? `Resuming at ${Math.round((100 * msg.offset) / file.size)}%…` : "Uploading…");
            sendFrom(msg.offset);
          } else if (msg.type === "ack") {
            sendFrom(msg.offset);
            if (msg.offset >= file.size) onSay("Checking the file…");
          } else if (msg.type === "accepted") {
            finished = true;
            onProgress(1);
            ws.close();
            resolve(msg);
          } else if (msg.type === "error") {
            finished = true;
            ws.close();
            reject(new Error(msg.message));
          }
        },
        onClose(ev) {
          if (finished) return;
          // taken over elsewhere: reconnecting would take it back, and the two pages would fight over it
          if (ev.code === CLOSE_SUPERSEDED) return reject(new Error("This upload continued in another tab or window."));
          if (++retries > 10) return reject(new Error("The connection keeps dropping; try again later."));
          onSay("Connection lost; reconnecting…");
          setTimeout(connect, Math.min(1000 * retries, 5000));
        },
      });
      const sendFrom = (offset) => {
        onProgress(offset / file.size);
        if (offset < file.size) ws.send(file.slice(offset, offset + CHUNK));
      };
    };
    connect();
  });
}

// One row of the queue: the file's name, state, its own progress bar and the last message.
function queueItem(file, title, project) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  const state = document.createElement("span");
  const bar = document.createElement("progress");
  const message = document.createElement("span");
  name.className = "file-name";
  name.textContent = file.name;
  state.className = "file-state";
  bar.max = 1;
  bar.value = 0;
  bar.setAttribute("aria-label", `${file.name}: progress`);
  message.className = "file-message";
  li.append(name, state, bar, message);
  queueList.append(li);
  const item = { file, title, project, li, bar, message, sent: 0, analysed: 0, state: "" };
  item.set = (next, text = "") => {
    item.state = next;
    li.dataset.state = next;
    state.textContent = STATES[next];
    if (text) message.textContent = text;
    summarize();
  };
  item.set("waiting", `${Math.max(1, Math.round(file.size / 1024))} KB`);
  return item;
}

function link(item, url, text) {
  const a = document.createElement("a");
  a.href = url;
  a.textContent = text;
  item.message.replaceChildren(a);
}

// The card's own bars and line sum the queue up: bytes sent, mean analysis progress, states counted.
function summarize() {
  if (!queue.length) return;
  const bytes = queue.reduce((n, it) => n + it.file.size, 0);
  uploadBar.value = bytes ? queue.reduce((n, it) => n + it.sent * it.file.size, 0) / bytes : 0;
  analysisBar.value = queue.reduce((n, it) => n + it.analysed, 0) / queue.length;
  if (queue.length === 1) return; // one file: its own messages stay on the line
  const counts = {};
  for (const it of queue) counts[it.state] = (counts[it.state] || 0) + 1;
  const parts = Object.keys(STATES)
    .filter((s) => counts[s])
    .map((s) => `${counts[s]} ${STATES[s].toLowerCase()}`);
  say(`${queue.length} files: ${parts.join(", ")}.`);
}

async function run(item) {
  const single = queue.length === 1;
  const speak = (text) => {
    item.message.textContent = text;
    if (single) say(text);
  };
  item.set("uploading");
  try {
    const accepted = await upload(
      item.file,
      item.title,
      item.project,
      (share) => {
        item.sent = share;
        item.bar.value = share;
        summarize();
      },
      speak,
    );
    item.bar.value = 0; // from here on, the analysis
    item.set("analysing");
    link(item, accepted.url, "Open the session");
    if (single) say("Uploaded. Analysing…");
    followSession(accepted.session_id, accepted.url, {
      say: (text) => {
        if (single) say(text);
      },
      redirect: () => queue.length === 1, // several files: the page stays with the queue
      onState(msg) {
        item.analysed = msg.status === "done" ? 1 : msg.progress || 0;
        item.bar.value = item.analysed;
        if (msg.status === "done") {
          item.set("done");
          link(item, accepted.url, "Open the session");
        } else if (msg.status === "failed") {
          item.set("failed", `Analysis failed: ${msg.error}`);
        } else {
          summarize();
        }
      },
    });
  } catch (err) {
    item.set("failed", err.message);
    if (single) say(err.message);
  }
}

function pump() {
  while (active < AT_ONCE) {
    const next = queue.find((it) => it.state === "waiting");
    if (!next) return;
    active += 1;
    next.set("uploading");
    run(next).finally(() => {
      active -= 1;
      pump();
    });
  }
}

function add(files) {
  const list = Array.from(files || []);
  if (!list.length) return;
  const title = form.elements.title.value.trim();
  const project = projectSelect ? projectSelect.value : null;
  queueList.hidden = false;
  for (const file of list) {
    // one file takes the title as typed; several are told apart by their names
    const named = list.length > 1 && title ? `${title} (${file.name})` : title;
    queue.push(queueItem(file, named, project));
  }
  form.elements.file.value = "";
  form.elements.file.required = false; // dropped files need no choice in the form
  pump();
}

form?.addEventListener("submit", (ev) => {
  ev.preventDefault();
  add(form.elements.file.files);
});

// Dropping files anywhere on the upload card queues them (the file chooser does the same by keyboard).
if (dropZone) {
  const over = (ev) => {
    if (!ev.dataTransfer || !Array.from(ev.dataTransfer.types || []).includes("Files")) return;
    ev.preventDefault();
    dropZone.classList.add("dragging");
  };
  dropZone.addEventListener("dragenter", over);
  dropZone.addEventListener("dragover", over);
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dragging"));
  dropZone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    dropZone.classList.remove("dragging");
    add(ev.dataTransfer?.files);
  });
}
