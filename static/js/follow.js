// Follow a session's analysis on /ws/sessions/<id>/ and go to its page when done. The socket sends
// the stored state on connect, then the workers' messages; it is reopened every few seconds while the
// analysis runs, so a dropped connection or a missed message costs nothing.
import { openSocket } from "./ws.js";

export function followSession(sessionId, url, { bar, say }) {
  let finished = false;
  const connect = () => {
    const ws = openSocket(`/ws/sessions/${sessionId}/`);
    const timer = setTimeout(() => ws.close(), 5000);
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (bar) bar.value = msg.progress;
      if (msg.status === "done") {
        finished = true;
        say("Done.");
        window.location.href = url;
      } else if (msg.status === "failed") {
        finished = true;
        say(`Analysis failed: ${msg.error}`);
      }
    };
    ws.onclose = () => {
      clearTimeout(timer);
      if (!finished) setTimeout(connect, 500);
    };
  };
  connect();
}
