// The poll loop: while the worker runs and no job is in progress, long-poll the server for a job, declaring
// what the Imagine page offers. While the server is down it backs off (1 s doubling to 30 s, with jitter).
import { declaration, refuse, unrefuse } from "./abilities.js";
import { startJob } from "./job.js";
import { ServerError } from "./server.js";
import { contact, getCurrent, getState, server, setState } from "./state.js";

const POLL_WAIT_SECONDS = 20;
const MAX_BACKOFF_MS = 30000;
// A server that answers a declaration with one of these does not take it (a value it does not know, or an older
// server without POST /extension/poll).
const REFUSED = [400, 405, 422];
const IMAGE_KINDS = ["text_to_image", "image_to_image"];

let looping = false;
let failures = 0;
let imagesRefused = false; // this server has no image jobs: declare video only (until the settings change)

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function loop() {
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
      let job = null;
      try {
        job = await claim();
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
      if (job) await startJob(job);
    }
  } finally {
    looping = false;
  }
}

// What to declare, in order of preference: with the image kinds, the poll takes image jobs too; a server
// without images refuses those kinds, and is then asked for video jobs with the rest of the reading.
function offers(abilities) {
  const kinds = abilities.kinds || [];
  const videoOnly = { ...abilities, kinds: kinds.filter((kind) => !IMAGE_KINDS.includes(kind)) };
  if (!kinds.some((kind) => IMAGE_KINDS.includes(kind))) return [[abilities, "video"]];
  return imagesRefused ? [[videoOnly, "video"]] : [[abilities, "video,image"], [videoOnly, "video"]];
}

async function claim() {
  const link = await server();
  const signal = AbortSignal.timeout((POLL_WAIT_SECONDS + 30) * 1000);
  const read = await declaration();
  if (read) {
    let refusal = null;
    for (const [abilities, mode] of offers(read.abilities)) {
      try {
        const job = await link.poll(POLL_WAIT_SECONDS, signal, abilities, mode);
        if (refusal) imagesRefused = true;
        return job;
      } catch (error) {
        if (!(error instanceof ServerError && REFUSED.includes(error.status))) throw error;
        refusal ??= error;
      }
    }
    await refuse(read.readAt, `${refusal.status}: ${refusal.message}`);
  }
  return link.poll(POLL_WAIT_SECONDS, signal);
}

export async function start() {
  await setState({ running: true, backoffUntil: null });
  failures = 0;
  loop();
  return { ok: true };
}

// A poll in flight is not aborted: a job it already claimed would be lost. It ends within 20 s and its job runs.
export async function stop() {
  await setState({ running: false });
  return { ok: true };
}

// New settings end a back-off, so the next poll uses them at once; another server may take the declaration.
export async function retryNow() {
  failures = 0;
  imagesRefused = false;
  await unrefuse();
  if ((await getState()).backoffUntil) await setState({ backoffUntil: null });
}
