// The job driver in the grok.com tab: runs one job at a time through the site adapter's steps, watches for
// the result or a failure, and tells the service worker. It never touches video or image bytes: it hands over
// URLs.
"use strict";

(() => {
  const A = globalThis.GrokAdapter;
  const STABLE_MS = 2500; // a result URL must stay unchanged this long (reference: robust completion test)
  const MIN_SECONDS = 5.5;
  const POST_RECHECK_MS = 1500; // a post control missing at the first look is looked for again after this
  const UPSCALE_TIMEOUT_MS = 300000; // pressing Upscale must put an HD source on video#hd-video within this
  const START_MS = 15000; // after submitting, something must show that generation started
  const TICK_MS = 250;

  let active = null; // { jobId, aborted }
  let last = null; // the job this page ran last: a reloaded page knows none
  let abilities = null; // what this page offered when it was last read
  let reading = null; // the reading in progress: a job waits for it to finish

  const send = (message) => chrome.runtime.sendMessage(message).catch(() => {});

  function fileFrom(job) {
    const bytes = Uint8Array.from(atob(job.image), (c) => c.charCodeAt(0));
    return new File([bytes], job.imageName, { type: job.imageMime });
  }

  function checkAborted(run) {
    if (run.aborted) throw new A.StepError("aborted", "aborted");
    // At every wait, not only at the start: a stale-page notice may appear (or be updated in place) any time.
    const problem = A.pageProblem();
    if (problem) throw new A.StepError(problem.code, problem.message);
    A.survey()?.click();
  }

  // Read what this page offers (durations, resolutions, aspect ratios, presets) and tell the service worker,
  // which declares it at every poll. Only on the main page, between jobs.
  function readAbilities() {
    if (active || reading) return reading;
    reading = (async () => {
      try {
        await A.waitFor(() => A.pageProblem() || A.promptBox().el || A.modeGroup().el, 20000, 200);
        if (A.pageProblem() || A.onPostPage() || active) return;
        await A.chooseVideoMode();
        abilities = await A.readAbilities();
        send({ type: "abilities", abilities });
      } catch (error) {
        // Unreadable now: the service worker keeps what it had, or declares nothing (plain generation).
      } finally {
        reading = null;
      }
    })();
    return reading;
  }

  async function waitForPage(run) {
    const ready = await A.waitFor(() => A.pageProblem() || A.promptBox().el || A.modeGroup().el, 20000, 200);
    checkAborted(run);
    const problem = A.pageProblem();
    if (problem) throw new A.StepError(problem.code, problem.message);
    if (!ready) throw new A.StepError("ui_changed", "Imagine page did not load (prompt box not found)");
    if (A.onPostPage() && !(await A.goBack())) throw new A.StepError("ui_changed", "back button not found");
  }

  // The options a job sets on the page: an image job has only the aspect ratio (the others are Video's).
  const isImage = (job) => job.media === "image";
  const optionsOf = (job) => (isImage(job) ? { aspect_ratio: (job.options || {}).aspect_ratio } : job.options || {});

  async function start(run, job) {
    const phase = (name) => send({ type: "job-progress", jobId: job.jobId, phase: name });
    const media = isImage(job) ? "image" : "video";
    phase("preparing");
    await waitForPage(run);
    await A.chooseMode(media);
    checkAborted(run);
    await A.applyOptions(optionsOf(job));
    checkAborted(run);
    if (job.image) await A.attachImage(fileFrom(job));
    checkAborted(run);
    await A.typePrompt(job.prompt);
    checkAborted(run);
    // An image that moved the page to its post leaves only Make video there: that would make a video.
    if (media === "image" && A.submitButton().via === "Make video") {
      throw new A.StepError("ui_changed", "Image mode has no Submit on this page (only Make video): not making a video");
    }
    const seen = A.markSeen();
    const before = A.allVideoUrls();
    const images = A.markImages();
    const startUrl = location.href;
    await A.submitChecked(job.prompt, optionsOf(job), undefined, media);
    const result = () => (media === "image" ? A.resultImages(images).found.length : A.resultVideos(before).found.length);
    const started = () => A.progress() !== null || location.href !== startUrl || result() || A.failure(seen);
    if (!(await A.waitFor(started, START_MS / 2))) {
      A.submitForm();
      if (!(await A.waitFor(started, START_MS / 2))) throw new A.StepError("ui_changed", "generation did not start after submit");
    }
    phase("generating");
    return { seen, before, images };
  }

  // An extension, remix or edit: on its source's post (the service worker opened it), through Grok's own
  // controls. A post that does not open fails source_unavailable.
  async function startFromPost(run, job) {
    const phase = (name) => send({ type: "job-progress", jobId: job.jobId, phase: name });
    phase("preparing");
    const ready = await A.waitFor(() => A.pageProblem() || A.postMissing() || A.postVideo(), 20000, 200);
    checkAborted(run);
    if (!ready || !A.postVideo()) {
      const said = A.postMissing();
      const why = said ? A.norm(said.textContent) : "no video on it";
      throw new A.StepError("source_unavailable", `The source post ${job.sourceGrokPostId || ""} did not open: ${why}`);
    }
    const seen = A.markSeen();
    const before = A.allVideoUrls();
    const startUrl = location.href;
    if (job.kind === "extend") {
      const confirm = await A.prepareExtend((job.options || {}).duration);
      checkAborted(run);
      const box = A.boxOf(confirm) || (await A.waitFor(() => A.promptBox().el, 5000));
      if (!box) throw new A.StepError("ui_changed", "no prompt box beside the Extend button");
      await A.typeInto(box, job.prompt);
      await A.submitChecked(job.prompt, {}, A.extendConfirm);
    } else {
      await A.typePrompt(job.prompt);
      checkAborted(run);
      await A.submitChecked(job.prompt, {});
    }
    const started = () => A.progress() !== null || location.href !== startUrl || A.resultVideos(before).found.length || A.failure(seen);
    if (!(await A.waitFor(started, START_MS))) throw new A.StepError("ui_changed", "generation did not start from the post");
    phase("generating");
    return { seen, before };
  }

  // One look at the page while a job generates: stop on an abort, a failure toast or a hidden (moderated) result;
  // report a new percentage. `state` keeps the last percentage and when it moved.
  function lookAtPage(run, job, seen, state) {
    checkAborted(run);
    const failure = A.failure(seen);
    if (failure) throw new A.StepError(failure.code, failure.message);
    if (A.hiddenResult(seen)) throw new A.StepError("moderated", "Grok hid the result (crossed-out eye: moderated)");
    const percent = A.progress();
    if (percent !== null && percent !== state.lastProgress) {
      state.lastProgress = percent;
      state.progressAt = Date.now();
      send({ type: "job-progress", jobId: job.jobId, phase: "generating", progress: percent });
    }
    return percent;
  }

  async function watch(run, job, seen, before) {
    const startedAt = Date.now();
    const state = { lastProgress: null, progressAt: Date.now() };
    const firstSeen = new Map();
    let ambiguous = false;
    for (;;) {
      lookAtPage(run, job, seen, state);
      const { lastProgress, progressAt } = state;

      const now = Date.now();
      // Only this submit's result counts: the post's own result element, never another new video on the page.
      const result = A.resultVideos(before);
      ambiguous = result.ambiguous;
      for (const { url, video } of result.found) {
        if (!firstSeen.has(url)) firstSeen.set(url, now);
        const stableFor = now - firstSeen.get(url);
        const playable = video.readyState >= 2 && video.duration >= MIN_SECONDS;
        // A hidden tab may not load media at all; the bytes are checked again after the download.
        if (stableFor >= STABLE_MS && (playable || stableFor >= 4 * STABLE_MS)) return url;
      }
      for (const url of firstSeen.keys()) if (!result.found.some((v) => v.url === url)) firstSeen.delete(url);

      const last = lastProgress === null ? "no progress shown" : `last progress ${lastProgress}%`;
      if (now - startedAt > job.generationTimeoutMs && ambiguous) {
        throw new A.StepError("no_output", "Several new videos appeared and none is in this job's post: not taking a guess");
      }
      if (now - startedAt > job.generationTimeoutMs) {
        throw new A.StepError("timeout", `No video after ${Math.round(job.generationTimeoutMs / 1000)} s (${last})`);
      }
      // Stalled: a percentage was shown and has not moved (a page without one only meets the overall timeout).
      if (lastProgress !== null && firstSeen.size === 0 && now - progressAt > job.stallTimeoutMs) {
        throw new A.StepError("timeout", `Generation stalled for ${Math.round(job.stallTimeoutMs / 1000)} s (${last})`);
      }
      await A.sleep(TICK_MS);
    }
  }

  // An image job: the newest `n` of this submit's images, once the page has finished making them (no progress
  // shown, the same images for STABLE_MS, loaded). At the end of the wait, whatever appeared (at least one).
  async function watchImages(run, job, seen, before) {
    const want = Math.max(1, job.n || 1);
    const startedAt = Date.now();
    const state = { lastProgress: null, progressAt: Date.now() };
    let shown = "";
    let shownAt = Date.now();
    for (;;) {
      const percent = lookAtPage(run, job, seen, state);
      const { lastProgress, progressAt } = state;

      const now = Date.now();
      const { found, elsewhere } = A.resultImages(before);
      const urls = found.map(({ url }) => url);
      if (urls.join(" ") !== shown) {
        shown = urls.join(" ");
        shownAt = now;
      }
      const stableFor = now - shownAt;
      const loaded = found.every(({ img }) => img.complete && img.naturalWidth > 0);
      // A hidden tab may not load images at all; the bytes are checked again after the download.
      const settled = stableFor >= STABLE_MS && (loaded || stableFor >= 4 * STABLE_MS);
      if (urls.length && percent === null && settled) return urls.slice(0, want);

      const stalled = lastProgress !== null && now - progressAt > job.stallTimeoutMs;
      if (now - startedAt > job.generationTimeoutMs || stalled) {
        if (urls.length) return urls.slice(0, want); // fewer than asked: the server says so in the answer
        const last = lastProgress === null ? "no progress shown" : `last progress ${lastProgress}%`;
        const why = elsewhere
          ? `only in a feed or gallery that held older images (${elsewhere}): not taking a guess`
          : `within ${Math.round((stalled ? job.stallTimeoutMs : job.generationTimeoutMs) / 1000)} s`;
        throw new A.StepError("no_output", `No image of this job appeared ${why} (${last})`);
      }
      await A.sleep(TICK_MS);
    }
  }

  async function run(job) {
    const current = { jobId: job.jobId, aborted: false };
    active = current;
    last = job.jobId;
    try {
      await reading;
      // An image edit starts on the main page too: its source is the job's own image.
      const derived = !isImage(job) && job.kind && job.kind !== "generate";
      const { seen, before, images } = await (derived ? startFromPost(current, job) : start(current, job));
      if (isImage(job)) {
        const imageUrls = await watchImages(current, job, seen, images);
        send({ type: "job-result", jobId: job.jobId, imageUrls, postId: A.postId() });
        return;
      }
      const videoUrl = await watch(current, job, seen, before);
      // The post of this result; the source's own id would tie the new video to the old one.
      const postId = A.postId();
      const hdUrl = job.upscale ? await upscale(current, job, seen) : null;
      // Before the result: once it is sent, the tab may be moved on to the next job.
      await readPostAbilities().catch(() => {});
      send({ type: "job-result", jobId: job.jobId, videoUrl, hdUrl, postId: postId !== job.sourceGrokPostId ? postId : null });
    } catch (error) {
      if (error.code === "aborted") return;
      const code = error instanceof A.StepError ? error.code : "worker_error";
      const message = error instanceof A.StepError ? error.message : `Extension error: ${error && error.message}`;
      // No upscale or Extend control on this post: say so from now on (before the failure moves the tab on).
      if ((job.upscale || job.kind === "extend") && code === "ui_changed") await readPostAbilities().catch(() => {});
      send({ type: "job-failed", jobId: job.jobId, code, message });
    } finally {
      if (active === current) active = null;
    }
  }

  // A finished video's post shows what can be made from it (Extend, remix, the HD upscale): kept apart by the
  // service worker.
  // What it lacks counts too: until a post is seen, Extend and the upscale are assumed (abilities.js). A control
  // missing at the first look is looked for once more, so that a post still rendering is not taken as lacking it.
  async function readPostAbilities() {
    const found = await readPost();
    if (!found) return; // not a finished video's post: nothing learnt
    if (!found.kinds.includes("extend") || !found.features.length) {
      await A.sleep(POST_RECHECK_MS);
      const again = await readPost();
      if (!again) return; // the tab moved on meanwhile: nothing learnt
      found.kinds = [...new Set([...found.kinds, ...again.kinds])];
      found.sources = [...new Set([...found.sources, ...again.sources])];
      found.features = [...new Set([...found.features, ...again.features])];
    }
    send({ type: "abilities", scope: "post", abilities: found });
  }

  async function readPost() {
    const found = A.readPostAbilities();
    if (!found) return null;
    const upscales = await A.canUpscale().catch(() => false);
    return { ...found, features: upscales ? ["upscale"] : [] };
  }

  // A job that asked for HD: on its finished post, press Grok's upscale and wait for the HD source on
  // video#hd-video (docs/hd.md). No control is ui_changed; no HD source in time is timeout.
  async function upscale(run, job, seen) {
    send({ type: "job-progress", jobId: job.jobId, phase: "upscaling" });
    await A.startUpscale();
    const limit = job.upscaleTimeoutMs || UPSCALE_TIMEOUT_MS;
    const startedAt = Date.now();
    for (;;) {
      checkAborted(run);
      const failure = A.failure(seen);
      if (failure) throw new A.StepError(failure.code, failure.message);
      const url = A.hdVideoUrl();
      if (url) return url;
      if (Date.now() - startedAt > limit) {
        throw new A.StepError("timeout", `No HD video ${Math.round(limit / 1000)} s after pressing Upscale`);
      }
      await A.sleep(TICK_MS);
    }
  }

  // Post pages are read only after this extension's own results (readPostAbilities in run), not whatever post a
  // person opens in the tab.
  if (!A.onPostPage()) readAbilities();

  chrome.runtime.onMessage.addListener((message, sender, reply) => {
    if (sender.id !== chrome.runtime.id) return false;
    switch (message.type) {
      case "ping":
        reply({ ok: true, url: location.href, busy: active ? active.jobId : null, last });
        return false;
      case "run":
        if (active) {
          reply({ accepted: false, busy: active.jobId });
        } else {
          run(message.job);
          reply({ accepted: true });
        }
        return false;
      case "abort":
        if (active && active.jobId === message.jobId) active.aborted = true;
        reply({ ok: true });
        return false;
      case "reset":
        A.goBack().then((ok) => reply({ ok }));
        return true;
      case "diagnose":
        Promise.resolve(active ? null : readAbilities()).then(() =>
          reply({ ok: true, url: location.href, elements: A.diagnose(), abilities }),
        );
        return true;
      default:
        return false;
    }
  });
})();
