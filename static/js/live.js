// Live recording over /ws/live/: camera (and microphone when allowed) preview, JPEG frames sampled
// from a canvas about 5 times a second (fewer when the server asks: `live.rate`, never under 1) (binary 0x01 + float64 capture time + uint32 seq + JPEG), the
// MediaRecorder stream in 1 s numbered chunks (binary 0x03 + uint32 seq + chunk, kept until acknowledged).
// A dropped connection reconnects and resumes the same session (chunks resent, frames meanwhile
// skipped). The workers' `live.result` messages feed the replay page's charts
// (static/js/replay/stream.js) in real time; markers (button or "m") are
// stored on the live session at the recording's time. Stop drains, then the analysis is followed
// until the session page opens.
import { followSession } from "./follow.js";
import { markerPanel } from "./replay/markers.js";
import { liveCharts } from "./replay/stream.js";
import { controlSocket, sendJson } from "./ws.js";

const FPS = 5;
const MIN_FPS = 1; // the server never asks for less
const RESUME_MARGIN_MS = 5000; // reconnect attempts stop this long inside the server's grace period
const root = document.getElementById("live");
const recordButton = document.getElementById("record-start");
const stopButton = document.getElementById("record-stop");
const preview = document.getElementById("record-preview");
const readout = document.getElementById("record-readout");
const skippedLine = document.getElementById("record-skipped");
const statusLine = document.getElementById("record-status");
const analysisBar = document.getElementById("record-progress");
const titleInput = document.getElementById("record-title");
const projectSelect = document.getElementById("session-project");
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

// A numbered recording chunk: 0x03 + uint32 sequence number + the MediaRecorder bytes. Chunks are
// kept until the server acknowledges them, so a dropped connection loses none of the recording.
function chunkMessage(seq, data) {
  const header = new DataView(new ArrayBuffer(5));
  header.setUint8(0, 0x03);
  header.setUint32(1, seq);
  return new Blob([header.buffer, data]);
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
  let ws = null;
  let recorder = null;
  let timer = null;
  let clockTimer = null;
  let seq = 0;
  let sessionUrl = null;
  let chunkSeq = 0;
  let pending = []; // {seq, data} sent or not, until acknowledged
  let skippedBefore = 0; // frames skipped on earlier connections and while disconnected
  let skippedHere = 0; // the server's count on this connection
  let lostSince = null; // performance.now() when the connection dropped
  let resuming = false;
  let resumeWithinMs = 25000; // replaced by the server's grace period (minus a margin) at start
  let rate = FPS; // frames sampled per second: lowered by the server's `live.rate` when it falls behind
  let stopRequested = false;
  let finished = false;
  const open = () => ws && ws.readyState === WebSocket.OPEN;
  const showSkipped = () => { skippedLine.textContent = `Skipped frames: ${skippedBefore + skippedHere}`; };
  const stopAll = () => {
    clearInterval(timer);
    clearInterval(clockTimer);
    stream.getTracks().forEach((tr) => tr.stop());
  };
  // not while a resume is being answered: a new chunk would reach the server before the ones it lacks
  // (sent, in order, once it says how many it holds)
  const sendChunk = (c) => open() && !resuming && ws.send(chunkMessage(c.seq, c.data));
  const acknowledged = (received) => { pending = pending.filter((c) => c.seq >= received); };
  const sample = () => {
    const w = preview.videoWidth;
    const h = preview.videoHeight;
    if (!w || !h) return;
    if (!open()) { // no connection: the frame is skipped (the recording still has it)
      skippedBefore += 1;
      showSkipped();
      return;
    }
    const t = recordingTime();
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").drawImage(preview, 0, 0, w, h);
    const n = seq++;
    canvas.toBlob((jpeg) => jpeg && open() && ws.send(frameMessage(t, n, jpeg)), "image/jpeg", 0.8);
  };
  // The capture timer at `fps` (the server's `live.rate`); the MediaRecorder stream is not affected.
  const setRate = (fps) => {
    rate = Math.max(MIN_FPS, Math.min(FPS, Number(fps) || FPS));
    if (timer != null && recording) {
      clearInterval(timer);
      timer = setInterval(sample, 1000 / rate);
    }
  };
  const terms = (msg) => {
    if (msg.resume_grace_s) resumeWithinMs = Math.max(1000, msg.resume_grace_s * 1000 - RESUME_MARGIN_MS);
  };
  const started = (msg) => {
    say("Recording…");
    terms(msg);
    sessionId = msg.session_id;
    sessionUrl = msg.url;
    charts = liveCharts(root, { emotions: msg.emotions, fps: msg.fps || FPS });
    const mime = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm"].find(
      (m) => window.MediaRecorder && MediaRecorder.isTypeSupported(m),
    );
    recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : {});
    recorder.ondataavailable = (e) => {
      if (!e.data.size) return;
      const c = { seq: chunkSeq++, data: e.data };
      pending.push(c);
      sendChunk(c);
    };
    recorder.onstop = () => {
      stopRequested = true;
      sendJson(ws, { type: "stop" }); // when disconnected, sent after the resume
    };
    t0 = performance.now();
    recorder.start(1000);
    timer = setInterval(sample, 1000 / rate);
    clockTimer = setInterval(() => charts.tick(recordingTime()), 250); // the "now" cursor moves on its own
    stopButton.disabled = false;
    recording = true;
    enableMarkers(true);
    root.dataset.recording = "1";
  };
  // The connection is gone for good (resume refused or too late): the server keeps what arrived.
  const giveUp = (text) => {
    finished = true;
    recording = false;
    enableMarkers(false);
    delete root.dataset.recording;
    stopButton.disabled = true;
    if (recorder && recorder.state !== "inactive") recorder.stop();
    stopAll();
    say(text);
    if (sessionId != null) followSession(sessionId, sessionUrl, { bar: analysisBar, say });
  };
  const onMessage = (msg) => {
    if (msg.type === "started") {
      started(msg);
    } else if (msg.type === "resumed") {
      terms(msg);
      setRate(FPS); // a new connection starts at the full rate; the server lowers it again if needed
      charts?.setRate({ fps: FPS, requested: FPS, reduced: false });
      resuming = false;
      lostSince = null;
      skippedBefore += skippedHere;
      skippedHere = 0;
      acknowledged(msg.chunks);
      pending.forEach(sendChunk); // in order; the server ignores any it already has
      say(stopRequested ? "Stopping…" : "Reconnected — recording continues.");
      if (stopRequested) sendJson(ws, { type: "stop" });
    } else if (msg.type === "chunk.ack") {
      acknowledged(msg.received);
    } else if (msg.type === "live.result") {
      showResult(msg);
      charts?.add(msg);
    } else if (msg.type === "skipped") {
      skippedHere = msg.count;
      showSkipped();
    } else if (msg.type === "live.stale") {
      skippedBefore += 1; // older than a frame analysed (the recording still has it)
      showSkipped();
    } else if (msg.type === "live.rate") {
      setRate(msg.fps);
      charts?.setRate(msg);
    } else if (msg.type === "stopping") {
      say("Finishing the analysis of the last frames…");
    } else if (msg.type === "stopped") {
      finished = true;
      ws.close();
      say("Recording saved. Analysing…");
      followSession(msg.session_id, msg.url, { bar: analysisBar, say });
    } else if (msg.type === "error" && resuming) {
      giveUp(`${msg.message} The recording up to the connection loss is kept.`);
    } else if (msg.type === "error" || msg.type === "live.error") {
      say(msg.message);
    }
  };
  const onClose = () => {
    if (finished || sessionId == null) {
      stopAll();
      return;
    }
    // Dropped without Stop: reconnect and resume within the server's grace period.
    lostSince ??= performance.now();
    if (performance.now() - lostSince > resumeWithinMs) {
      giveUp("The connection was lost; the recording up to then is kept and will be analysed.");
      return;
    }
    say("Connection lost — reconnecting…");
    setTimeout(connect, 1000);
  };
  const connect = () => {
    resuming = sessionId != null;
    ws = controlSocket("/ws/live/", {
      start: () => (resuming ? { type: "resume", session_id: sessionId } : { type: "start", title: titleInput.value, fps: FPS, project: projectSelect ? projectSelect.value : null }),
      onMessage,
      onClose,
    });
  };
  connect();
  stopButton.onclick = () => {
    stopButton.disabled = true;
    clearInterval(timer);
    clearInterval(clockTimer);
    recording = false;
    enableMarkers(false);
    delete root.dataset.recording;
    say("Stopping…");
    if (recorder && recorder.state !== "inactive") recorder.stop(); // the last chunk, then "stop"
    else {
      stopRequested = true;
      sendJson(ws, { type: "stop" });
    }
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
