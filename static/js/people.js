// The people pages: inline rename (fetch, name updated in place) and a question before a suggested merge.
// Without JavaScript the same form posts normally and the page reloads.
const csrf = (form) => form.querySelector("input[name=csrfmiddlewaretoken]").value;

for (const form of document.querySelectorAll("form.rename-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = form.querySelector(".rename-status");
    status.textContent = "Saving…";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json", "X-CSRFToken": csrf(form) },
        credentials: "same-origin",
      });
      const data = await response.json();
      if (!response.ok) {
        status.textContent = data.detail || "Could not rename.";
        return;
      }
      const card = form.closest("[data-person]");
      // textContent, never innerHTML: a name is text, whatever characters it holds
      let targets = card ? card.querySelectorAll(".person-name") : [];
      if (!targets.length) targets = document.querySelectorAll("h1.person-name"); // the person's own page
      for (const el of targets) el.textContent = data.display_name;
      status.textContent = "Saved.";
    } catch {
      status.textContent = "Could not reach the server; try again.";
    }
  });
}
