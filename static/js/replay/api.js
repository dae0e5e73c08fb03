// JSON requests to the project's REST API with the session cookie and the CSRF token.
function csrfToken(root) {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : root.querySelector("input[name=csrfmiddlewaretoken]")?.value || "";
}

// ``root``: an element holding a {% csrf_token %} input, used when the cookie cannot be read.
export async function api(root, url, options = {}) {
  const headers = {
    Accept: "application/json",
    ...(options.body ? { "Content-Type": "application/json" } : {}),
  };
  if (options.method && options.method !== "GET") headers["X-CSRFToken"] = csrfToken(root);
  const r = await fetch(url, { credentials: "same-origin", ...options, headers });
  if (r.status === 204) return null;
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.detail || `request failed (${r.status})`);
  return body;
}
