// Popup of the grok-imagine-api worker extension.
// Reads state/current/history/counters/settings from chrome.storage.local (never writes them)
// and re-renders on chrome.storage.onChanged. Never uses innerHTML: all data goes through textContent.
import { DEFAULT_SETTINGS } from "./defaults.js";

const KEYS = ["settings", "state", "current", "history", "counters"];
const HISTORY_SHOWN = 10;
const PROMPT_MAX = 160;

const PHASES = {
  opening: "Opening Imagine tab",
  preparing: "Preparing",
  generating: "Generating video",
  upscaling: "Upscaling to HD",
  downloading: "Downloading MP4",
  uploading: "Uploading to server",
};
const IMAGE_PHASES = { generating: "Generating images", downloading: "Downloading images" };
const OUTCOME_ICON = { completed: "✓", failed: "✗", cancelled: "⊘", lost: "?" };
const ABILITY_LABELS = [
  ["kinds", "Kinds"],
  ["sources", "Sources"],
  ["durations", "Durations"],
  ["aspect_ratios", "Aspect ratios"],
  ["resolutions", "Resolutions"],
  ["presets", "Presets"],
  ["features", "Features"],
];

const $ = (id) => document.getElementById(id);
const ui = {
  connection: $("connection"),
  connectionText: $("connection-text"),
  connectionDetail: $("connection-detail"),
  serverUrl: $("server-url"),
  toggle: $("toggle"),
  lastError: $("last-error"),
  message: $("message"),
  current: $("current"),
  currentPhase: $("current-phase"),
  currentPrompt: $("current-prompt"),
  currentMeta: $("current-meta"),
  progress: $("progress"),
  progressText: $("progress-text"),
  elapsed: $("elapsed"),
  countCompleted: $("count-completed"),
  countFailed: $("count-failed"),
  countCancelled: $("count-cancelled"),
  countLost: $("count-lost"),
  counterLost: $("counter-lost"),
  history: $("history"),
  historyEmpty: $("history-empty"),
  diagnose: $("diagnose"),
  diagnostics: $("diagnostics"),
  openOptions: $("open-options"),
  version: $("version"),
};

/** Latest copy of the storage keys we show. */
const data = { settings: null, state: null, current: null, history: [], counters: null };
let toggleBusy = false;

// ---------- small helpers ----------

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null) continue;
      if (k === "className") node.className = v;
      else if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, String(v)); // title, aria-*, data-*: attribute values, never parsed as HTML
    }
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function truncate(text, max) {
  const s = String(text ?? "").replace(/\s+/g, " ").trim();
  return s.length > max ? s.slice(0, max - 1).trimEnd() + "…" : s;
}

function num(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function timeAgo(ms, now = Date.now()) {
  const t = Number(ms);
  if (!Number.isFinite(t) || t <= 0) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.floor(h / 24);
  return `${d} d ago`;
}

function formatDuration(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return `${m}m ${String(s % 60).padStart(2, "0")}s`;
}

function errorText(err) {
  if (!err) return "unknown error";
  return err.message ? err.message : String(err);
}

function showMessage(text, ok) {
  if (!text) {
    ui.message.hidden = true;
    ui.message.textContent = "";
    return;
  }
  ui.message.hidden = false;
  ui.message.dataset.ok = ok ? "true" : "false";
  ui.message.textContent = text;
}

async function send(msg) {
  const reply = await chrome.runtime.sendMessage(msg);
  if (reply === undefined) throw new Error("the service worker gave no reply");
  return reply;
}

// ---------- rendering ----------

function renderConnection() {
  const state = data.state || {};
  const settings = data.settings || {};
  const now = Date.now();
  let st = "unknown";
  let text;
  if (state.connected === true) {
    st = "connected";
    text = "Connected";
  } else if (state.connected === false) {
    st = "disconnected";
    text = "Disconnected";
  } else {
    text = state.running ? "Connecting…" : "Not connected";
  }
  ui.connection.dataset.state = st;
  ui.connectionText.textContent = text;

  let detail = "";
  const backoff = Number(state.backoffUntil);
  const resting = Number(state.restingUntil);
  if (Number.isFinite(resting) && resting > now) {
    // Grok rate-limited this browser: the server hands it no job until then (docs/retries.md).
    detail = `· resting after a rate limit until ${new Date(resting).toLocaleTimeString()} (${Math.ceil((resting - now) / 1000)}s)`;
  } else if (Number.isFinite(backoff) && backoff > now) {
    detail = `· retrying in ${Math.ceil((backoff - now) / 1000)}s`;
  } else if (state.lastContactAt) {
    detail = `· last contact ${timeAgo(state.lastContactAt, now)}`;
  } else if (!state.running) {
    detail = "· stopped";
  }
  ui.connectionDetail.textContent = detail;
  ui.connectionDetail.title = resting > now ? state.restReason || "" : "";

  const server = settings.serverUrl || DEFAULT_SETTINGS.serverUrl;
  ui.serverUrl.textContent = server;
  ui.serverUrl.title = server;
}

function renderToggle() {
  const running = Boolean(data.state && data.state.running);
  ui.toggle.textContent = running ? "Stop" : "Start";
  ui.toggle.dataset.running = running ? "true" : "false";
  ui.toggle.title = running
    ? "Stop claiming new jobs (a job in progress is finished first)"
    : "Start claiming jobs from the server";
  ui.toggle.disabled = toggleBusy;
}

function renderLastError() {
  const err = data.state && data.state.lastError;
  if (err) {
    ui.lastError.hidden = false;
    ui.lastError.textContent = `⚠ ${err}`;
  } else {
    ui.lastError.hidden = true;
    ui.lastError.textContent = "";
  }
}

function renderCurrent() {
  const cur = data.current;
  if (!cur || typeof cur !== "object") {
    ui.current.hidden = true;
    return;
  }
  ui.current.hidden = false;
  const phase = String(cur.phase || "");
  const images = cur.media === "image" ? IMAGE_PHASES[phase] : null;
  ui.currentPhase.textContent = images || PHASES[phase] || phase || "Working";
  ui.current.dataset.phase = phase;

  const prompt = String(cur.prompt ?? "");
  ui.currentPrompt.textContent = prompt ? truncate(prompt, PROMPT_MAX) : "(no prompt)";
  ui.currentPrompt.title = prompt;

  const pct = Math.max(0, Math.min(100, Math.round(num(cur.progress))));
  ui.progress.value = pct;
  ui.progressText.textContent = `${pct}%`;

  const meta = [];
  const o = cur.options || {};
  if (o.mode) meta.push(String(o.mode));
  if (o.aspect_ratio) meta.push(String(o.aspect_ratio));
  if (o.resolution) meta.push(String(o.resolution));
  if (o.duration) meta.push(`${o.duration}s`);
  if (cur.hasImage) meta.push("from image");
  if (num(cur.attempt) > 1) meta.push(`attempt ${num(cur.attempt)}`);
  ui.currentMeta.textContent = meta.join(" · ");
  renderElapsed();
}

function renderElapsed() {
  const cur = data.current;
  if (!cur || !cur.startedAt) {
    ui.elapsed.textContent = "";
    return;
  }
  const secs = (Date.now() - Number(cur.startedAt)) / 1000;
  ui.elapsed.textContent = Number.isFinite(secs) ? formatDuration(secs) : "";
}

function renderCounters() {
  const c = data.counters || {};
  ui.countCompleted.textContent = String(num(c.completed));
  ui.countFailed.textContent = String(num(c.failed));
  ui.countCancelled.textContent = String(num(c.cancelled));
  const lost = num(c.lost);
  ui.countLost.textContent = String(lost);
  ui.counterLost.hidden = lost === 0;
}

function renderHistory() {
  const list = Array.isArray(data.history) ? data.history.filter((h) => h && typeof h === "object") : [];
  const items = list
    .slice()
    .sort((a, b) => num(b.finishedAt) - num(a.finishedAt))
    .slice(0, HISTORY_SHOWN);
  const now = Date.now();
  const nodes = items.map((h) => {
    const outcome = String(h.outcome || "unknown");
    const prompt = String(h.prompt ?? "");
    const li = el("li", { "data-outcome": outcome, title: outcome });
    li.append(
      el("span", { className: "icon", "aria-label": outcome }, OUTCOME_ICON[outcome] || "•"),
      el("span", { className: "h-prompt", title: prompt }, prompt ? truncate(prompt, PROMPT_MAX) : "(no prompt)"),
      el("span", { className: "ago", "data-time": num(h.finishedAt) }, timeAgo(h.finishedAt, now))
    );
    if (outcome !== "completed" && (h.code || h.message)) {
      const parts = [h.code, h.message].filter(Boolean).map(String);
      const text = parts.join(": ");
      li.append(el("span", { className: "error", title: text }, text));
    }
    if (outcome === "completed" && num(h.seconds) > 0) {
      li.querySelector(".ago").title = `took ${formatDuration(num(h.seconds))}`;
    }
    return li;
  });
  ui.history.replaceChildren(...nodes);
  ui.historyEmpty.hidden = nodes.length > 0;
}

function refreshTimes() {
  const now = Date.now();
  for (const span of ui.history.querySelectorAll(".ago[data-time]")) {
    span.textContent = timeAgo(Number(span.dataset.time), now);
  }
}

function renderAll() {
  renderConnection();
  renderToggle();
  renderLastError();
  renderCurrent();
  renderCounters();
  renderHistory();
}

// ---------- diagnostics ----------

function renderDiagnostics(reply) {
  const box = ui.diagnostics;
  box.hidden = false;
  const ok = Boolean(reply && reply.ok === true);
  const message = reply && typeof reply.message === "string" && reply.message
    ? reply.message
    : ok ? "Imagine page looks fine." : "Check failed.";
  const children = [el("p", { className: "diag-message", "data-ok": ok ? "true" : "false" }, message)];
  if (reply && reply.url) {
    children.push(el("p", { className: "diag-url muted", title: String(reply.url) }, String(reply.url)));
  }
  const elements = reply && Array.isArray(reply.elements) ? reply.elements : [];
  if (elements.length) {
    const ul = el("ul", { className: "diag-list" });
    for (const item of elements) {
      if (!item || typeof item !== "object") continue;
      const found = item.found === true;
      const optional = item.required === false;
      const detail = String(item.detail ?? "");
      ul.append(
        el(
          "li",
          { "data-found": found ? "true" : "false", "data-required": optional ? "false" : "true" },
          el("span", { className: "mark", "aria-label": found ? "found" : "missing" }, found ? "✓" : "✗"),
          el("span", { className: "name" }, String(item.name ?? "")),
          el("span", { className: "detail" }, optional ? (detail ? `optional · ${detail}` : "optional") : detail)
        )
      );
    }
    children.push(ul);
  }
  if (reply && reply.abilities && typeof reply.abilities === "object") {
    children.push(...abilitiesView(reply.abilities, reply.abilitiesRefused));
  }
  box.replaceChildren(...children);
}

// What the page offers, as the worker declares it to the server: one line per list.
function abilitiesView(abilities, refused) {
  const ul = el("ul", { className: "diag-list diag-abilities" });
  for (const [key, label] of ABILITY_LABELS) {
    const values = Array.isArray(abilities[key]) ? abilities[key] : [];
    if (!values.length) continue;
    const text = values.map((v) => (key === "durations" ? `${v} s` : String(v))).join(", ");
    ul.append(
      el(
        "li",
        { "data-ability": key },
        el("span", { className: "mark" }, "·"),
        el("span", { className: "name" }, label),
        el("span", { className: "detail" }, text)
      )
    );
  }
  const title = el("p", { className: "diag-abilities-title muted small" }, "This page offers:");
  const nodes = [title, ul];
  if (typeof refused === "string" && refused) {
    const text = `The server refused to take these (${refused}): the worker polls without declaring them.`;
    nodes.push(el("p", { className: "diag-refused small" }, text));
  }
  return nodes;
}

ui.diagnose.addEventListener("click", async () => {
  ui.diagnose.disabled = true;
  const label = ui.diagnose.textContent;
  ui.diagnose.textContent = "Checking…";
  try {
    const reply = await send({ type: "diagnose" });
    renderDiagnostics(reply);
  } catch (err) {
    renderDiagnostics({ ok: false, message: `No answer from the extension's service worker: ${errorText(err)}` });
  } finally {
    ui.diagnose.textContent = label;
    ui.diagnose.disabled = false;
  }
});

// ---------- start / stop ----------

ui.toggle.addEventListener("click", async () => {
  if (toggleBusy) return;
  const wantRunning = !(data.state && data.state.running);
  toggleBusy = true;
  renderToggle();
  showMessage("");
  try {
    const reply = await send({ type: wantRunning ? "start" : "stop" });
    if (reply && reply.ok === false) {
      showMessage(reply.message || (wantRunning ? "Could not start." : "Could not stop."), false);
    } else {
      // The service worker writes `state`; reflect the change right away, storage will confirm.
      data.state = { ...(data.state || {}), running: wantRunning };
      if (!wantRunning && data.current) {
        showMessage("Stopping after the current job finishes.", true);
      }
    }
  } catch (err) {
    showMessage(`No answer from the extension's service worker: ${errorText(err)}`, false);
  } finally {
    toggleBusy = false;
    renderConnection();
    renderToggle();
  }
});

// ---------- settings link ----------

ui.openOptions.addEventListener("click", (ev) => {
  ev.preventDefault();
  try {
    const p = chrome.runtime.openOptionsPage();
    if (p && typeof p.catch === "function") p.catch((err) => showMessage(errorText(err), false));
  } catch (err) {
    showMessage(errorText(err), false);
  }
});

// ---------- wiring ----------

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local") return;
  let touched = false;
  for (const key of KEYS) {
    if (key in changes) {
      data[key] = changes[key].newValue ?? (key === "history" ? [] : null);
      touched = true;
    }
  }
  if (touched) renderAll();
});

// Tick every second: elapsed time, "x ago" labels, back-off countdown.
setInterval(() => {
  renderElapsed();
  refreshTimes();
  renderConnection();
}, 1000);

try {
  const manifest = chrome.runtime.getManifest && chrome.runtime.getManifest();
  if (manifest && manifest.version) ui.version.textContent = `v${manifest.version}`;
} catch {
  /* ignore */
}

renderAll();
chrome.storage.local
  .get(KEYS)
  .then((got) => {
    for (const key of KEYS) {
      if (key in got) data[key] = got[key] ?? (key === "history" ? [] : null);
    }
    renderAll();
  })
  .catch((err) => showMessage(`Could not read the extension's storage: ${errorText(err)}`, false));
