// A "Copy" button for a text shown once (an invitation link): <button data-copy="input-id">, and an
// optional <span data-copied-for="input-id"> that says whether it worked. Without clipboard access (a page
// served over plain HTTP to another machine) the text is selected for the user to copy by hand.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const said = document.querySelector(`[data-copied-for="${button.dataset.copy}"]`);
  if (!field) continue;
  button.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      if (said) said.textContent = "Copied.";
    } catch {
      if (said) said.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
}
