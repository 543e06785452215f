// Journal Gateway console: small progressive enhancements. The console works without it.
"use strict";

function secretText(id) {
  const node = document.getElementById(id);
  return node ? node.textContent.replace(/\s+/g, "") : "";
}

function flash(button, text) {
  const status = document.getElementById(button.dataset.status || "");
  if (status) { status.textContent = text; }
}

function copySecret(button) {
  const text = secretText(button.dataset.copy);
  const done = () => flash(button, button.dataset.copied || "Copied");
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectSecret(button.dataset.copy));
  } else {
    selectSecret(button.dataset.copy);
    try { document.execCommand("copy"); done(); } catch (e) { /* selected for the user */ }
  }
}

function selectSecret(id) {
  const node = document.getElementById(id);
  if (!node) { return; }
  const range = document.createRange();
  range.selectNodeContents(node);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

// The text file is built here from the page: the secret never travels in a URL.
function downloadSecret(button) {
  const lines = [];
  const header = document.getElementById(button.dataset.header || "");
  if (header) { lines.push(header.textContent.trim()); }
  lines.push(secretText(button.dataset.download));
  const blob = new Blob([lines.join("\n") + "\n"], { type: "text/plain" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = button.dataset.filename || "secret.txt";
  document.body.appendChild(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}

function wipeSecrets() {
  document.querySelectorAll("[data-secret]").forEach((node) => {
    node.textContent = "•••••";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-copy]").forEach((b) => {
    b.classList.remove("hidden");
    b.addEventListener("click", () => copySecret(b));
  });
  document.querySelectorAll("button[data-download]").forEach((b) => {
    b.classList.remove("hidden");
    b.addEventListener("click", () => downloadSecret(b));
  });
  document.querySelectorAll("input[data-enables]").forEach((box) => {
    const target = document.getElementById(box.dataset.enables);
    const sync = () => { if (target) { target.disabled = !box.checked; } };
    box.addEventListener("change", sync);
    sync();
  });
  document.querySelectorAll("form[data-wipe]").forEach((form) => {
    form.addEventListener("submit", wipeSecrets);
  });
  // The mailbox list: one box ticks (or clears) every mailbox of the page.
  document.querySelectorAll("input[data-select-page]").forEach((all) => {
    const boxes = () => all.form.querySelectorAll("input[type=checkbox][name=ids]");
    all.addEventListener("change", () => {
      boxes().forEach((box) => { box.checked = all.checked; });
    });
    boxes().forEach((box) => box.addEventListener("change", () => {
      const list = Array.from(boxes());
      all.checked = list.every((b) => b.checked);
      all.indeterminate = !all.checked && list.some((b) => b.checked);
    }));
  });
  document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
});

// Back/forward cache: a restored page must not show a secret again.
window.addEventListener("pageshow", (event) => { if (event.persisted) { wipeSecrets(); } });
window.addEventListener("pagehide", wipeSecrets);
