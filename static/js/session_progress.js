// A running session's page: the progress bar and status follow /ws/sessions/<id>/, and the page reloads
// when the analysis ends (it then shows the results or the error). The id comes from #session-status.
// After an unexpected close (server restart, network) the socket is reopened, 1 s later then doubling up
// to 30 s; the server sends the stored state on each connect, so nothing is missed. Closes with an
// application code (4401: the log-in ended, 4404: no such session) are final: reconnecting cannot help.
import { isFinalClose, openSocket } from "./ws.js";

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 30000;

function follow(sessionId, status) {
  let delay = FIRST_RETRY_MS;
  const connect = () => {
    const ws = openSocket(`/ws/sessions/${sessionId}/`);
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type !== "session.state") return; // summaries' states share the socket (summaries.js)
      delay = FIRST_RETRY_MS;
      const bar = document.getElementById("analysis-progress");
      if (bar) bar.value = msg.progress;
      status.textContent = msg.status;
      if (msg.status === "done" || msg.status === "failed") window.location.reload();
    };
    ws.onclose = (ev) => {
      if (isFinalClose(ev.code)) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, MAX_RETRY_MS);
    };
  };
  connect();
}

const status = document.getElementById("session-status");
if (status?.dataset.follow) follow(status.dataset.follow, status);
