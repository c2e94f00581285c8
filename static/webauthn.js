// Security-key ceremonies for the portal. Buttons carry their endpoints in data attributes;
// the server's options are WebAuthn JSON, parsed by the browser itself.
"use strict";

function csrfToken(element) {
  const field = element.closest("form")?.querySelector("input[name=csrfmiddlewaretoken]")
    || document.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

function withNext(url) {
  const next = new URLSearchParams(window.location.search).get("next");
  if (!next) return url;
  const target = new URL(url, window.location.origin);
  target.searchParams.set("next", next);
  return target.toString();
}

async function postJSON(url, body, button) {
  const response = await fetch(withNext(url), {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(button) },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `The server answered ${response.status}.`);
  return data;
}

function showStatus(button, text, isError) {
  const target = document.getElementById(button.dataset.status || "key-status");
  if (target) {
    target.textContent = text;
    target.classList.toggle("error", Boolean(isError));
  }
}

async function register(button) {
  const nameInput = document.getElementById(button.dataset.nameInput || "key-name");
  const options = await postJSON(button.dataset.begin, {}, button);
  const credential = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
  });
  return postJSON(button.dataset.complete, {
    name: nameInput ? nameInput.value : "",
    credential: credential.toJSON(),
  }, button);
}

async function assert(button) {
  const purpose = button.dataset.purpose;
  const options = await postJSON(button.dataset.begin, { purpose }, button);
  const credential = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
  });
  return postJSON(button.dataset.complete, { purpose, credential: credential.toJSON() }, button);
}

for (const button of document.querySelectorAll("[data-key-register], [data-key-assert]")) {
  button.addEventListener("click", async (event) => {
    event.preventDefault();
    button.disabled = true;
    showStatus(button, "Touch your security key…", false);
    try {
      const result = button.hasAttribute("data-key-register") ? await register(button) : await assert(button);
      showStatus(button, "Done.", false);
      window.location.assign(result.next || window.location.href);
    } catch (error) {
      showStatus(button, error.message || String(error), true);
      button.disabled = false;
    }
  });
}
