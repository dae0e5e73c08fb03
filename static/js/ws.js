// Small helpers for the project's websockets: ws:// or wss:// from the page's own scheme, and the
// JSON-control + binary-data sockets of the upload and the live recording.
// Closes with an application code (4401: the log-in ended, 4404: no such session, 4409: taken over
// elsewhere) are the server's answer, not a network failure: reconnecting cannot help.
export const isFinalClose = (code) => code >= 4000 && code <= 4999;

export function openSocket(path) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return new WebSocket(`${scheme}://${window.location.host}${path}`);
}

// Opens ``path`` for binary data, sends ``start()`` as JSON once open, hands each JSON message to
// ``onMessage`` and the close event to ``onClose``. ``sendJson`` sends only while the socket is open.
export function controlSocket(path, { start, onMessage, onClose }) {
  const ws = openSocket(path);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => sendJson(ws, start());
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = (ev) => onClose?.(ev);
  return ws;
}

export function sendJson(ws, message) {
  if (ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(message));
  return true;
}
