// Options page of the grok-imagine-api worker extension.
// Writes only the `settings` key of chrome.storage.local (merged, clientId is kept).
// Never uses innerHTML: every piece of text goes through textContent.
import { DEFAULT_SETTINGS } from "./defaults.js";

const LIMITS = Object.freeze({
  generationTimeoutSeconds: { min: 30, max: 3600, label: "Generation timeout" },
  stallTimeoutSeconds: { min: 10, max: 3600, label: "Stall timeout" },
});
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1"]);

const $ = (id) => document.getElementById(id);
const form = $("settings-form");
const serverUrlInput = $("server-url");
const tokenInput = $("token");
const tokenToggle = $("token-toggle");
const genInput = $("generation-timeout");
const stallInput = $("stall-timeout");
const clientIdInput = $("client-id");
const saveBtn = $("save");
const testBtn = $("test");
const statusEl = $("status");
const hintEl = $("hint");

// ---------- helpers ----------

function setStatus(ok, message, { warn = false, busy = false } = {}) {
  statusEl.hidden = false;
  statusEl.dataset.ok = ok ? "true" : "false";
  if (warn) statusEl.dataset.warn = "true"; else delete statusEl.dataset.warn;
  if (busy) statusEl.dataset.busy = "true"; else delete statusEl.dataset.busy;
  statusEl.textContent = String(message);
}

function setHint(text) {
  hintEl.textContent = text || "";
  hintEl.hidden = !text;
}

function markInvalid(input, invalid) {
  if (invalid) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

/** Parse and normalise a server URL. Returns {ok, url, origin} or {ok:false, error}. */
function normalizeServerUrl(raw) {
  const text = String(raw || "").trim();
  if (!text) return { ok: false, error: "Enter the server URL, e.g. http://localhost:8000" };
  let u;
  try {
    u = new URL(text);
  } catch {
    return { ok: false, error: `Not a valid URL: ${text}` };
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return { ok: false, error: "The server URL must start with http:// or https://" };
  }
  if (u.username || u.password) {
    return { ok: false, error: "Do not put credentials in the URL; use the Worker token field." };
  }
  if (u.search || u.hash) {
    return { ok: false, error: "The server URL must not contain a query (?…) or fragment (#…)." };
  }
  const path = u.pathname.replace(/\/+$/, "");
  return { ok: true, url: u.origin + path, origin: u.origin, hostname: u.hostname, protocol: u.protocol };
}

function needsHostPermission(parsed) {
  // localhost / 127.0.0.1 over http are in the manifest's host_permissions (any port).
  return !(parsed.protocol === "http:" && LOCAL_HOSTS.has(parsed.hostname));
}

function readSeconds(input, key) {
  const { min, max, label } = LIMITS[key];
  const raw = String(input.value).trim();
  const n = Number(raw);
  if (raw === "" || !Number.isInteger(n) || n < min || n > max) {
    return { ok: false, error: `${label} must be a whole number of seconds between ${min} and ${max}.` };
  }
  return { ok: true, value: n };
}

function errorText(err) {
  if (!err) return "unknown error";
  return err.message ? err.message : String(err);
}

// ---------- load ----------

function fillForm(settings) {
  const s = { ...DEFAULT_SETTINGS, ...(settings || {}) };
  serverUrlInput.value = s.serverUrl || DEFAULT_SETTINGS.serverUrl;
  tokenInput.value = s.token || "";
  genInput.value = String(s.generationTimeoutSeconds ?? DEFAULT_SETTINGS.generationTimeoutSeconds);
  stallInput.value = String(s.stallTimeoutSeconds ?? DEFAULT_SETTINGS.stallTimeoutSeconds);
  showClientId(s.clientId);
}

function showClientId(clientId) {
  if (clientId) {
    clientIdInput.value = String(clientId);
    clientIdInput.placeholder = "";
  } else {
    clientIdInput.value = "";
    clientIdInput.placeholder = "(not created yet – appears once the extension has started)";
  }
}

async function load() {
  try {
    const { settings } = await chrome.storage.local.get("settings");
    fillForm(settings);
  } catch (err) {
    fillForm(null);
    setStatus(false, `Could not read the saved settings: ${errorText(err)}`);
  }
}

// Keep the (read-only) client id in sync, e.g. when the SW creates it after the page opened.
// Editable fields are not overwritten so that unsaved edits are not lost.
chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local" || !changes.settings) return;
  const nv = changes.settings.newValue || {};
  showClientId(nv.clientId);
});

// ---------- token show / hide ----------

tokenToggle.addEventListener("click", () => {
  const show = tokenInput.type === "password";
  tokenInput.type = show ? "text" : "password";
  tokenToggle.textContent = show ? "Hide" : "Show";
  tokenToggle.setAttribute("aria-pressed", show ? "true" : "false");
});

// ---------- validation ----------

function validateForm() {
  const errors = [];
  const url = normalizeServerUrl(serverUrlInput.value);
  markInvalid(serverUrlInput, !url.ok);
  if (!url.ok) errors.push(url.error);
  const gen = readSeconds(genInput, "generationTimeoutSeconds");
  markInvalid(genInput, !gen.ok);
  if (!gen.ok) errors.push(gen.error);
  const stall = readSeconds(stallInput, "stallTimeoutSeconds");
  markInvalid(stallInput, !stall.ok);
  if (!stall.ok) errors.push(stall.error);
  return { errors, url, gen, stall, token: tokenInput.value.trim() };
}

// ---------- save ----------

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  setHint("");
  const v = validateForm();
  if (v.errors.length) {
    setStatus(false, v.errors.join(" "));
    return;
  }

  // chrome.permissions.request needs a user gesture: call it synchronously,
  // before any await, and only then do the (async) storage write.
  let permissionPromise = null;
  let permissionPattern = null;
  if (needsHostPermission(v.url)) {
    permissionPattern = v.url.origin + "/*";
    try {
      permissionPromise = chrome.permissions.request({ origins: [permissionPattern] });
    } catch (err) {
      permissionPromise = Promise.reject(err);
    }
  }

  serverUrlInput.value = v.url.url; // show the normalised form
  tokenInput.value = v.token;
  save(v, permissionPromise, permissionPattern);
});

async function save(v, permissionPromise, permissionPattern) {
  saveBtn.disabled = true;
  setStatus(true, "Saving…", { busy: true });
  try {
    const { settings: stored } = await chrome.storage.local.get("settings");
    const next = {
      ...DEFAULT_SETTINGS,
      ...(stored || {}),
      serverUrl: v.url.url,
      token: v.token,
      generationTimeoutSeconds: v.gen.value,
      stallTimeoutSeconds: v.stall.value,
    };
    // clientId belongs to the service worker: keep whatever is stored.
    if (stored && stored.clientId) next.clientId = stored.clientId;
    else delete next.clientId;
    await chrome.storage.local.set({ settings: next });
  } catch (err) {
    setStatus(false, `Could not save: ${errorText(err)}`);
    saveBtn.disabled = false;
    if (permissionPromise) permissionPromise.catch(() => {});
    return;
  }

  if (!permissionPromise) {
    setStatus(true, "Saved.");
    saveBtn.disabled = false;
    return;
  }

  let granted = false;
  let permError = null;
  try {
    granted = Boolean(await permissionPromise);
  } catch (err) {
    permError = err;
  }
  if (granted) {
    setStatus(true, `Saved. Access to ${v.url.origin} granted.`);
  } else {
    const why = permError ? ` (${errorText(permError)})` : "";
    setStatus(true, `Saved, but access to ${v.url.origin} was not granted${why}.`, { warn: true });
    setHint(
      "The worker can still reach the server if it allows cross-origin requests (CORS) from this extension. " +
        "Otherwise press Save again and allow access when Chrome asks."
    );
  }
  saveBtn.disabled = false;
}

// ---------- test connection ----------

testBtn.addEventListener("click", async () => {
  setHint("");
  const url = normalizeServerUrl(serverUrlInput.value);
  markInvalid(serverUrlInput, !url.ok);
  if (!url.ok) {
    setStatus(false, url.error);
    return;
  }
  testBtn.disabled = true;
  setStatus(true, `Contacting ${url.url}…`, { busy: true });
  let reply;
  try {
    reply = await chrome.runtime.sendMessage({
      type: "testConnection",
      serverUrl: url.url,
      token: tokenInput.value.trim(),
    });
  } catch (err) {
    setStatus(false, `The extension's service worker did not answer: ${errorText(err)}`);
    testBtn.disabled = false;
    return;
  }
  testBtn.disabled = false;
  if (!reply || typeof reply !== "object") {
    setStatus(false, "The extension's service worker gave no reply.");
    return;
  }
  const ok = reply.ok === true;
  const message = typeof reply.message === "string" && reply.message
    ? reply.message
    : ok ? "Connected." : "Connection failed.";
  setStatus(ok, message);

  if (!ok && needsHostPermission(url) && chrome.permissions && chrome.permissions.contains) {
    try {
      const has = await chrome.permissions.contains({ origins: [url.origin + "/*"] });
      if (!has) {
        setHint(
          `This extension has no access to ${url.origin} yet. Press Save and allow access when Chrome asks, ` +
            "or make the server allow cross-origin requests (CORS)."
        );
      }
    } catch {
      /* ignore */
    }
  }
});

// Clear a field's error mark as soon as it is edited.
for (const input of [serverUrlInput, genInput, stallInput]) {
  input.addEventListener("input", () => markInvalid(input, false));
}

load();
