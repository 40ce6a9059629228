// Moving the result: from Grok's asset host into the service worker (with the extension's host permission, so
// no video or image bytes pass through messages), and from there to the server.
import { ServerError } from "./server.js";
import { contact, server } from "./state.js";

const ASSET_HOSTS = ["assets.grok.com", "imagine-public.x.ai"];
const TRANSFER_TIMEOUT_MS = 600000;
const UPLOAD_ATTEMPTS = 5;

const what = (result) => (Array.isArray(result) ? "images" : "video");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = (code, message) => Object.assign(new Error(message), { code });

function isMp4(bytes) {
  return bytes.length >= 8 && String.fromCharCode(...bytes.slice(4, 8)) === "ftyp";
}

// An image's type by its first bytes, as the server judges it (never by the Content-Type): PNG, JPEG or WebP.
function imageType(bytes) {
  const text = (from, to) => String.fromCharCode(...bytes.slice(from, to));
  if (bytes.length >= 8 && bytes[0] === 0x89 && text(1, 4) === "PNG") return "image/png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "image/jpeg";
  if (bytes.length >= 12 && text(0, 4) === "RIFF" && text(8, 12) === "WEBP") return "image/webp";
  return null;
}

function checkHost(url) {
  if (!ASSET_HOSTS.includes(new URL(url).hostname)) {
    throw failure("ui_changed", `The result is not on Grok's asset host: ${url}`);
  }
}

// The MP4 at `url`, checked to be one; an error's `code` is the job's error code.
export async function download(url) {
  checkHost(url);
  const reply = await fetch(url, { credentials: "include", signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) });
  if (!reply.ok) throw failure("no_output", `Downloading the video failed: HTTP ${reply.status}`);
  const video = await reply.blob();
  if (video.size === 0) throw failure("no_output", "Grok's video file was empty (0 bytes)");
  if (!isMp4(new Uint8Array(await video.slice(0, 8).arrayBuffer()))) {
    throw failure("no_output", "Grok's video file is not an MP4");
  }
  return video;
}

// The images at `urls`, in their order, each as {blob, type} with the type its bytes show. One that cannot be
// had is left out (the server answers with fewer images, and says so); none at all is no_output.
export async function downloadImages(urls) {
  urls.forEach(checkHost);
  const images = [];
  const problems = [];
  for (const url of urls) {
    try {
      const reply = await fetch(url, { credentials: "include", signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) });
      if (!reply.ok) throw new Error(`HTTP ${reply.status}`);
      const blob = await reply.blob();
      const type = imageType(new Uint8Array(await blob.slice(0, 12).arrayBuffer()));
      if (!type) throw new Error(blob.size ? "not a PNG, JPEG or WebP image" : "empty (0 bytes)");
      images.push({ blob: new Blob([blob], { type }), type });
    } catch (error) {
      problems.push(`${url}: ${error.message}`);
    }
  }
  if (!images.length) throw failure("no_output", `Downloading the images failed: ${problems.join("; ")}`);
  return images;
}

// Upload the job's video (a Blob) or images ([{blob, type}]), retrying network errors and the server's 5xx, 408 and 429. A refusal is thrown:
// `lost` when the job is no longer this worker's (409, 404), else with the job's error code.
export async function upload(current, result) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const link = await server();
      if (Array.isArray(result)) await link.completeImages(current.jobId, current.claimToken, result, current.postId);
      else if (result instanceof Blob) await link.complete(current.jobId, current.claimToken, result, current.postId);
      else await link.complete(current.jobId, current.claimToken, result.video, current.postId, result.hd);
      await contact(true);
      return;
    } catch (error) {
      const retryable = !(error instanceof ServerError) || error.status >= 500 || [408, 429].includes(error.status);
      if (!retryable) {
        if (error.status === 409 || error.status === 404) throw Object.assign(error, { lost: true });
        throw failure("worker_error", `The server refused the ${what(result)}: ${error.message}`);
      }
      await contact(false, error.message);
      if (attempt >= UPLOAD_ATTEMPTS) throw failure("worker_error", `Uploading the ${what(result)} failed: ${error.message}`);
      await sleep(1000 * 2 ** attempt);
    }
  }
}
