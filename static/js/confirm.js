// Asks before a destructive form is sent: <form data-confirm="Question?">. An inline onsubmit handler would
// need 'unsafe-inline' in the Content-Security-Policy's script-src. With data-confirm-on="value" only the
// submit button of that value asks (a suggestion's "Confirm (merge)"; its "Not the same" moves nothing).
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    const only = form.dataset.confirmOn;
    if (only && event.submitter?.value !== only) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
