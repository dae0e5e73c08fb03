// Live recording over /ws/live/: camera (and microphone when allowed) preview, JPEG frames sampled
// from a canvas about 5 times a second (binary 0x01 + float64 capture time + uint32 seq + JPEG), the
// MediaRecorder stream in 1 s chunks (binary 0x02 + chunk). The workers' `live.result` messages feed
// the replay page's charts (static/js/replay/stream.js) in real time; markers (button or "m") are
// stored on the live session at the recording's time. Stop drains, then the analysis is followed
// until the session page opens.
import { followSession } from "./follow.js";
import { markerPanel } from "./replay/markers.js";
import { liveCharts } from "./replay/stream.js";
import { controlSocket, sendJson } from "./ws.js";

const FPS = 5;
const root = document.getElementById("live");
const recordButton = document.getElementById("record-start");
const stopButton = document.getElementById("record-stop");
const preview = document.getElementById("record-preview");
const readout = document.getElementById("record-readout");
const skippedLine = document.getElementById("record-skipped");
const statusLine = document.getElementById("record-status");
const analysisBar = document.getElementById("record-progress");
const titleInput = document.getElementById("record-title");
const markerForm = document.getElementById("marker-form");

let sessionId = null; // the live session
let recording = false; // markers only while recording (the key and button do nothing before and after)
let t0 = null;
const recordingTime = () => (t0 == null ? 0 : (performance.now() - t0) / 1000);
let charts = null;

function say(text) {
  statusLine.textContent = text;
}

function enableMarkers(on) {
  markerForm.querySelectorAll("button, input").forEach((el) => { el.disabled = !on; });
}

async function openCamera() {
  try {
    return await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  } catch (err) {
    return navigator.mediaDevices.getUserMedia({ video: true }); // no microphone: video only
  }
}

function frameMessage(t, seq, jpeg) {
  const header = new DataView(new ArrayBuffer(13));
  header.setUint8(0, 0x01);
  header.setFloat64(1, t);
  header.setUint32(9, seq);
  return new Blob([header.buffer, jpeg]);
}

// A one-line text summary beside the charts (also read out by screen readers).
function showResult(msg) {
  const rows = msg.faces.map((f) => {
    const who = f.person || `track ${f.track}`;
    return `${who}: ${f.emotion} (${Math.round(f.confidence * 100)}%), attention ${f.attention.toFixed(2)}`;
  });
  readout.textContent = `${msg.time.toFixed(1)} s — ${rows.length ? rows.join("; ") : "no face"}`;
}

async function record() {
  recordButton.disabled = true;
  let stream;
  try {
    stream = await openCamera();
  } catch (err) {
    say(`The camera is not available: ${err.message}`);
    recordButton.disabled = false;
    return;
  }
  preview.srcObject = stream;
  await preview.play().catch(() => {});
  const canvas = document.createElement("canvas");
  let recorder = null;
  let timer = null;
  let clockTimer = null;
  let seq = 0;
  const stopAll = () => {
    clearInterval(timer);
    clearInterval(clockTimer);
    stream.getTracks().forEach((tr) => tr.stop());
  };
  const sample = () => {
    const w = preview.videoWidth;
    const h = preview.videoHeight;
    if (!w || !h || ws.readyState !== WebSocket.OPEN) return;
    const t = recordingTime();
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").drawImage(preview, 0, 0, w, h);
    const n = seq++;
    canvas.toBlob((jpeg) => jpeg && ws.readyState === WebSocket.OPEN && ws.send(frameMessage(t, n, jpeg)), "image/jpeg", 0.8);
  };
  const started = (msg) => {
    say("Recording…");
    sessionId = msg.session_id;
    charts = liveCharts(root, { emotions: msg.emotions, fps: msg.fps || FPS });
    const mime = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm"].find(
      (m) => window.MediaRecorder && MediaRecorder.isTypeSupported(m),
    );
    recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : {});
    recorder.ondataavailable = (e) => {
      if (e.data.size && ws.readyState === WebSocket.OPEN) ws.send(new Blob([new Uint8Array([0x02]), e.data]));
    };
    recorder.onstop = () => sendJson(ws, { type: "stop" });
    t0 = performance.now();
    recorder.start(1000);
    timer = setInterval(sample, 1000 / FPS);
    clockTimer = setInterval(() => charts.tick(recordingTime()), 250); // the "now" cursor moves on its own
    stopButton.disabled = false;
    recording = true;
    enableMarkers(true);
    root.dataset.recording = "1";
  };
  const ws = controlSocket("/ws/live/", {
    start: () => ({ type: "start", title: titleInput.value, fps: FPS }),
    onMessage(msg) {
      if (msg.type === "started") {
        started(msg);
      } else if (msg.type === "live.result") {
        showResult(msg);
        charts?.add(msg);
      } else if (msg.type === "skipped") {
        skippedLine.textContent = `Skipped frames: ${msg.count}`;
      } else if (msg.type === "stopping") {
        say("Finishing the analysis of the last frames…");
      } else if (msg.type === "stopped") {
        ws.close();
        say("Recording saved. Analysing…");
        followSession(msg.session_id, msg.url, { bar: analysisBar, say });
      } else if (msg.type === "error" || msg.type === "live.error") {
        say(msg.message);
      }
    },
    onClose: stopAll,
  });
  stopButton.onclick = () => {
    stopButton.disabled = true;
    clearInterval(timer);
    clearInterval(clockTimer);
    recording = false;
    enableMarkers(false);
    delete root.dataset.recording;
    say("Stopping…");
    if (recorder && recorder.state !== "inactive") recorder.stop(); // the last chunk, then "stop"
    else sendJson(ws, { type: "stop" });
    stream.getTracks().forEach((tr) => tr.stop());
  };
}

if (root) {
  markerPanel(root, {
    base: () => (recording ? `/api/sessions/${sessionId}` : null),
    now: recordingTime,
    onChange: (list) => charts?.setMarkers(list),
  });
  enableMarkers(false);
  recordButton.addEventListener("click", record);
}
