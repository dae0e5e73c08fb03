// Frame step and playback speed: "one sampled frame" is 1 / the session's sampling rate, the grid the
// analysis (and so the charts and face boxes) lives on; the buttons and the "," / "." keys pause and
// step to the previous or next point of that grid.

// The sampled frame before or after ``t`` (seconds) at ``fps``, within [0, end].
export function stepTime(t, fps, direction, end = Infinity) {
  const k = direction > 0 ? Math.floor(t * fps + 1e-6) + 1 : Math.ceil(t * fps - 1e-6) - 1;
  return Math.min(end, Math.max(0, k / fps));
}

export function playbackControls(root, video, { fps, seek }) {
  const step = (direction) => {
    video.pause();
    const end = Number.isFinite(video.duration) ? video.duration : Infinity;
    seek(stepTime(video.currentTime || 0, fps, direction, end));
  };
  root.querySelector("#replay-prev-frame")?.addEventListener("click", () => step(-1));
  root.querySelector("#replay-next-frame")?.addEventListener("click", () => step(1));
  const speed = root.querySelector("#replay-speed");
  speed?.addEventListener("change", () => { video.playbackRate = Number(speed.value) || 1; });
  // the browser resets the rate when a new source loads: keep the chosen one
  video.addEventListener("loadedmetadata", () => { if (speed) video.playbackRate = Number(speed.value) || 1; });
  document.addEventListener("keydown", (ev) => {
    if (ev.key !== "," && ev.key !== ".") return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest?.("input, textarea, select, [contenteditable]")) return;
    ev.preventDefault();
    step(ev.key === "." ? 1 : -1);
  });
}
