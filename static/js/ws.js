// Small helper for the project's websockets: picks ws:// or wss:// from the page's own scheme.
export function openSocket(path) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return new WebSocket(`${scheme}://${window.location.host}${path}`);
}
