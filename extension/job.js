// The job driver: hands a claimed job to the Imagine tab's content script, relays its progress to the server
// (which renews the lease), sends heartbeats, moves the result (a video, or an image job's images) to the server
// and records how the job ended.
// Chrome may stop this worker at any time: the job is in storage (`current`), the page keeps running it, its
// messages wake the worker, and supervise() picks the job up again.
import { ServerError } from "./server.js";
import { contact, getCurrent, record, server, setCurrent, setState, settings, take, update } from "./state.js";
import { PAGE_LOAD_MS, openImagine, ping, tell } from "./tab.js";
import { download, downloadImages, upload } from "./transfers.js";

const OUTDATED_RETRIES = 1;
export const HEARTBEAT_MS = 5000;
const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

const jobImages = new Map(); // jobId -> base64 image, kept only in memory (it can be megabytes)
let lastReport = 0;
let reportTimer = null;
let transferring = null; // the job whose result this instance of the worker is downloading or uploading

export async function startJob(claim) {
  const { generationTimeoutSeconds, stallTimeoutSeconds } = await settings();
  const current = {
    jobId: claim.job_id,
    claimToken: claim.claim_token,
    prompt: claim.prompt,
    options: claim.options || {},
    // "image": the page's Image mode makes up to `n` images (docs/images.md); a video job makes one video.
    media: claim.media || "video",
    n: claim.n || 1,
    hasImage: Boolean(claim.image),
    imageMime: claim.image_mime,
    // What a remix, extension or edit starts from (a plain generation has kind "generate" and no source).
    kind: claim.kind || "generate",
    sourceJobId: claim.source_job_id ?? null,
    sourceVideoUrl: claim.source_video_url ?? null,
    sourceGrokPostId: claim.source_grok_post_id ?? null,
    sourceGrokPostUrl: claim.source_grok_post_url ?? null,
    // Grok's HD upscale after the video: its file goes up as video_hd (docs/hd.md).
    upscale: Boolean(claim.upscale),
    phase: "opening",
    progress: 0,
    startedAt: Date.now(),
    tabId: null,
    attempt: 1,
    leaseSeconds: claim.lease_seconds || 300,
    generationTimeoutMs: generationTimeoutSeconds * 1000,
    stallTimeoutMs: stallTimeoutSeconds * 1000,
  };
  if (claim.image) jobImages.set(claim.job_id, claim.image);
  await setCurrent(current);
  lastReport = Date.now();
  await dispatch(current);
}

// Open the page and hand the job to the content script; it reports back with job-* messages.
async function dispatch(current) {
  try {
    // An extension, remix or edit starts on its source's Grok post; everything else (image jobs too) on a fresh
    // Imagine page.
    const derived = current.media !== "image" && current.kind !== "generate" && current.sourceGrokPostUrl;
    current.tabId = await openImagine(current, derived ? current.sourceGrokPostUrl : undefined);
    await setCurrent(current);
    const image = current.hasImage ? jobImages.get(current.jobId) : null;
    if (current.hasImage && !image) throw new Error("The job's image was lost when the browser stopped the extension");
    const job = {
      jobId: current.jobId,
      prompt: current.prompt,
      options: current.options,
      media: current.media,
      n: current.n,
      image,
      imageMime: current.imageMime,
      imageName: `${current.jobId}.${EXTENSIONS[current.imageMime] || "png"}`,
      kind: current.kind,
      sourceJobId: current.sourceJobId,
      sourceVideoUrl: current.sourceVideoUrl,
      sourceGrokPostId: current.sourceGrokPostId,
      sourceGrokPostUrl: current.sourceGrokPostUrl,
      upscale: current.upscale,
      upscaleTimeoutMs: current.generationTimeoutMs,
      generationTimeoutMs: current.generationTimeoutMs,
      stallTimeoutMs: current.stallTimeoutMs,
    };
    const answer = await chrome.tabs.sendMessage(current.tabId, { type: "run", job });
    if (!answer || !answer.accepted) throw new Error(`The Imagine tab is busy with job ${answer && answer.busy}`);
  } catch (error) {
    await fail(current.jobId, error.code || "worker_error", error.message);
  }
}

// Progress goes to the server at most once a second; it also renews the lease.
async function report(current, force = false) {
  const wait = 1000 - (Date.now() - lastReport);
  if (!force && wait > 0) {
    // Throttled, not dropped: the latest value goes out when the second is over.
    reportTimer ??= setTimeout(async () => {
      reportTimer = null;
      const latest = await getCurrent();
      if (latest && latest.jobId === current.jobId && !latest.failing) await report(latest, true);
    }, wait);
    return;
  }
  lastReport = Date.now();
  try {
    const answer = await (await server()).progress(current.jobId, current.claimToken, current.progress);
    await contact(true);
    if (answer.cancelled) await finish(current, "cancelled", null, "Cancelled through the API");
  } catch (error) {
    if (error instanceof ServerError && (error.status === 409 || error.status === 404)) {
      const latest = await getCurrent();
      if (latest && latest.jobId === current.jobId && latest.failing) {
        // Its own failure report ended it (and may not have recorded it, if Chrome stopped the worker in between).
        await finish(latest, "failed", latest.failing.code, latest.failing.message);
        return;
      }
      await finish(current, "lost", error.code, error.message);
    } else {
      await contact(false, error.message);
    }
  }
}

export async function onProgress(message) {
  const patch = { phase: message.phase };
  if (typeof message.progress === "number") patch.progress = message.progress;
  const current = await update(message.jobId, patch);
  if (current && typeof message.progress === "number") await report(current);
}

// The page found the video (`videoUrl`) or an image job's images (`imageUrls`): `postId` is the Grok post they
// are in (or null), sent with the upload.
export async function onResult(message) {
  transferring = message.jobId;
  try {
    await deliver(message);
  } finally {
    transferring = null;
  }
}

async function deliver({ jobId, videoUrl, hdUrl, imageUrls, postId }) {
  const images = Array.isArray(imageUrls) ? imageUrls.filter((url) => typeof url === "string") : null;
  const patch = { phase: "downloading", progress: 100, ...(images ? { imageUrls: images } : { videoUrl }) };
  if (typeof hdUrl === "string" && hdUrl) patch.hdUrl = hdUrl;
  if (postId !== undefined) patch.postId = typeof postId === "string" && postId ? postId : null;
  let current = await update(jobId, patch);
  if (!current) return;
  let result; // the video's Blob, or the images' [{blob, type}]
  try {
    result = images ? await downloadImages(images.slice(0, current.n)) : await download(videoUrl);
    if (!images && current.upscale) {
      if (!current.hdUrl) throw Object.assign(new Error("The job asked for HD but the page gave no HD video"), { code: "no_output" });
      result = { video: result, hd: await download(current.hdUrl) };
    }
  } catch (error) {
    await fail(jobId, error.code || "no_output", error.message);
    return;
  }
  current = await update(jobId, { phase: "uploading" });
  if (!current) return;
  try {
    await upload(current, result);
  } catch (error) {
    if (error.lost) return finish(current, "lost", error.code, error.message);
    return fail(jobId, error.code || "worker_error", error.message);
  }
  await finish(current, "completed", null, null);
}

export async function fail(jobId, code, message) {
  const current = await getCurrent();
  if (!current || current.jobId !== jobId) return;
  if (code === "page_outdated" && current.attempt <= OUTDATED_RETRIES) {
    // "This page is out of date. Reload to continue": reload once and run the job again.
    await dispatch(await update(jobId, { attempt: current.attempt + 1, phase: "opening" }));
    return;
  }
  const serverCode = code === "page_outdated" ? "ui_changed" : code;
  // A progress report still on its way may now meet the failed job (409): that is this failure, not a lost job.
  await update(jobId, { failing: { code: serverCode, message } });
  try {
    const reply = await (await server()).error(jobId, current.claimToken, serverCode, message);
    await contact(true);
    // A rate limit rests this worker on the server (docs/retries.md): the popup says until when.
    const until = Number(reply && reply.cooldown_until);
    if (until > 0) await setState({ restingUntil: until * 1000, restReason: message });
  } catch (error) {
    if (!(error instanceof ServerError)) await contact(false, error.message);
  }
  await finish(current, "failed", serverCode, message);
}

// The job leaves `current` (which lets the poll loop claim the next one) and enters the history.
async function finish(current, outcome, code, message) {
  if (!(await take(current.jobId))) return;
  if (outcome !== "completed" && outcome !== "failed" && current.tabId) {
    await tell(current.tabId, { type: "abort", jobId: current.jobId });
  }
  jobImages.delete(current.jobId);
  if (outcome === "completed") await setState({ restingUntil: null, restReason: null }); // the rest is over
  await record(current, outcome, code, message);
  if (current.tabId) tell(current.tabId, { type: "reset" });
}

// Run by the alarm and the heartbeat timer, and when a new instance of this worker starts.
export async function supervise() {
  const current = await getCurrent();
  if (!current) return;
  const tab = current.tabId ? await chrome.tabs.get(current.tabId).catch(() => null) : null;
  if (current.tabId && !tab) return fail(current.jobId, "worker_error", "The Imagine tab was closed during the job");
  const moving = current.phase === "downloading" || current.phase === "uploading";
  if (moving && transferring !== current.jobId) {
    // Chrome stopped the previous instance of this worker in the middle of the transfer: start it again.
    return onResult({ jobId: current.jobId, videoUrl: current.videoUrl, hdUrl: current.hdUrl, imageUrls: current.imageUrls });
  }
  // A job that asked for HD has the upscale's own wait on top of the generation's.
  const budget = current.generationTimeoutMs * (current.upscale ? 2 : 1);
  const overdue = Date.now() - current.startedAt > budget + PAGE_LOAD_MS + 60000;
  if (overdue && !moving) return fail(current.jobId, "timeout", "The Imagine tab stopped answering");
  if (tab && current.phase === "generating") {
    const answer = await ping(tab.id);
    if (!answer || (answer.busy !== current.jobId && answer.last !== current.jobId)) {
      return fail(current.jobId, "worker_error", "The Imagine tab was reloaded or left during the job");
    }
  }
  // A heartbeat: renews the lease and learns of a cancellation even while the page shows no progress.
  if (Date.now() - lastReport > Math.min(HEARTBEAT_MS, (current.leaseSeconds * 1000) / 3)) await report(current, true);
}

export async function onTabClosed(tabId) {
  const current = await getCurrent();
  if (current && current.tabId === tabId && current.phase !== "downloading" && current.phase !== "uploading") {
    await fail(current.jobId, "worker_error", "The Imagine tab was closed during the job");
  }
}

// A browser restart loses the page the last job ran in: that job cannot finish.
export async function onBrowserStarted() {
  const current = await getCurrent();
  if (current) await fail(current.jobId, "worker_error", "The browser was closed during the job");
}
