// Asks before a destructive form is sent: <form data-confirm="Question?">. An inline onsubmit handler would
// need 'unsafe-inline' in the Content-Security-Policy's script-src.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
