// Shows whether the signed-in user's websocket round trip (Daphne -> Redis layer -> back) works.
import { openSocket } from "./ws.js";

const status = document.getElementById("ws-status");
if (status) {
  const socket = openSocket("/ws/ping/");
  socket.addEventListener("open", () => socket.send(JSON.stringify({ ping: Date.now() })));
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "pong") {
      status.textContent = "Live connection OK";
      status.dataset.state = "ok";
    }
  });
  socket.addEventListener("close", (event) => {
    if (status.dataset.state !== "ok") {
      status.textContent = `Live connection unavailable (code ${event.code})`;
      status.dataset.state = "error";
    }
  });
}
