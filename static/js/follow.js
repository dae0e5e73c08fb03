// Follow a session's analysis on /ws/sessions/<id>/ and go to its page when done. The socket sends
// the stored state on connect, then the workers' messages; it is reopened every few seconds while the
// analysis runs, so a dropped connection or a missed message costs nothing. A close with an application
// code (the log-in ended, the session is gone) stops following instead of retrying for ever.
import { isFinalClose, openSocket } from "./ws.js";

// ``onState(msg)`` sees every state message; ``redirect()`` says whether "done" opens the session page
// (the upload queue of several files stays where it is).
export function followSession(sessionId, url, { bar, say, onState, redirect = () => true }) {
  let finished = false;
  const connect = () => {
    const ws = openSocket(`/ws/sessions/${sessionId}/`);
    const timer = setTimeout(() => ws.close(), 5000);
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.type !== "session.state") return; // summaries' states share the socket
      if (bar) bar.value = msg.progress;
      onState?.(msg);
      if (msg.status === "done") {
        finished = true;
        say("Done.");
        if (redirect()) window.location.href = url;
      } else if (msg.status === "failed") {
        finished = true;
        say(`Analysis failed: ${msg.error}`);
      }
    };
    ws.onclose = (ev) => {
      clearTimeout(timer);
      if (isFinalClose(ev.code)) {
        finished = true;
        say("Stopped following the analysis: reload the page (sign in again if your log-in ended).");
      }
      if (!finished) setTimeout(connect, 500);
    };
  };
  connect();
}
