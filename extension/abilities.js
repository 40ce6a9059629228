// What the Imagine page offers, as the content script read it after a page load: kept in storage
// ("abilities": {abilities, readAt, refused}) and declared to the server at every poll. Until a page has been
// read nothing is declared, and the server assumes its default table, as for any worker that never declared.
import { local } from "./state.js";

const FIELDS = ["kinds", "sources", "durations", "aspect_ratios", "resolutions", "presets", "features"];
const MAX_VALUES = 50;
const ALWAYS_KINDS = ["text_to_video", "image_to_video"];

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

// The latest reading to declare ({abilities, readAt}), or null: none read yet, or the server refused it.
// A page read may add kinds but never takes away the two this extension has always made: a page without its
// prompt box or file input is broken (ui_changed, reported on the job and in Diagnostics), and declaring it
// would leave those jobs waiting for another worker while this one never loads the page again to notice a fix.
export async function declaration() {
  const { abilities: read, postAbilities: post } = await local.get(["abilities", "postAbilities"]);
  if (!read || !read.abilities || read.refused) return null;
  const kinds = [...new Set([...ALWAYS_KINDS, ...(read.abilities.kinds || []), ...((post && post.kinds) || [])])];
  const sources = [...new Set([...(read.abilities.sources || []), ...((post && post.sources) || [])])];
  // `upscale` (Grok's HD upscale) only once a finished post showed the control.
  const features = [...new Set((post && post.features) || [])];
  return { ...read, abilities: { ...read.abilities, kinds, ...(sources.length ? { sources } : {}), ...(features.length ? { features } : {}) } };
}

// The server would not take this reading: poll without it until the page is read again or the settings change.
export async function refuse(readAt, reason) {
  const { abilities: read } = await local.get("abilities");
  if (read && read.readAt === readAt) await local.set({ abilities: { ...read, refused: reason } });
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
