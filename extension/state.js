// Everything the service worker keeps in chrome.storage.local, which outlives the worker itself: the settings,
// the loop's state, the job in progress (`current`), history and counters.
import { DEFAULT_SETTINGS } from "./defaults.js";
import { Server } from "./server.js";

const HISTORY_SIZE = 50;

export const local = chrome.storage.local;

export async function settings() {
  const { settings: saved } = await local.get("settings");
  return { ...DEFAULT_SETTINGS, ...(saved || {}) };
}

export async function server() {
  return new Server(await settings());
}

// Called once, when the extension is installed: the name this browser polls with.
export async function ensureClientId() {
  const saved = (await local.get("settings")).settings || {};
  if (!saved.clientId) {
    const clientId = `grok-ext-${crypto.randomUUID().slice(0, 8)}`;
    await local.set({ settings: { ...DEFAULT_SETTINGS, ...saved, clientId } });
  }
}

export async function getState() {
  const { state } = await local.get("state");
  return state || { running: false, connected: null, lastError: null, lastContactAt: null, backoffUntil: null };
}

export async function setState(patch) {
  await local.set({ state: { ...(await getState()), ...patch } });
}

// Whether the server answered: the popup shows it.
export async function contact(ok, error = null) {
  await setState(ok ? { connected: true, lastError: null, lastContactAt: Date.now() } : { connected: false, lastError: error });
}

export async function getCurrent() {
  return (await local.get("current")).current || null;
}

export async function setCurrent(current) {
  await local.set({ current });
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

// Patch the job in progress if it is still `jobId`; answers the new `current`, or null.
export function update(jobId, patch) {
  return mutate((current) => {
    if (!current || current.jobId !== jobId) return [current, null];
    const backwards = LATE_PHASES.includes(current.phase) && !LATE_PHASES.includes(patch.phase);
    const next = { ...current, ...patch, ...(backwards ? { phase: current.phase } : {}) };
    return [next, next];
  });
}

// Take the job out of `current`; only one caller gets it, so a job is never recorded twice.
export function take(jobId) {
  return mutate((current) => (current && current.jobId === jobId ? [null, current] : [current, null]));
}

export async function record(current, outcome, code, message) {
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
}
