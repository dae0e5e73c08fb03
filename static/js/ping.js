// Live progress needs the websocket (Daphne -> Redis layer -> back): say so only when it does not work.
import { openSocket } from "./ws.js";

const status = document.getElementById("ws-status");
if (status) {
  const socket = openSocket("/ws/ping/");
  socket.addEventListener("open", () => socket.send(JSON.stringify({ ping: Date.now() })));
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "pong") {
      status.dataset.state = "ok"; // stays hidden: a working connection needs no words
    }
  });
  socket.addEventListener("close", () => {
    if (status.dataset.state !== "ok") {
      status.textContent = "Progress is not updating live; reload the page to see the latest state.";
      status.dataset.state = "error";
      status.hidden = false;
    }
  });
}
