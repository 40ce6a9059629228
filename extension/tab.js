// The Imagine tab, as the service worker sees it: finding or opening it, loading a fresh page for every job,
// and asking its content script whether it is there and what it found.
export const IMAGINE_URL = "https://grok.com/imagine";
const IMAGINE_TABS = "https://grok.com/imagine*";
export const PAGE_LOAD_MS = 30000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The tab of the job in progress while it is open, else the active Imagine tab, else any.
export async function imagineTab(current) {
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

// The content script's answer ({url, busy, last}), or null when the page has none (loading, an error page).
export async function ping(tabId) {
  try {
    return await chrome.tabs.sendMessage(tabId, { type: "ping" });
  } catch {
    return null;
  }
}

// A message the tab may no longer be there to receive.
export function tell(tabId, message) {
  return chrome.tabs.sendMessage(tabId, message).catch(() => {});
}

// Load a fresh Imagine page (the clean state for every job), or a post of it (the source of an extension or a
// remix), and wait for the content script to answer.
export async function openImagine(current, url = IMAGINE_URL) {
  if (!url.startsWith(`${IMAGINE_URL}/post/`)) url = IMAGINE_URL;
  let tab = await imagineTab(current);
  if (tab) {
    await chrome.tabs.update(tab.id, { url });
  } else {
    tab = await chrome.tabs.create({ url, active: true });
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
      await chrome.tabs.update(tab.id, { url });
    }
    await sleep(250);
  }
  const landed = (await chrome.tabs.get(tab.id).catch(() => ({}))).url || "";
  if (landed && !landed.startsWith(IMAGINE_URL)) {
    throw Object.assign(new Error(`grok.com sent the tab to ${landed}: sign in to grok.com in this browser`), { code: "session" });
  }
  throw new Error("The Imagine page did not load within 30 s");
}

// What the popup's "Check Imagine page" shows: the adapter's elements and the abilities the page offers.
export async function diagnose(current) {
  const tab = await imagineTab(current);
  const none = { ok: false, elements: [], abilities: null };
  if (!tab) return { ...none, url: null, message: "No grok.com/imagine tab is open" };
  let answer;
  try {
    answer = await chrome.tabs.sendMessage(tab.id, { type: "diagnose" });
  } catch {
    return { ...none, url: tab.url, message: "The Imagine tab has not loaded the extension yet: reload it" };
  }
  const missing = answer.elements.filter((e) => e.required && !e.found).map((e) => e.name);
  return {
    ok: missing.length === 0,
    url: answer.url,
    message: missing.length
      ? `Missing: ${missing.join(", ")}. Grok's page may have changed.`
      : "All required elements found",
    elements: answer.elements,
    abilities: answer.abilities ?? null,
  };
}
