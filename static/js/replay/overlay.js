// Face boxes with names drawn over the video, in step with playback: the stored boxes of the sampled
// frame at the video's time, scaled from the analysed frame's pixels to the picture as displayed
// (letterboxing included). A canvas, so nothing needs an inline style attribute (CSP); its size is
// set through CSSOM.
/* global d3 */

// ``boxes``: the timeline API's ``boxes`` ({frame, step, rows: [[t, person, top, right, bottom, left]]});
// ``people``: [{id, name}]; ``fps``: the session's sampling rate (a frame's boxes stay up one interval).
export function faceOverlay(video, canvas, { boxes, people, fps }) {
  const names = new Map(people.map((p) => [p.id, p.name]));
  const color = d3.scaleOrdinal(people.map((p) => p.id), d3.schemeTableau10);
  const frames = [];
  for (const [t, person, top, right, bottom, left] of boxes.rows) {
    const last = frames[frames.length - 1];
    const face = { person, top, right, bottom, left };
    if (last && Math.abs(last.t - t) < 1e-6) last.faces.push(face);
    else frames.push({ t, faces: [face] });
  }
  const times = frames.map((f) => f.t);
  const hold = (boxes.step || 1) / (fps || 5) + 1e-3;
  let shown = true;
  let raf = null;

  function frameAt(t) {
    const i = d3.bisectRight(times, t + 1e-3) - 1;
    return i >= 0 && t - frames[i].t < hold ? frames[i] : null;
  }

  // The picture's rectangle inside the element (object-fit: contain) and the analysed frame's size.
  function geometry() {
    const w = video.clientWidth, h = video.clientHeight;
    const vw = video.videoWidth || boxes.frame[0] || w, vh = video.videoHeight || boxes.frame[1] || h;
    const fw = boxes.frame[0] || vw, fh = boxes.frame[1] || vh;
    const k = Math.min(w / vw, h / vh);
    return { w, h, ox: (w - vw * k) / 2, oy: (h - vh * k) / 2, sx: (vw * k) / fw, sy: (vh * k) / fh };
  }

  function draw() {
    const g = geometry();
    const ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(g.w * ratio) || canvas.height !== Math.round(g.h * ratio)) {
      canvas.width = Math.round(g.w * ratio);
      canvas.height = Math.round(g.h * ratio);
      canvas.style.width = `${g.w}px`;
      canvas.style.height = `${g.h}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, g.w, g.h);
    const frame = shown ? frameAt(video.currentTime || 0) : null;
    const drawn = [];
    for (const f of frame ? frame.faces : []) {
      const x = g.ox + f.left * g.sx, y = g.oy + f.top * g.sy;
      const bw = (f.right - f.left) * g.sx, bh = (f.bottom - f.top) * g.sy;
      const c = color(f.person);
      const name = names.get(f.person) ?? "Unidentified face";
      ctx.lineWidth = 2;
      ctx.strokeStyle = c;
      ctx.strokeRect(x, y, bw, bh);
      ctx.font = "12px system-ui, sans-serif";
      const tw = ctx.measureText(name).width + 8;
      const ty = y >= 18 ? y - 18 : y + bh;  // the name above the box, or below when at the top edge
      ctx.fillStyle = c;
      ctx.fillRect(x - 1, ty, tw, 18);
      ctx.fillStyle = "#fff";
      ctx.fillText(name, x + 3, ty + 13);
      drawn.push([x, y, bw, bh].map((v) => v.toFixed(1)).join(","));
    }
    // what is drawn, for tests and assistive checks: "x,y,w,h" per box in CSS pixels
    canvas.dataset.boxes = drawn.join(" ");
    canvas.dataset.names = frame && shown ? frame.faces.map((f) => names.get(f.person) ?? "Unidentified face").join("|") : "";
  }

  function loop() {
    draw();
    raf = video.paused || video.ended ? null : requestAnimationFrame(loop);
  }
  video.addEventListener("play", () => { if (raf == null) raf = requestAnimationFrame(loop); });
  ["seeked", "timeupdate", "loadedmetadata", "pause"].forEach((e) => video.addEventListener(e, draw));
  new ResizeObserver(draw).observe(video);
  draw();
  return {
    setTime: draw,  // on a seek the boxes move at once, not at the browser's next "seeked"
    setShown(on) { shown = on; draw(); },
    setPeople(list) { names.clear(); list.forEach((p) => names.set(p.id, p.name)); draw(); },
  };
}
