// Copy and download buttons for secrets shown once (recovery codes, tokens).
"use strict";

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    await navigator.clipboard.writeText(source.innerText.trim());
    button.textContent = "Copied";
  });
}

for (const button of document.querySelectorAll("[data-download]")) {
  button.addEventListener("click", () => {
    const source = document.getElementById(button.dataset.download);
    const blob = new Blob([source.innerText.trim() + "\n"], { type: "text/plain" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = button.dataset.filename || "gatehouse-recovery-codes.txt";
    link.click();
    URL.revokeObjectURL(link.href);
  });
}
