// The service worker: listeners only. The worker loop lives in poll.js (claiming jobs), job.js (running one in
// the Imagine tab), transfers.js (moving its video), tab.js (the tab itself), abilities.js (what the page
// offers) and state.js (chrome.storage, which outlives this worker: Chrome may stop it at any time).
import { declaration, refusal, remember } from "./abilities.js";
import { HEARTBEAT_MS, fail, onBrowserStarted, onProgress, onResult, onTabClosed, supervise } from "./job.js";
import { loop, retryNow, start, stop } from "./poll.js";
import { testConnection } from "./server.js";
import { ensureClientId, getCurrent, getState, settings } from "./state.js";
import { diagnose } from "./tab.js";

const TICK_ALARM = "tick";

// Messages from the extension's own pages (popup, settings) and, for the FROM_PAGE types, the content script.
const HANDLERS = {
  start,
  stop,
  status: async () => ({ state: await getState(), current: await getCurrent(), settings: await settings() }),
  testConnection: async ({ serverUrl, token }) => testConnection({ ...(await settings()), serverUrl, token }),
  diagnose: async () => withDeclared({ ...(await diagnose(await getCurrent())), abilitiesRefused: await refusal() }),
  abilities: ({ abilities, scope }) => remember(abilities, scope),
  "job-progress": onProgress,
  "job-result": onResult,
  "job-failed": ({ jobId, code, message }) => fail(jobId, code, message),
};

// Content scripts may only report on jobs and on the page; settings (with the token) are for the extension's pages.
// Diagnostics show what is declared: the page's reading plus the kinds its result pages added.
async function withDeclared(answer) {
  const declared = await declaration();
  if (!answer.abilities || !declared) return answer;
  const { kinds, sources } = declared.abilities;
  return { ...answer, abilities: { ...answer.abilities, kinds, ...(sources ? { sources } : {}) } };
}

const FROM_PAGE = ["abilities", "job-progress", "job-result", "job-failed"];

chrome.runtime.onMessage.addListener((message, sender, reply) => {
  if (sender.id !== chrome.runtime.id || !Object.hasOwn(HANDLERS, message && message.type)) return false;
  const fromExtensionPage = (sender.url || "").startsWith(chrome.runtime.getURL(""));
  if (!fromExtensionPage && !FROM_PAGE.includes(message.type)) return false;
  HANDLERS[message.type](message).then(
    (answer) => reply(answer ?? { ok: true }),
    (error) => reply({ ok: false, message: String(error && error.message) }),
  );
  return true;
});

// Both are cheap when there is nothing to do: the loop claims when idle, supervise() watches a job in progress.
function tick() {
  loop();
  return supervise();
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local") return;
  if (changes.settings) retryNow();
  if (changes.current && !changes.current.newValue) loop(); // a job ended: claim the next
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === TICK_ALARM) tick();
});

chrome.tabs.onRemoved.addListener(onTabClosed);
chrome.runtime.onInstalled.addListener(ensureClientId);
chrome.runtime.onStartup.addListener(onBrowserStarted);

chrome.alarms.create(TICK_ALARM, { periodInMinutes: 0.5 });
// Regular extension API calls keep Chrome from stopping this worker between polls; the same timer renews the
// lease of a job whose page shows no progress for a while.
setInterval(async () => {
  if ((await getState()).running || (await getCurrent())) await tick();
}, HEARTBEAT_MS);
tick();
