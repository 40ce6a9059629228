// What the Imagine page offers, as the content script read it after a page load: kept in storage
// ("abilities": {abilities, readAt, refused}) and declared to the server at every poll. Until the main page has
// been read, its lists are left out, and the server assumes its default table for them.
import { local } from "./state.js";

const FIELDS = ["kinds", "sources", "durations", "aspect_ratios", "resolutions", "presets", "features"];
const MAX_VALUES = 50;
const ALWAYS_KINDS = ["text_to_video", "image_to_video"];
// What Grok's finished-video post offers (Extend from Frame since 2026-03, the HD upscale), assumed until this
// extension has seen a post of its own: then what that post showed is declared instead. So a browser that has made
// nothing yet is offered long videos and HD, and one whose page lacks a control stops being offered its jobs once
// it has seen that.
const ASSUMED_POST = { kinds: ["extend"], sources: ["grok"], features: ["upscale"] };

// Only the server's lists, each of plain values: a page cannot put anything else into the poll.
function clean(raw) {
  if (!raw || typeof raw !== "object") return null;
  const abilities = {};
  for (const name of FIELDS) {
    if (!Array.isArray(raw[name])) continue;
    const values = raw[name].filter((value) => typeof value === "string" || Number.isInteger(value));
    abilities[name] = [...new Set(values)].slice(0, MAX_VALUES);
  }
  return Object.keys(abilities).length ? abilities : null;
}

// `scope` "post": what a finished video's post page offers (extend, remix, edit from a Grok post), kept apart
// from the main page's reading and added to it, since each page shows only its own controls.
export async function remember(raw, scope = "main") {
  const abilities = clean(raw);
  if (!abilities) return { ok: false, message: "The message held no abilities" };
  if (scope === "post") {
    const features = abilities.features || [];
    await local.set({ postAbilities: { kinds: abilities.kinds || [], sources: abilities.sources || [], features } });
    return { ok: true };
  }
  await local.set({ abilities: { abilities, readAt: Date.now(), refused: null } });
  return { ok: true };
}

// The declaration ({abilities, readAt}; readAt 0 while the main page is unread), or null when the server refused
// it. A page read may add kinds but never takes away the two this extension has always made: a page without its
// prompt box or file input is broken (ui_changed, reported on the job and in Diagnostics), and declaring it
// would leave those jobs waiting for another worker while this one never loads the page again to notice a fix.
export async function declaration() {
  const { abilities: read, postAbilities: seen } = await local.get(["abilities", "postAbilities"]);
  if (read && read.refused) return null;
  const page = (read && read.abilities) || {};
  const post = seen || ASSUMED_POST;
  const kinds = [...new Set([...ALWAYS_KINDS, ...(page.kinds || []), ...(post.kinds || [])])];
  const sources = [...new Set([...(page.sources || []), ...(post.sources || [])])];
  const features = [...new Set(post.features || [])];
  const abilities = { ...page, kinds, ...(sources.length ? { sources } : {}), ...(features.length ? { features } : {}) };
  return { readAt: 0, ...(read || {}), abilities };
}

// The server would not take this declaration: poll without it until the page is read again or the settings change.
export async function refuse(readAt, reason) {
  const { abilities: read } = await local.get("abilities");
  if (read && read.readAt === readAt) await local.set({ abilities: { ...read, refused: reason } });
  else if (!read && readAt === 0) await local.set({ abilities: { abilities: null, readAt: 0, refused: reason } });
}

export async function unrefuse() {
  const { abilities: read } = await local.get("abilities");
  if (read && read.refused) await local.set({ abilities: { ...read, refused: null } });
}

// Why the server refused the latest reading, or null.
export async function refusal() {
  const { abilities: read } = await local.get("abilities");
  return (read && read.refused) || null;
}
