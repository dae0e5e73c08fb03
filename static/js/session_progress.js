// A running session's page: the progress bar and status follow /ws/sessions/<id>/, and the page reloads
// when the analysis ends (it then shows the results or the error). The id comes from #session-status.
import { openSocket } from "./ws.js";

const status = document.getElementById("session-status");
if (status?.dataset.follow) {
  const ws = openSocket(`/ws/sessions/${status.dataset.follow}/`);
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    const bar = document.getElementById("analysis-progress");
    if (bar) bar.value = msg.progress;
    status.textContent = msg.status;
    if (msg.status === "done" || msg.status === "failed") window.location.reload();
  };
}
