// The official `openai` Node package's Images API against a live grok-imagine-api server with the demo worker,
// which makes real images. Run by tests/e2e/test_openai_node.py, which starts the server and the demo worker; by
// hand:
//   GROK_SERVER_URL=http://127.0.0.1:8000 GROK_API_KEY=sk-... node --test tests/node/images.test.mjs
import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32, deflateSync, inflateSync } from "node:zlib";

import OpenAI, { toFile } from "openai";

const SERVER = process.env.GROK_SERVER_URL;
const KEY = process.env.GROK_API_KEY;
if (!SERVER || !KEY) {
  throw new Error("set GROK_SERVER_URL (the server root) and GROK_API_KEY");
}

const client = new OpenAI({ baseURL: `${SERVER.replace(/\/+$/, "")}/v1`, apiKey: KEY, maxRetries: 0 });
const TEST = { timeout: 120_000 };
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }; // PNG colour type -> samples per pixel

const show = (value) => JSON.stringify(value, null, 1);

/** A PNG decoded as far as Node's standard library allows: every chunk's CRC checked, the pixel data inflated
 * and exactly as long as the header's size says (8-bit samples). Returns its width and height. */
function decodePng(bytes) {
  assert.ok(bytes.subarray(0, 8).equals(PNG_SIGNATURE), "not a PNG");
  let at = 8;
  let header = null;
  const data = [];
  for (;;) {
    assert.ok(at + 12 <= bytes.length, "the PNG is cut off");
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("latin1", at + 4, at + 8);
    const body = bytes.subarray(at + 8, at + 8 + length);
    assert.equal(crc32(bytes.subarray(at + 4, at + 8 + length)) >>> 0, bytes.readUInt32BE(at + 8 + length), `bad CRC in ${type}`);
    if (type === "IHDR") {
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8], colour: body[9] };
    } else if (type === "IDAT") {
      data.push(body);
    }
    at += 12 + length;
    if (type === "IEND") break;
  }
  assert.ok(header, "the PNG has no IHDR");
  assert.equal(header.depth, 8, show(header));
  const rows = inflateSync(Buffer.concat(data));
  assert.equal(rows.length, header.height * (1 + header.width * CHANNELS[header.colour]), "pixel data of the wrong size");
  return { format: "png", width: header.width, height: header.height };
}

/** A JPEG's frame size, read from its start-of-frame marker; it must end with EOI. */
function decodeJpeg(bytes) {
  assert.equal(bytes.readUInt16BE(0), 0xffd8, "not a JPEG");
  assert.equal(bytes.readUInt16BE(bytes.length - 2), 0xffd9, "the JPEG is cut off");
  for (let at = 2; at + 4 <= bytes.length; ) {
    const marker = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    if (marker >= 0xffc0 && marker <= 0xffcf && ![0xffc4, 0xffc8, 0xffcc].includes(marker)) {
      return { format: "jpeg", width: bytes.readUInt16BE(at + 7), height: bytes.readUInt16BE(at + 5) };
    }
    at += 2 + length;
  }
  assert.fail("the JPEG has no frame header");
}

function decode(bytes) {
  return bytes[0] === 0x89 ? decodePng(bytes) : decodeJpeg(bytes);
}

/** A solid-colour RGB PNG, written by hand (the tests need no image package). */
function solidPng(width, height, [red, green, blue]) {
  const chunk = (type, body) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, "latin1");
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => [red, green, blue]).flat())]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([PNG_SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0))]);
}

test("images.generate: two images in base64, each a whole PNG of the asked shape", TEST, async () => {
  const answer = await client.images.generate({ prompt: "a lighthouse at dawn", n: 2, size: "1792x1024", response_format: "b64_json" });
  assert.equal(answer.data.length, 2, show(answer));
  const images = answer.data.map((item) => Buffer.from(item.b64_json, "base64"));
  for (const image of images) {
    assert.deepEqual(decode(image), { format: "png", width: 1024, height: 576 }); // 1792x1024 is made as 16:9
  }
  assert.ok(!images[0].equals(images[1]), "the two images are the same");
  assert.equal(answer.data[0].revised_prompt, "a lighthouse at dawn");
  assert.equal(answer.n, 2, show(answer));
});

test("images.generate: links that serve the images", TEST, async () => {
  const answer = await client.images.generate({ prompt: "a fox in the snow", n: 2, response_format: "url" });
  assert.equal(answer.data.length, 2, show(answer));
  for (const item of answer.data) {
    const reply = await fetch(item.url); // signed: no key needed
    assert.equal(reply.status, 200, item.url);
    assert.equal(reply.headers.get("content-type"), "image/png");
    assert.deepEqual(decode(Buffer.from(await reply.arrayBuffer())), { format: "png", width: 1024, height: 1024 });
  }
});

test("images.edit: an uploaded PNG, edited into two images", TEST, async () => {
  const source = await toFile(solidPng(160, 90, [200, 30, 30]), "red.png", { type: "image/png" });
  const answer = await client.images.edit({ image: source, prompt: "make it snow", n: 2, response_format: "b64_json" });
  assert.equal(answer.data.length, 2, show(answer));
  const images = answer.data.map((item) => Buffer.from(item.b64_json, "base64"));
  for (const image of images) {
    const facts = decode(image);
    assert.equal(facts.width, 1024, show(facts));
    assert.equal(facts.height, 576, show(facts)); // the source's 16:9 kept
  }
  assert.ok(!images[0].equals(images[1]), "the two edits are the same");
});

test("images.generate: an empty prompt is a BadRequestError", TEST, async () => {
  await assert.rejects(client.images.generate({ prompt: "" }), (error) => {
    assert.ok(error instanceof OpenAI.BadRequestError, String(error));
    assert.equal(error.status, 400);
    return true;
  });
});
