// The worker loop (MV3 service worker): claims jobs from the server, hands each to the Imagine tab's content
// script, keeps the lease alive, downloads the finished MP4 here (never through messages) and uploads it.
// Chrome may stop this worker at any time: everything that must survive is in chrome.storage, and an alarm
// brings the loop back.
import { DEFAULT_SETTINGS, Server, ServerError } from "./server.js";

const IMAGINE_URL = "https://grok.com/imagine";
const IMAGINE_TABS = "https://grok.com/imagine*";
const POLL_WAIT_SECONDS = 20;
const TICK_ALARM = "tick";
const HISTORY_SIZE = 50;
const MAX_BACKOFF_MS = 30000;
const PAGE_LOAD_MS = 30000;
const OUTDATED_RETRIES = 1;
const HEARTBEAT_MS = 5000;
const TRANSFER_TIMEOUT_MS = 600000;

const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

let looping = false;
let jobImages = new Map(); // jobId -> base64 image, kept only in memory (it can be megabytes)
let lastReport = 0;
let reportTimer = null;
let transferring = null; // the job whose video this instance of the worker is downloading or uploading
let failures = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const local = chrome.storage.local;

async function settings() {
  const { settings: saved } = await local.get("settings");
  return { ...DEFAULT_SETTINGS, ...(saved || {}) };
}

async function getState() {
  const { state } = await local.get("state");
  return state || { running: false, connected: null, lastError: null, lastContactAt: null, backoffUntil: null };
}

async function setState(patch) {
  await local.set({ state: { ...(await getState()), ...patch } });
}

async function getCurrent() {
  return (await local.get("current")).current || null;
}

async function server() {
  return new Server(await settings());
}

async function contact(ok, error = null) {
  await setState(ok ? { connected: true, lastError: null, lastContactAt: Date.now() } : { connected: false, lastError: error });
}

// --- the loop -------------------------------------------------------------------------------

async function loop() {
  if (looping) return;
  looping = true;
  try {
    for (;;) {
      const state = await getState();
      if (!state.running || (await getCurrent())) return;
      if (state.backoffUntil && Date.now() < state.backoffUntil) {
        await sleep(Math.min(1000, state.backoffUntil - Date.now())); // short naps: new settings end the wait
        continue;
      }
      let claim = null;
      try {
        claim = await (await server()).poll(POLL_WAIT_SECONDS, AbortSignal.timeout((POLL_WAIT_SECONDS + 30) * 1000));
        failures = 0;
        await contact(true);
        await setState({ backoffUntil: null });
      } catch (error) {
        failures += 1;
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1)) * (0.75 + Math.random() / 2);
        await contact(false, error.message);
        await setState({ backoffUntil: Date.now() + delay });
        continue;
      }
      if (claim) await startJob(claim);
    }
  } finally {
    looping = false;
  }
}

// --- one job --------------------------------------------------------------------------------

async function imagineTab(current) {
  if (current && current.tabId) {
    try {
      return await chrome.tabs.get(current.tabId);
    } catch {
      // closed since: find or open another
    }
  }
  const tabs = await chrome.tabs.query({ url: IMAGINE_TABS });
  return tabs.find((tab) => tab.active) || tabs[0] || null;
}

async function ping(tabId) {
  try {
    return await chrome.tabs.sendMessage(tabId, { type: "ping" });
  } catch {
    return null;
  }
}

// Load a fresh Imagine page (the clean state for every job) and wait for the content script to answer.
async function openImagine(current) {
  let tab = await imagineTab(current);
  if (tab) {
    await chrome.tabs.update(tab.id, { url: IMAGINE_URL });
  } else {
    tab = await chrome.tabs.create({ url: IMAGINE_URL, active: true });
  }
  const deadline = Date.now() + PAGE_LOAD_MS;
  let retryAt = Date.now() + PAGE_LOAD_MS / 3;
  await sleep(200);
  while (Date.now() < deadline) {
    const loaded = await chrome.tabs.get(tab.id).catch(() => null);
    if (!loaded) throw new Error("The Imagine tab was closed while loading");
    const answer = loaded.status === "complete" ? await ping(tab.id) : null;
    if (answer && answer.url.startsWith(IMAGINE_URL)) return tab.id;
    if (answer && !/^https:\/\/grok\.com\//.test(answer.url)) break;
    if (Date.now() > retryAt) {
      // A network error page has no content script: load the page once more.
      retryAt = deadline;
      await chrome.tabs.update(tab.id, { url: IMAGINE_URL });
    }
    await sleep(250);
  }
  const url = (await chrome.tabs.get(tab.id).catch(() => ({}))).url || "";
  if (url && !url.startsWith(IMAGINE_URL)) {
    throw Object.assign(new Error(`grok.com sent the tab to ${url}: sign in to grok.com in this browser`), { code: "session" });
  }
  throw new Error("The Imagine page did not load within 30 s");
}

async function startJob(claim) {
  const { generationTimeoutSeconds, stallTimeoutSeconds } = await settings();
  const current = {
    jobId: claim.job_id,
    claimToken: claim.claim_token,
    prompt: claim.prompt,
    options: claim.options || {},
    hasImage: Boolean(claim.image),
    imageMime: claim.image_mime,
    phase: "opening",
    progress: 0,
    startedAt: Date.now(),
    tabId: null,
    attempt: 1,
    leaseSeconds: claim.lease_seconds || 300,
    generationTimeoutMs: generationTimeoutSeconds * 1000,
    stallTimeoutMs: stallTimeoutSeconds * 1000,
  };
  if (claim.image) jobImages.set(claim.job_id, claim.image);
  await local.set({ current });
  lastReport = Date.now();
  await dispatch(current);
}

// Open the page and hand the job to the content script; it reports back with job-* messages.
async function dispatch(current) {
  try {
    current.tabId = await openImagine(current);
    await local.set({ current });
    const image = current.hasImage ? jobImages.get(current.jobId) : null;
    if (current.hasImage && !image) throw new Error("The job's image was lost when the browser stopped the extension");
    const job = {
      jobId: current.jobId,
      prompt: current.prompt,
      options: current.options,
      image,
      imageMime: current.imageMime,
      imageName: `${current.jobId}.${EXTENSIONS[current.imageMime] || "png"}`,
      generationTimeoutMs: current.generationTimeoutMs,
      stallTimeoutMs: current.stallTimeoutMs,
    };
    const answer = await chrome.tabs.sendMessage(current.tabId, { type: "run", job });
    if (!answer || !answer.accepted) throw new Error(`The Imagine tab is busy with job ${answer && answer.busy}`);
  } catch (error) {
    await fail(current.jobId, error.code || "worker_error", error.message);
  }
}

// Every read-modify-write of `current` goes through this chain, so a late progress message can neither
// undo a finished job nor move a job back from downloading to generating.
let currentChain = Promise.resolve();
function mutate(change) {
  const step = currentChain.then(async () => {
    const current = await getCurrent();
    const [next, result] = change(current);
    if (next !== current) await local.set({ current: next });
    return result;
  });
  currentChain = step.catch(() => {});
  return step;
}

const LATE_PHASES = ["downloading", "uploading"];

function update(jobId, patch) {
  return mutate((current) => {
    if (!current || current.jobId !== jobId) return [current, null];
    const backwards = LATE_PHASES.includes(current.phase) && !LATE_PHASES.includes(patch.phase);
    const next = { ...current, ...patch, ...(backwards ? { phase: current.phase } : {}) };
    return [next, next];
  });
}

// Take the job out of `current`; only one caller gets it, so a job is never recorded twice.
function take(jobId) {
  return mutate((current) => (current && current.jobId === jobId ? [null, current] : [current, null]));
}

// Progress goes to the server at most once a second; it also renews the lease.
async function report(current, force = false) {
  const wait = 1000 - (Date.now() - lastReport);
  if (!force && wait > 0) {
    // Throttled, not dropped: the latest value goes out when the second is over.
    reportTimer ??= setTimeout(async () => {
      reportTimer = null;
      const latest = await getCurrent();
      if (latest && latest.jobId === current.jobId) await report(latest, true);
    }, wait);
    return;
  }
  lastReport = Date.now();
  try {
    const answer = await (await server()).progress(current.jobId, current.claimToken, current.progress);
    await contact(true);
    if (answer.cancelled) await finish(current, "cancelled", null, "Cancelled through the API");
  } catch (error) {
    if (error instanceof ServerError && (error.status === 409 || error.status === 404)) {
      await finish(current, "lost", error.code, error.message);
    } else {
      await contact(false, error.message);
    }
  }
}

async function onProgress(message) {
  const patch = { phase: message.phase };
  if (typeof message.progress === "number") patch.progress = message.progress;
  const current = await update(message.jobId, patch);
  if (current && typeof message.progress === "number") await report(current);
}

function isMp4(bytes) {
  return bytes.length >= 8 && String.fromCharCode(...bytes.slice(4, 8)) === "ftyp";
}

const VIDEO_HOSTS = ["assets.grok.com", "imagine-public.x.ai"];

async function download(url) {
  if (!VIDEO_HOSTS.includes(new URL(url).hostname)) {
    throw Object.assign(new Error(`The result is not on Grok's asset host: ${url}`), { code: "ui_changed" });
  }
  const reply = await fetch(url, { credentials: "include", signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) });
  if (!reply.ok) throw Object.assign(new Error(`Downloading the video failed: HTTP ${reply.status}`), { code: "no_output" });
  const video = await reply.blob();
  if (video.size === 0) throw Object.assign(new Error("Grok's video file was empty (0 bytes)"), { code: "no_output" });
  if (!isMp4(new Uint8Array(await video.slice(0, 8).arrayBuffer()))) {
    throw Object.assign(new Error("Grok's video file is not an MP4"), { code: "no_output" });
  }
  return video;
}

async function onResult(message) {
  transferring = message.jobId;
  try {
    await transfer(message);
  } finally {
    transferring = null;
  }
}

async function transfer(message) {
  let current = await update(message.jobId, { phase: "downloading", progress: 100, videoUrl: message.videoUrl });
  if (!current) return;
  let video;
  try {
    video = await download(message.videoUrl);
  } catch (error) {
    await fail(current.jobId, error.code || "no_output", error.message);
    return;
  }
  current = await update(current.jobId, { phase: "uploading" });
  if (!current) return;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await (await server()).complete(current.jobId, current.claimToken, video);
      await contact(true);
      await finish(current, "completed", null, null);
      return;
    } catch (error) {
      const retryable = !(error instanceof ServerError) || error.status >= 500 || [408, 429].includes(error.status);
      if (!retryable) {
        if (error.status === 409 || error.status === 404) return finish(current, "lost", error.code, error.message);
        return fail(current.jobId, "worker_error", `The server refused the video: ${error.message}`);
      }
      await contact(false, error.message);
      if (attempt >= 5) return fail(current.jobId, "worker_error", `Uploading the video failed: ${error.message}`);
      await sleep(1000 * 2 ** attempt);
    }
  }
}

async function fail(jobId, code, message) {
  const current = await getCurrent();
  if (!current || current.jobId !== jobId) return;
  if (code === "page_outdated" && current.attempt <= OUTDATED_RETRIES) {
    // "This page is out of date. Reload to continue": reload once and run the job again.
    await dispatch(await update(jobId, { attempt: current.attempt + 1, phase: "opening" }));
    return;
  }
  const serverCode = code === "page_outdated" ? "ui_changed" : code;
  try {
    await (await server()).error(jobId, current.claimToken, serverCode, message);
    await contact(true);
  } catch (error) {
    if (!(error instanceof ServerError)) await contact(false, error.message);
  }
  await finish(current, "failed", serverCode, message);
}

async function finish(current, outcome, code, message) {
  if (!(await take(current.jobId))) return;
  if (outcome !== "completed" && outcome !== "failed" && current.tabId) {
    await chrome.tabs.sendMessage(current.tabId, { type: "abort", jobId: current.jobId }).catch(() => {});
  }
  jobImages.delete(current.jobId);
  const { history = [], counters = {} } = await local.get(["history", "counters"]);
  const entry = {
    jobId: current.jobId,
    prompt: current.prompt,
    outcome,
    code,
    message,
    finishedAt: Date.now(),
    seconds: Math.round((Date.now() - current.startedAt) / 100) / 10,
  };
  await local.set({
    history: [entry, ...history].slice(0, HISTORY_SIZE),
    counters: { ...counters, [outcome]: (counters[outcome] || 0) + 1 },
  });
  if (current.tabId) chrome.tabs.sendMessage(current.tabId, { type: "reset" }).catch(() => {});
  loop();
}

// --- supervision (also after Chrome restarted this service worker) ---------------------------

async function supervise() {
  const current = await getCurrent();
  if (!current) return loop();
  const tab = current.tabId ? await chrome.tabs.get(current.tabId).catch(() => null) : null;
  if (current.tabId && !tab) return fail(current.jobId, "worker_error", "The Imagine tab was closed during the job");
  const moving = current.phase === "downloading" || current.phase === "uploading";
  if (moving && transferring !== current.jobId) {
    // Chrome stopped the previous instance of this worker in the middle of the transfer: start it again.
    return onResult({ jobId: current.jobId, videoUrl: current.videoUrl });
  }
  const overdue = Date.now() - current.startedAt > current.generationTimeoutMs + PAGE_LOAD_MS + 60000;
  if (overdue && !moving) return fail(current.jobId, "timeout", "The Imagine tab stopped answering");
  if (tab && current.phase === "generating") {
    const answer = await ping(tab.id);
    if (!answer || (answer.busy !== current.jobId && answer.last !== current.jobId)) {
      return fail(current.jobId, "worker_error", "The Imagine tab was reloaded or left during the job");
    }
  }
  // A heartbeat: renews the lease and learns of a cancellation even while the page shows no progress.
  if (Date.now() - lastReport > Math.min(HEARTBEAT_MS, (current.leaseSeconds * 1000) / 3)) await report(current, true);
}

chrome.tabs.onRemoved.addListener(async (tabId) => {
  const current = await getCurrent();
  if (current && current.tabId === tabId && current.phase !== "downloading" && current.phase !== "uploading") {
    await fail(current.jobId, "worker_error", "The Imagine tab was closed during the job");
  }
});

// --- messages from the popup, the settings page and the content script -----------------------

async function diagnose() {
  const tab = await imagineTab(await getCurrent());
  if (!tab) return { ok: false, url: null, message: "No grok.com/imagine tab is open", elements: [] };
  let answer;
  try {
    answer = await chrome.tabs.sendMessage(tab.id, { type: "diagnose" });
  } catch {
    return { ok: false, url: tab.url, message: "The Imagine tab has not loaded the extension yet: reload it", elements: [] };
  }
  const missing = answer.elements.filter((e) => e.required && !e.found).map((e) => e.name);
  return {
    ok: missing.length === 0,
    url: answer.url,
    message: missing.length ? `Missing: ${missing.join(", ")}. Grok's page may have changed.` : "All required elements found",
    elements: answer.elements,
  };
}

async function testConnection(serverUrl, token) {
  try {
    const hello = await new Server({ ...(await settings()), serverUrl, token }).hello();
    return { ok: true, message: `Connected to ${hello.service} ${hello.version} (${hello.queued} jobs queued)` };
  } catch (error) {
    if (error instanceof ServerError && error.status === 401) {
      return { ok: false, message: `The server refused the worker token (401): ${error.message}` };
    }
    if (error instanceof ServerError && error.status === 404) {
      return { ok: false, message: `${serverUrl} answered but is not a grok-imagine-api server (404)` };
    }
    return { ok: false, message: `Cannot reach ${serverUrl}: ${error.message}` };
  }
}

const HANDLERS = {
  start: async () => {
    await setState({ running: true, backoffUntil: null });
    failures = 0;
    loop();
    return { ok: true };
  },
  // A poll in flight is not aborted: a job it already claimed would be lost. It ends within 20 s and its job runs.
  stop: async () => {
    await setState({ running: false });
    return { ok: true };
  },
  status: async () => ({ state: await getState(), current: await getCurrent(), settings: await settings() }),
  testConnection: (message) => testConnection(message.serverUrl, message.token),
  diagnose: () => diagnose(),
  "job-progress": (message) => onProgress(message),
  "job-result": (message) => onResult(message),
  "job-failed": (message) => fail(message.jobId, message.code, message.message),
};

const FROM_PAGE = ["job-progress", "job-result", "job-failed"];

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (sender.id !== chrome.runtime.id || !HANDLERS[message && message.type]) return false;
  // Content scripts may only report on jobs; settings (with the token) are for the extension's own pages.
  const fromExtensionPage = (sender.url || "").startsWith(chrome.runtime.getURL(""));
  if (!fromExtensionPage && !FROM_PAGE.includes(message.type)) return false;
  HANDLERS[message.type](message).then(
    (answer) => reply(answer ?? { ok: true }),
    (error) => reply({ ok: false, message: String(error && error.message) }),
  );
  return true;
});

// Settings changed: a back-off ends, so the next poll uses the new settings at once.
chrome.storage.onChanged.addListener(async (changes, area) => {
  if (area !== "local" || !changes.settings) return;
  failures = 0;
  if ((await getState()).backoffUntil) await setState({ backoffUntil: null });
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === TICK_ALARM) supervise();
});

chrome.runtime.onInstalled.addListener(async () => {
  const saved = (await local.get("settings")).settings || {};
  if (!saved.clientId) {
    const clientId = `grok-ext-${crypto.randomUUID().slice(0, 8)}`;
    await local.set({ settings: { ...DEFAULT_SETTINGS, ...saved, clientId } });
  }
});

// A browser restart loses the page the last job ran in: that job cannot finish.
chrome.runtime.onStartup.addListener(async () => {
  const current = await getCurrent();
  if (current) await fail(current.jobId, "worker_error", "The browser was closed during the job");
});

chrome.alarms.create(TICK_ALARM, { periodInMinutes: 0.5 });
// Regular extension API calls keep Chrome from stopping this worker between polls; the same timer renews the
// lease of a job whose page shows no progress for a while.
setInterval(async () => {
  if ((await getState()).running || (await getCurrent())) await supervise();
}, HEARTBEAT_MS);
supervise();
