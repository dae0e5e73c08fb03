// Upload a file over /ws/upload/ in 256 KB chunks; after a dropped connection, resume from the
// last offset the server acknowledged (unless another page resumed it: then this one stops).
// Then follow the analysis on /ws/sessions/<id>/.
import { followSession } from "./follow.js";
import { controlSocket } from "./ws.js";

const CHUNK = 256 * 1024;
const CLOSE_SUPERSEDED = 4409; // the server: another connection (tab, window) took this upload over
const form = document.getElementById("upload-form");
const statusLine = document.getElementById("upload-status");
const uploadBar = document.getElementById("upload-progress");
const analysisBar = document.getElementById("analysis-progress");
const projectSelect = document.getElementById("session-project");

function say(text) {
  statusLine.textContent = text;
}

function upload(file, title) {
  let uploadId = null;
  let retries = 0;
  return new Promise((resolve, reject) => {
    const connect = () => {
      let finished = false;
      const ws = controlSocket("/ws/upload/", {
        start: () => ({
          type: "start",
          name: file.name,
          size: file.size,
          title,
          upload_id: uploadId,
          project: projectSelect ? projectSelect.value : null,
        }),
        onMessage(msg) {
          if (msg.type === "ready") {
            uploadId = msg.upload_id;
            retries = 0;
            say(msg.offset > 0 ? `Resuming at ${Math.round((100 * msg.offset) / file.size)}%…` : "Uploading…");
            sendFrom(msg.offset);
          } else if (msg.type === "ack") {
            sendFrom(msg.offset);
            if (msg.offset >= file.size) say("Checking the file…");
          } else if (msg.type === "accepted") {
            finished = true;
            uploadBar.value = 1;
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
          say("Connection lost; reconnecting…");
          setTimeout(connect, Math.min(1000 * retries, 5000));
        },
      });
      const sendFrom = (offset) => {
        uploadBar.value = offset / file.size;
        if (offset < file.size) ws.send(file.slice(offset, offset + CHUNK));
      };
    };
    connect();
  });
}

function follow(accepted) {
  say("Uploaded. Analysing…");
  followSession(accepted.session_id, accepted.url, { bar: analysisBar, say });
}

form?.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const file = form.elements.file.files[0];
  if (!file) return;
  form.querySelector("button").disabled = true;
  try {
    follow(await upload(file, form.elements.title.value));
  } catch (err) {
    say(err.message);
    form.querySelector("button").disabled = false;
  }
});
