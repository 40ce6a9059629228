// Moving the video: from Grok's asset host into the service worker (with the extension's host permission, so
// no video bytes pass through messages), and from there to the server.
import { ServerError } from "./server.js";
import { contact, server } from "./state.js";

const VIDEO_HOSTS = ["assets.grok.com", "imagine-public.x.ai"];
const TRANSFER_TIMEOUT_MS = 600000;
const UPLOAD_ATTEMPTS = 5;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = (code, message) => Object.assign(new Error(message), { code });

function isMp4(bytes) {
  return bytes.length >= 8 && String.fromCharCode(...bytes.slice(4, 8)) === "ftyp";
}

// The MP4 at `url`, checked to be one; an error's `code` is the job's error code.
export async function download(url) {
  if (!VIDEO_HOSTS.includes(new URL(url).hostname)) {
    throw failure("ui_changed", `The result is not on Grok's asset host: ${url}`);
  }
  const reply = await fetch(url, { credentials: "include", signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) });
  if (!reply.ok) throw failure("no_output", `Downloading the video failed: HTTP ${reply.status}`);
  const video = await reply.blob();
  if (video.size === 0) throw failure("no_output", "Grok's video file was empty (0 bytes)");
  if (!isMp4(new Uint8Array(await video.slice(0, 8).arrayBuffer()))) {
    throw failure("no_output", "Grok's video file is not an MP4");
  }
  return video;
}

// Upload the job's video, retrying network errors and the server's 5xx, 408 and 429. A refusal is thrown:
// `lost` when the job is no longer this worker's (409, 404), else with the job's error code.
export async function upload(current, video) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await (await server()).complete(current.jobId, current.claimToken, video, current.postId);
      await contact(true);
      return;
    } catch (error) {
      const retryable = !(error instanceof ServerError) || error.status >= 500 || [408, 429].includes(error.status);
      if (!retryable) {
        if (error.status === 409 || error.status === 404) throw Object.assign(error, { lost: true });
        throw failure("worker_error", `The server refused the video: ${error.message}`);
      }
      await contact(false, error.message);
      if (attempt >= UPLOAD_ATTEMPTS) throw failure("worker_error", `Uploading the video failed: ${error.message}`);
      await sleep(1000 * 2 ** attempt);
    }
  }
}
