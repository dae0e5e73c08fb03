// Live recording over /ws/live/: camera (and microphone when allowed) preview, JPEG frames sampled
// from a canvas about 5 times a second (binary 0x01 + float64 capture time + uint32 seq + JPEG), the
// MediaRecorder stream in 1 s chunks (binary 0x02 + chunk), a plain readout of the workers' results
// and the skip count; Stop drains, then the analysis is followed until the session page opens.
import { followSession } from "./follow.js";
import { openSocket } from "./ws.js";

const FPS = 5;
const recordButton = document.getElementById("record-start");
const stopButton = document.getElementById("record-stop");
const preview = document.getElementById("record-preview");
const readout = document.getElementById("record-readout");
const skippedLine = document.getElementById("record-skipped");
const statusLine = document.getElementById("record-status");
const analysisBar = document.getElementById("record-progress");
const titleInput = document.getElementById("record-title");

function say(text) {
  statusLine.textContent = text;
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
  const ws = openSocket("/ws/live/");
  ws.binaryType = "arraybuffer";
  const canvas = document.createElement("canvas");
  let recorder = null;
  let timer = null;
  let seq = 0;
  let t0 = 0;
  const stopAll = () => {
    clearInterval(timer);
    stream.getTracks().forEach((tr) => tr.stop());
  };
  const sample = () => {
    const w = preview.videoWidth;
    const h = preview.videoHeight;
    if (!w || !h || ws.readyState !== WebSocket.OPEN) return;
    const t = (performance.now() - t0) / 1000;
    canvas.width = w;
    canvas.height = h;
    canvas.getContext("2d").drawImage(preview, 0, 0, w, h);
    const n = seq++;
    canvas.toBlob((jpeg) => jpeg && ws.readyState === WebSocket.OPEN && ws.send(frameMessage(t, n, jpeg)), "image/jpeg", 0.8);
  };
  ws.onopen = () => ws.send(JSON.stringify({ type: "start", title: titleInput.value, fps: FPS }));
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "started") {
      say("Recording…");
      const mime = ["video/webm;codecs=vp9,opus", "video/webm;codecs=vp8,opus", "video/webm"].find(
        (m) => window.MediaRecorder && MediaRecorder.isTypeSupported(m),
      );
      recorder = new MediaRecorder(stream, mime ? { mimeType: mime } : {});
      recorder.ondataavailable = (e) => {
        if (e.data.size && ws.readyState === WebSocket.OPEN) ws.send(new Blob([new Uint8Array([0x02]), e.data]));
      };
      recorder.onstop = () => ws.send(JSON.stringify({ type: "stop" }));
      t0 = performance.now();
      recorder.start(1000);
      timer = setInterval(sample, 1000 / FPS);
      stopButton.disabled = false;
    } else if (msg.type === "live.result") {
      showResult(msg);
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
  };
  ws.onclose = () => stopAll();
  stopButton.onclick = () => {
    stopButton.disabled = true;
    clearInterval(timer);
    say("Stopping…");
    if (recorder && recorder.state !== "inactive") recorder.stop(); // the last chunk, then "stop"
    else ws.send(JSON.stringify({ type: "stop" }));
    stream.getTracks().forEach((tr) => tr.stop());
  };
}

recordButton?.addEventListener("click", record);
