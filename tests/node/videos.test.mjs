// The official `openai` Node package against a live grok-imagine-api server, sending what a Sora-era Node app
// sends. Run by tests/e2e/test_openai_node.py, which starts the server and the demo worker; by hand:
//   GROK_SERVER_URL=http://127.0.0.1:8000 GROK_API_KEY=sk-... GROK_DEMO_MP4=path/to/demo.mp4 \
//     node --test tests/node/videos.test.mjs
// The answers must be truthful (issue 10's contract): `seconds` and `size` are what will be made, `requested` is
// what was sent, and `adjustments` explains every difference.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";

import OpenAI, { toFile } from "openai";

const SERVER = process.env.GROK_SERVER_URL;
const KEY = process.env.GROK_API_KEY;
const DEMO_MP4 = process.env.GROK_DEMO_MP4;
if (!SERVER || !KEY || !DEMO_MP4) {
  throw new Error("set GROK_SERVER_URL (the server root), GROK_API_KEY and GROK_DEMO_MP4 (a path to an MP4 file)");
}

const client = new OpenAI({ baseURL: `${SERVER.replace(/\/+$/, "")}/v1`, apiKey: KEY, maxRetries: 0 });
const UNKNOWN_ID = "job_000000000000000000000000";
const POLL_TIMEOUT_MS = 60_000;
const TEST = { timeout: 120_000 };

// What the default table (6 or 10 s; 9:16 or 16:9 at 720p) makes of each Sora size.
const SIZES = {
  "720x1280": { made: "720x1280", aspect_ratio: "9:16", resolution: "720p" },
  "1280x720": { made: "1280x720", aspect_ratio: "16:9", resolution: "720p" },
  "1024x1792": { made: "720x1280", aspect_ratio: "9:16", resolution: "720p" },
  "1792x1024": { made: "1280x720", aspect_ratio: "16:9", resolution: "720p" },
};
// Nearest of 6 and 10, a tie going to the longer.
// 12 is longer than one generation: a chain of a 6 s generation and a 6 s extend, joined (docs/long-videos.md).
const SECONDS = { 4: "6", 8: "10", 10: "10", 12: "12" };
const CHAINED = new Set(["12"]);

const show = (value) => JSON.stringify(value, null, 1);

/** Retrieve until completed or failed, waiting as long as the server's openai-poll-after-ms header says. */
async function poll(id) {
  const deadline = Date.now() + POLL_TIMEOUT_MS;
  for (;;) {
    const { data: video, response } = await client.videos.retrieve(id).withResponse();
    if (video.status === "completed" || video.status === "failed") return video;
    if (Date.now() > deadline) throw new Error(`video ${id} still ${video.status} after ${POLL_TIMEOUT_MS} ms: ${show(video)}`);
    const after = Number(response.headers.get("openai-poll-after-ms") ?? 100);
    await sleep(Math.min(Math.max(after, 10), 1000));
  }
}

/** The SDK's own createAndPoll where it has one (openai-node 7 has none for videos: Python's create_and_poll). */
async function createAndPoll(body) {
  if (typeof client.videos.createAndPoll === "function") return client.videos.createAndPoll(body);
  return poll((await client.videos.create(body)).id);
}

function assertCompleted(video) {
  assert.equal(video.status, "completed", `not completed: ${show(video)}`);
  assert.equal(video.progress, 100, show(video));
  assert.equal(video.error, null, show(video));
  assert.equal(video.output_mismatch, null, `the video is not what was promised: ${show(video)}`);
}

function adjustmentOf(video, param) {
  assert.ok(Array.isArray(video.adjustments), `no adjustments list: ${show(video)}`);
  return video.adjustments.find((adjustment) => adjustment.param === param);
}

function assertAdjusted(video, param, requested, made) {
  const adjustment = adjustmentOf(video, param);
  assert.ok(adjustment, `no adjustment for ${param} (${requested} -> ${made}): ${show(video)}`);
  assert.equal(String(adjustment.requested), requested, show(adjustment));
  assert.equal(String(adjustment.made), made, show(adjustment));
  assert.equal(typeof adjustment.message, "string", show(adjustment));
  assert.ok(adjustment.message.length > 0, show(adjustment));
}

function assertExact(video, param) {
  assert.equal(adjustmentOf(video, param), undefined, `${param} was made as asked, yet adjusted: ${show(video)}`);
}

/** Length in seconds and frame size of an MP4, read from its moov/mvhd and the first video track's tkhd. */
function mp4Facts(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  function* boxes(start, end) {
    for (let at = start; at + 8 <= end; ) {
      let size = view.getUint32(at);
      let header = 8;
      if (size === 1) {
        size = Number(view.getBigUint64(at + 8));
        header = 16;
      } else if (size === 0) {
        size = end - at;
      }
      if (size < header || at + size > end) return;
      yield { type: bytes.toString("latin1", at + 4, at + 8), body: at + header, end: at + size };
      at += size;
    }
  }
  const facts = { seconds: null, width: null, height: null };
  const moov = [...boxes(0, bytes.length)].find((box) => box.type === "moov");
  assert.ok(moov, "the MP4 has no moov box");
  for (const box of boxes(moov.body, moov.end)) {
    if (box.type === "mvhd") {
      const v1 = view.getUint8(box.body) === 1;
      const timescale = view.getUint32(box.body + (v1 ? 20 : 12));
      const duration = v1 ? Number(view.getBigUint64(box.body + 24)) : view.getUint32(box.body + 16);
      facts.seconds = duration / timescale;
    } else if (box.type === "trak" && facts.width === null) {
      const tkhd = [...boxes(box.body, box.end)].find((child) => child.type === "tkhd");
      if (!tkhd) continue;
      const at = tkhd.body + (view.getUint8(tkhd.body) === 1 ? 88 : 76);
      const width = view.getUint32(at) / 65536;
      const height = view.getUint32(at + 4) / 65536;
      if (width > 0 && height > 0) Object.assign(facts, { width, height });
    }
  }
  return facts;
}

async function download(id) {
  const response = await client.videos.downloadContent(id);
  assert.ok(response instanceof Response, "downloadContent answers a fetch Response");
  const bytes = Buffer.from(await response.arrayBuffer());
  assert.ok(bytes.length > 8, `only ${bytes.length} bytes`);
  assert.equal(bytes.toString("latin1", 4, 8), "ftyp", "an MP4 starts with an ISO-BMFF ftyp box");
  return bytes;
}

/** The file itself is what the answer promised: the size's aspect ratio and the answer's length. */
async function assertFileIsAsPromised(video) {
  const facts = mp4Facts(await download(video.id));
  const [width, height] = video.size.split("x").map(Number);
  const ratio = facts.width / facts.height;
  const promised = width / height;
  assert.ok(
    Math.abs(ratio - promised) / promised < 0.03,
    `promised ${video.size}, the file is ${facts.width}x${facts.height}: ${show(video)}`,
  );
  assert.ok(
    Math.abs(facts.seconds - Number(video.seconds)) <= 0.6,
    `promised ${video.seconds} s, the file lasts ${facts.seconds} s: ${show(video)}`,
  );
}

async function demoFile() {
  return toFile(await readFile(DEMO_MP4), "in.mp4", { type: "video/mp4" });
}

let soraVideo; // the completed video of the first test, reused by the tests after it

test("a Sora-era create (seconds 8, 1792x1024) says what will be made and runs to completed", TEST, async () => {
  const queued = await client.videos.create({
    prompt: "A cat playing piano",
    model: "sora-2",
    seconds: "8",
    size: "1792x1024",
  });
  assert.match(queued.id, /^job_/);
  assert.equal(queued.object, "video");
  assert.ok(["queued", "in_progress", "completed"].includes(queued.status), show(queued));
  assert.equal(queued.model, "sora-2", "any model is echoed back");
  assert.equal(queued.seconds, "10", `seconds "8" becomes "10": ${show(queued)}`);
  assert.equal(queued.size, "1280x720", `size "1792x1024" becomes "1280x720": ${show(queued)}`);
  assert.deepEqual(queued.requested, { seconds: "8", size: "1792x1024", model: "sora-2" }, show(queued));
  assertAdjusted(queued, "seconds", "8", "10");
  assertAdjusted(queued, "size", "1792x1024", "1280x720");
  assert.equal(queued.options?.aspect_ratio, "16:9", show(queued));
  assert.equal(queued.options?.resolution, "720p", show(queued));
  assert.equal(queued.options?.duration, 10, show(queued));
  assert.equal(queued.waiting_reason, null, `the demo worker can make it: ${show(queued)}`);
  assert.equal(queued.remixed_from_video_id, null);

  const done = await poll(queued.id);
  assertCompleted(done);
  assert.equal(done.seconds, "10", show(done));
  assert.equal(done.size, "1280x720", show(done));
  assert.deepEqual(done.requested, queued.requested);
  assert.deepEqual(done.adjustments, queued.adjustments);
  assert.equal(typeof done.completed_at, "number");
  assert.equal(typeof done.expires_at, "number");
  await assertFileIsAsPromised(done);
  soraVideo = done;
});

for (const [asked, made] of Object.entries(SECONDS)) {
  test(`seconds "${asked}" is answered as "${made}"`, TEST, async () => {
    const video = await client.videos.create({ prompt: `A ${asked} second clip`, seconds: asked });
    assert.equal(video.seconds, made, show(video));
    assert.equal(video.requested?.seconds, asked, show(video));
    assert.equal(video.options?.duration, Number(made), show(video));
    assert.equal(video.size, "720x1280", `the default size: ${show(video)}`);
    if (CHAINED.has(asked)) {
      assertAdjusted(video, "seconds", asked, made); // made as asked, and said how: "Made as a chain of 2 segments"
      assert.match(adjustmentOf(video, "seconds").message, /chain of 2 segments/, show(video));
    } else if (asked === made) assertExact(video, "seconds");
    else assertAdjusted(video, "seconds", asked, made);
    const done = await poll(video.id);
    assertCompleted(done);
    assert.equal(done.seconds, made, show(done));
    await assertFileIsAsPromised(done);
  });
}

for (const [asked, { made, aspect_ratio, resolution }] of Object.entries(SIZES)) {
  test(`size "${asked}" is answered as "${made}"`, TEST, async () => {
    const video = await client.videos.create({ prompt: `A ${asked} clip`, seconds: "4", size: asked });
    assert.equal(video.size, made, show(video));
    assert.equal(video.seconds, "6", show(video));
    assert.equal(video.requested?.size, asked, show(video));
    assert.equal(video.requested?.seconds, "4", show(video));
    assert.equal(video.options?.aspect_ratio, aspect_ratio, show(video));
    assert.equal(video.options?.resolution, resolution, show(video));
    if (asked === made) assertExact(video, "size");
    else assertAdjusted(video, "size", asked, made);
    assertAdjusted(video, "seconds", "4", "6");
    const done = await poll(video.id);
    assertCompleted(done);
    assert.equal(done.size, made, show(done));
    await assertFileIsAsPromised(done);
  });
}

test("omitted seconds and size are OpenAI's defaults (4 s, 720x1280), made as 6 s 9:16 720p", TEST, async () => {
  const video = await createAndPoll({ prompt: "Defaults" });
  assertCompleted(video);
  assert.equal(video.seconds, "6", show(video));
  assert.equal(video.size, "720x1280", show(video));
  assert.ok(video.requested && typeof video.requested === "object", `no requested object: ${show(video)}`);
  assert.equal(video.requested.seconds, undefined, `nothing was sent: ${show(video)}`);
  assert.equal(video.requested.size, undefined, `nothing was sent: ${show(video)}`);
  assert.ok(Array.isArray(video.adjustments), show(video));
});

test("createAndPoll, retrieve and downloadContent", TEST, async () => {
  const video = await createAndPoll({ prompt: "A dog surfing", seconds: "12", size: "1280x720" });
  assertCompleted(video);
  const again = await client.videos.retrieve(video.id);
  assert.equal(again.id, video.id);
  assert.equal(again.status, "completed");
  assert.equal(again.seconds, "12", show(again)); // 6 s and a 6 s extend, joined (docs/long-videos.md)
  assert.equal(again.size, "1280x720", show(again));
  const bytes = await download(video.id);
  assert.ok(bytes.length > 1000, `${bytes.length} bytes`);
});

test("list auto-paginates with for await, newest first", TEST, async () => {
  const created = [];
  for (let i = 0; i < 5; i++) created.push(await client.videos.create({ prompt: `page ${i}` }));
  const seen = [];
  for await (const video of client.videos.list({ limit: 2 })) {
    assert.equal(video.object, "video");
    seen.push(video.id);
  }
  for (const video of created) assert.ok(seen.includes(video.id), `${video.id} not listed`);
  assert.ok(seen.indexOf(created[4].id) < seen.indexOf(created[0].id), "newest first");
  assert.equal(new Set(seen).size, seen.length, "no video twice");
  const ascending = [];
  for await (const video of client.videos.list({ limit: 2, order: "asc" })) ascending.push(video.id);
  assert.deepEqual(ascending, [...seen].reverse());
  const page = await client.videos.list({ limit: 2 });
  assert.equal(page.data.length, 2);
  assert.equal(page.hasNextPage(), true);
  for (const video of created) await poll(video.id);
});

test("remix runs to completed, from the source and with its options", TEST, async () => {
  const source = soraVideo ?? (await createAndPoll({ prompt: "A cat", seconds: "8", size: "1792x1024" }));
  const remix = await client.videos.remix(source.id, { prompt: "The same cat, in the rain" });
  assert.notEqual(remix.id, source.id);
  assert.equal(remix.remixed_from_video_id, source.id, show(remix));
  assert.equal(remix.seconds, source.seconds, `a remix keeps the source's options: ${show(remix)}`);
  assert.equal(remix.size, source.size, `a remix keeps the source's options: ${show(remix)}`);
  const done = await poll(remix.id);
  assertCompleted(done);
  assert.equal(done.remixed_from_video_id, source.id, show(done));
  await assertFileIsAsPromised(done);
});

test("extend an uploaded video file runs to completed", TEST, async () => {
  const video = await client.videos.extend({ prompt: "Keep going", seconds: "4", video: await demoFile() });
  assert.match(video.id, /^job_/);
  assert.equal(video.requested?.seconds, "4", show(video));
  assert.equal(video.waiting_reason, null, `the demo worker extends videos: ${show(video)}`);
  assertCompleted(await poll(video.id));
});

test("edit an uploaded video file runs to completed", TEST, async () => {
  const video = await client.videos.edit({ prompt: "Make it blue", video: await demoFile() });
  assert.match(video.id, /^job_/);
  assert.equal(video.waiting_reason, null, `the demo worker edits videos: ${show(video)}`);
  assertCompleted(await poll(video.id));
});

for (const [param, value] of [
  ["seconds", "abc"],
  ["seconds", "61"], // beyond the longest long video (60 s)
  ["size", "13x7"],
]) {
  test(`${param} "${value}" is a 400 BadRequestError naming ${param}`, TEST, async () => {
    await assert.rejects(client.videos.create({ prompt: "x", [param]: value }), (error) => {
      assert.ok(error instanceof OpenAI.BadRequestError, `${error?.constructor?.name}: ${error}`);
      assert.equal(error.status, 400);
      assert.equal(error.param, param, show(error.error));
      assert.equal(error.code, `unsupported_${param}`, show(error.error));
      return true;
    });
  });
}

test("retrieve of an unknown id is a NotFoundError", TEST, async () => {
  await assert.rejects(client.videos.retrieve(UNKNOWN_ID), OpenAI.NotFoundError);
  await assert.rejects(client.videos.downloadContent(UNKNOWN_ID), OpenAI.NotFoundError);
});

test("a wrong key is an AuthenticationError", TEST, async () => {
  const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: "sk-wrong", maxRetries: 0 });
  await assert.rejects(stranger.videos.list(), OpenAI.AuthenticationError);
  await assert.rejects(stranger.videos.create({ prompt: "x" }), OpenAI.AuthenticationError);
});
