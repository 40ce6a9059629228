// The dashboard: plain JavaScript, no build step, no third-party code.
// Every piece of text from the server goes into the page through textContent (see h()), never as HTML.

const KEY_STORAGE = "grok-imagine-api.key";
// The listing's states: cancelled jobs (failed, code `cancelled`, to the API) are a state of their own here.
const STATES = ["pending", "processing", "completed", "failed", "cancelled"];
// What the server accepts (domain/abilities.py ACCEPTED_ASPECT_RATIOS, domain/options.py GENERATION_SECONDS);
// what a worker cannot make exactly becomes the nearest it can, and the job page shows what was made of it.
const ASPECTS = ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"];
const RESOLUTIONS = ["720p", "480p"];
// Longer than one generation is a chain of Grok extends joined into one MP4 (docs/long-videos.md); the limits are
// domain/segments.py's MAX_SEGMENTS and MAX_CHAIN_SECONDS.
const DURATIONS = [...Array.from({ length: 15 }, (_, i) => i + 1), 20, 30, 40, 50, 60];
const SINGLE_SECONDS = 10; // the longest one generation makes (the default table, docs/options.md)
const MAX_SEGMENTS = 10;
const MAX_CHAIN_SECONDS = 60;
// A segment row's seconds. The server takes up to MAX_CHAIN_SECONDS and makes each the nearest length a worker
// makes; 6 is its own when a segment names none (DEFAULT_SEGMENT_SECONDS).
const SEGMENT_SECONDS = { min: 1, max: 20, initial: 6 };
const OPTION_NAMES = ["aspect_ratio", "resolution", "duration", "mode"];
const PRESETS = ["normal", "fun", "spicy", "custom"];
const PAGE_SIZE = 50;
const LIVE_MS = 2000;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp"];
// Image jobs (docs/images.md): the ratios Grok's page makes images in, and how many one job may ask for.
const IMAGE_ASPECTS = ["1:1", "16:9", "9:16", "3:2", "2:3"];
const IMAGE_COUNTS = Array.from({ length: 10 }, (_, i) => i + 1);
const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

const main = document.getElementById("main");

// ---- DOM ----------------------------------------------------------------------------------

function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    // Styles go through the CSSOM: the page's Content-Security-Policy forbids style attributes.
    else if (name === "style") Object.assign(node.style, value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Like replaceChildren, but skipping null, undefined and false (so conditional parts can be written inline).
function put(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// A small inline icon (drawn in the DOM, so the Content-Security-Policy has nothing to load).
const ICONS = {
  image: ["M4 5h16v14H4z", "M4 16l5-5 4 4 3-3 4 4", "M15.5 8.5h.01"],
  video: ["M4 6h11v12H4z", "M15 10l5-3v10l-5-3z"],
};

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", `icon ${name}`);
  svg.setAttribute("aria-hidden", "true");
  for (const d of ICONS[name]) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

function link(path, ...children) {
  return h("a", { href: path, "data-nav": true }, ...children);
}

// Text someone else wrote (a prompt, a worker's name or error message, a model name) goes in a bidi isolate:
// a right-to-left override (U+202E) or an Arabic prompt reorders its own characters, never the text around it.
function userText(text) {
  return h("bdi", {}, text);
}

// ---- formatting ---------------------------------------------------------------------------

function ago(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const delta = Math.max(0, Date.now() / 1000 - seconds);
  if (delta < 5) return "just now";
  if (delta < 60) return `${Math.floor(delta)} s ago`;
  if (delta < 3600) return `${Math.floor(delta / 60)} min ago`;
  if (delta < 86400) return `${Math.floor(delta / 3600)} h ago`;
  return `${Math.floor(delta / 86400)} d ago`;
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "—";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function bytes(n) {
  if (!n) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function optionsText(options) {
  const parts = [options.aspect_ratio, options.resolution, options.duration && `${options.duration}s`, options.mode];
  return parts.filter(Boolean).join(" · ") || "defaults";
}

function stateLabel(job) {
  if (job.status === "failed" && job.error_code === "cancelled") return "cancelled";
  if (job.video_expired) return "expired";
  return job.status;
}

const isImageJob = (job) => job.media === "image";

// "made 2 of 4" when a worker made fewer images than the job asked for; null otherwise.
function shortfall(job) {
  const made = (job.images || []).length;
  return isImageJob(job) && job.status === "completed" && made < (job.n || 1) ? `made ${made} of ${job.n}` : null;
}

function mediaTag(job) {
  if (!isImageJob(job)) return null;
  const count = job.n === 1 ? "1 image" : `${job.n} images`;
  return h("span", { class: "media-tag image", title: `Image job: ${count} asked` }, icon("image"), count);
}

function badge(job) {
  const label = stateLabel(job);
  return h("span", { class: `badge ${label}` }, label);
}

function progressBar(percent, label) {
  const bar = h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 });
  bar.setAttribute("aria-valuenow", String(percent));
  bar.append(h("div", { class: "fill", style: { width: `${Math.max(0, Math.min(100, percent))}%` } }));
  bar.append(h("span", {}, label ?? `${percent}%`));
  return bar;
}

// ---- the API ------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || null;
    this.param = error.param || null;
  }
}

let sessionKey = null;

function currentKey() {
  return sessionKey ?? localStorage.getItem(KEY_STORAGE);
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const key = currentKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  const reply = await fetch(path, { method: options.method || "GET", headers, body, cache: "no-store" });
  if (reply.status === 401) {
    const problem = await reply.json().catch(() => null);
    askForKey(key ? "The saved key was refused: " + new ApiError(401, problem).message : null);
    throw new ApiError(401, problem);
  }
  if (!reply.ok) throw new ApiError(reply.status, await reply.json().catch(() => null));
  if (options.raw) return reply;
  return reply.status === 204 ? null : reply.json();
}

// ---- the API key dialog ---------------------------------------------------------------------

const keyDialog = document.getElementById("key-dialog");
const keyButton = document.getElementById("key-button");

function askForKey(reason) {
  document.getElementById("key-reason").textContent = reason || "This server requires an API key.";
  keyButton.hidden = false;
  if (!keyDialog.open) keyDialog.showModal();
  document.getElementById("key-input").focus();
}

document.getElementById("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = document.getElementById("key-input").value.trim();
  if (!key) return;
  sessionKey = key;
  if (document.getElementById("key-remember").checked) localStorage.setItem(KEY_STORAGE, key);
  document.getElementById("key-input").value = "";
  keyDialog.close();
  render();
});

document.getElementById("key-forget").addEventListener("click", () => {
  localStorage.removeItem(KEY_STORAGE);
  sessionKey = null;
  document.getElementById("key-input").value = "";
  document.getElementById("key-reason").textContent = "The saved key was removed from this browser.";
});

keyButton.addEventListener("click", () => askForKey("Enter a different API key, or forget the saved one."));
if (currentKey()) keyButton.hidden = false;

// ---- live updates ---------------------------------------------------------------------------
// One cheap request every 2 s (/stats: counts and a change counter); pages reload their data only
// when the counter moved. Paused while the tab is hidden.

const live = { version: null, listeners: new Set(), timer: null, stats: null };
const liveBadge = document.getElementById("live");

async function tick() {
  clearTimeout(live.timer);
  if (document.hidden) return;
  try {
    const stats = await api("/stats");
    live.stats = stats;
    const changed = stats.version !== live.version;
    live.version = stats.version;
    liveBadge.textContent = "live";
    liveBadge.className = "live on";
    for (const listener of live.listeners) listener(stats, changed);
  } catch (error) {
    liveBadge.textContent = error.status === 401 ? "needs a key" : "offline";
    liveBadge.className = "live off";
  }
  live.timer = setTimeout(tick, LIVE_MS);
}

document.addEventListener("visibilitychange", () => document.hidden || tick());

function onLive(listener) {
  live.listeners.add(listener);
  return () => live.listeners.delete(listener);
}

// ---- routing --------------------------------------------------------------------------------

let leavePage = () => {};

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-nav]");
  if (!anchor || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href"));
});

window.addEventListener("popstate", () => render());

function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, "", path);
  render();
}

function render() {
  leavePage();
  leavePage = () => {};
  const path = location.pathname.replace(/\/+$/, "");
  const job = path.match(/^\/dashboard\/jobs\/([^/]+)$/);
  let page = "jobs";
  if (job) {
    page = "job";
    let jobId = job[1];
    try {
      jobId = decodeURIComponent(jobId);
    } catch {
      // A malformed %-escape: ask for it as it is, and the server says there is no such job.
    }
    leavePage = jobPage(jobId);
  } else if (path === "/dashboard/new") {
    page = "new";
    leavePage = newPage();
  } else if (path === "/dashboard/workers") {
    page = "workers";
    leavePage = workersPage();
  } else if (path === "/dashboard/webhooks") {
    page = "webhooks";
    leavePage = webhooksPage();
  } else {
    leavePage = jobsPage();
  }
  for (const anchor of document.querySelectorAll("nav a")) {
    anchor.classList.toggle("active", anchor.dataset.page === page || (page === "job" && anchor.dataset.page === "jobs"));
  }
  tick();
}

function show(...children) {
  put(main, children);
}

function problem(error) {
  return h("p", { class: "error", role: "alert" }, error.message || String(error));
}

// ---- jobs: overview and table ------------------------------------------------------------------

function jobsPage() {
  const query = new URLSearchParams(location.search);
  // `ticket` numbers the requests for rows: an answer that is not the latest is dropped (a slow search for
  // "cat" must not overwrite the rows for "dog"). `failed`: the last load failed, retry on the next tick.
  const view = { status: query.get("status") || "", q: query.get("q") || "", cursors: [null], ticket: 0, failed: false };

  const cards = h("section", { class: "cards", "aria-label": "Queue overview" });
  const chart = h("section", { class: "chart", "aria-label": "Jobs per hour, last 24 hours" });
  const search = h("input", {
    type: "search",
    placeholder: "Search prompts or paste a job id",
    value: view.q,
    "aria-label": "Search",
  });
  const filters = h("div", { class: "filters", role: "group", "aria-label": "Filter by state" });
  const tbody = h("tbody");
  const pager = h("div", { class: "pager" });
  const note = h("p", { class: "muted" });

  for (const state of ["", ...STATES]) {
    filters.append(
      h("button", {
        type: "button",
        class: state === view.status ? "chip active" : "chip",
        dataset: { state },
        onclick: () => {
          view.status = state;
          restart();
        },
      }, state || "all", h("span", { class: "count", dataset: { count: state || "all" } })),
    );
  }
  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      view.q = search.value.trim();
      restart();
    }, 250);
  });

  function restart() {
    view.cursors = [null];
    const params = new URLSearchParams();
    if (view.status) params.set("status", view.status);
    if (view.q) params.set("q", view.q);
    history.replaceState(null, "", "/dashboard" + (params.size ? "?" + params : ""));
    for (const chip of filters.children) chip.classList.toggle("active", chip.dataset.state === view.status);
    load();
  }

  async function load() {
    const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (view.status) params.set("status", view.status);
    if (view.q) params.set("q", view.q);
    const cursor = view.cursors[view.cursors.length - 1];
    if (cursor) params.set("cursor", cursor);
    const ticket = ++view.ticket;
    try {
      const page = await api("/jobs?" + params);
      if (ticket !== view.ticket) return;
      view.failed = false;
      drawRows(page);
    } catch (error) {
      if (ticket !== view.ticket) return;
      view.failed = true;
      put(tbody, h("tr", {}, h("td", { colspan: 6 }, problem(error))));
    }
  }

  function drawRows(page) {
    if (!page.data.length) {
      const empty = view.q || view.status ? "No jobs match." : "No jobs yet. Create one under New.";
      put(tbody, h("tr", {}, h("td", { colspan: 6, class: "empty" }, empty)));
    } else {
      put(tbody, ...page.data.map(row));
    }
    const pageNumber = view.cursors.length;
    put(pager, 
      h("button", {
        type: "button",
        disabled: pageNumber === 1,
        onclick: () => {
          view.cursors.pop();
          load();
        },
      }, "← Newer"),
      h("span", { class: "muted" }, `Page ${pageNumber}`),
      h("button", {
        type: "button",
        disabled: !page.has_more,
        onclick: () => {
          view.cursors.push(page.next_cursor);
          load();
        },
      }, "Older →"),
    );
  }

  function row(job) {
    const progress =
      job.status === "processing"
        ? progressBar(job.progress)
        : job.status === "pending"
          ? job.waiting_reason
            ? h("span", { class: "waiting", title: job.waiting_reason }, "⚠ ", job.waiting_reason)
            : h("span", { class: "muted" }, "queued")
          : job.status === "failed"
            ? h("span", { class: "muted", title: job.error || "" }, job.error_code || "failed")
            : Object.assign(progressBar(100, shortfall(job) || "done"), { className: "progress done" });
    const first = isImageJob(job) && job.status === "completed" && (job.images || [])[0];
    // Decorative: the link's name is the prompt.
    const thumb = first ? h("img", { class: "thumb", src: first.url, alt: "", loading: "lazy", decoding: "async" }) : null;
    return h(
      "tr",
      { dataset: { job: job.id, media: job.media || "video" } },
      h("td", {}, badge(job)),
      h("td", { class: "prompt" }, link(`/dashboard/jobs/${encodeURIComponent(job.id)}`, thumb, userText(job.prompt))),
      h("td", {}, progress),
      h("td", { class: "muted" }, mediaTag(job), isImageJob(job) ? " · " : "", optionsText(job.options),
        job.has_image ? (isImageJob(job) ? " · edit" : " · image") : ""),
      h("td", { class: "muted", title: when(job.created) }, ago(job.created)),
      h("td", { class: "muted mono" }, job.worker_id ? userText(job.worker_id) : ""),
    );
  }

  function drawStats(stats) {
    const jobs = stats.jobs;
    const hour = stats.per_hour[stats.per_hour.length - 1] || { created: 0, completed: 0, failed: 0 };
    const card = (name, label, value, detail, cls = name) => h("div", { class: `card ${cls}`, dataset: { card: name } }, h("div", { class: "value" }, value), h("div", { class: "label" }, label), detail ? h("div", { class: "detail muted" }, detail) : null);
    const workers = stats.workers;
    // The last bar of the chart: the clock hour now running, not the last 60 minutes.
    const since = `${new Date(hour.start * 1000).getHours()}:00`;
    put(cards, 
      card("pending", "queued", jobs.pending),
      card("processing", "processing", jobs.processing),
      card("completed", "completed", jobs.completed),
      card("failed", "failed", jobs.failed),
      card("cancelled", "cancelled", jobs.cancelled),
      card("workers", workers.online === 1 ? "worker online" : "workers online", workers.online,
        [`${workers.busy} busy · ${workers.waiting} waiting`, workers.offline ? ` · ${workers.offline} offline` : ""].join(""), ""),
      card("queue-wait", "median queue wait", duration(stats.median_queue_wait_seconds), `last ${stats.timing_sample} completed`, ""),
      card("generation", "median generation", duration(stats.median_generation_seconds), `last ${stats.timing_sample} completed`, ""),
      card("hour", `completed since ${since}`, hour.completed, `${hour.created} created · ${hour.failed} failed or cancelled since ${since}`, ""),
    );
    const peak = Math.max(1, ...stats.per_hour.map((b) => b.completed + b.failed));
    put(chart, 
      h("h2", {}, "Jobs per hour ", h("span", { class: "muted" }, "(last 24 h: completed, and failed or cancelled)")),
      h("div", { class: "bars" }, stats.per_hour.map((bucket) => {
        const start = new Date(bucket.start * 1000);
        const label = `${start.getHours()}:00 — ${bucket.completed} completed, ${bucket.failed} failed or cancelled, ${bucket.created} created`;
        return h("div", { class: "bar", title: label },
          h("div", { class: "failed", style: { height: `${(bucket.failed / peak) * 100}%` } }),
          h("div", { class: "completed", style: { height: `${(bucket.completed / peak) * 100}%` } }));
      })),
    );
    let total = 0;
    for (const state of STATES) {
      total += jobs[state];
      const count = filters.querySelector(`[data-count="${state}"]`);
      if (count) count.textContent = String(jobs[state]);
    }
    filters.querySelector('[data-count="all"]').textContent = String(total);
  }

  show(
    h("h1", {}, "Jobs"),
    cards,
    chart,
    h("section", { class: "panel" },
      h("div", { class: "toolbar" }, filters, search),
      h("table", { class: "jobs" },
        h("thead", {}, h("tr", {}, ["State", "Prompt", "Progress", "Options", "Created", "Worker"].map((t) => h("th", {}, t)))),
        tbody),
      pager,
      note),
  );
  tbody.append(h("tr", {}, h("td", { colspan: 6, class: "empty" }, "Loading…")));
  load();
  if (live.stats) drawStats(live.stats);
  const stop = onLive((stats, changed) => {
    drawStats(stats);
    if (changed || view.failed) load();
  });
  return () => {
    stop();
    clearTimeout(typing);
  };
}

// ---- one job ----------------------------------------------------------------------------------

function jobPage(jobId) {
  let imageUrl = null;
  let shownVideo = null;
  let showingHd = false; // the player shows the HD file of a job that has one (docs/hd.md)
  let shownImages = null; // the grid of an image job's images, kept while they stay the same
  let shownImagesKey = null;
  let job = null;
  const viewer = imageViewer();
  const actions = h("div", { class: "actions" });
  const status = h("div", { class: "status-line" });
  const media = h("div", { class: "media" });
  const facts = h("dl", { class: "facts" });
  const asked = h("section", { class: "panel asked-made", "aria-label": "Asked and made" });
  const tries = h("section", { class: "panel attempts-panel", "aria-label": "Attempts" });
  const warnings = h("div");
  const message = h("div");
  const notice = h("div");
  let imageLoading = false;
  let left = false;
  let failed = false;

  async function load() {
    try {
      const fresh = await api(`/jobs/${encodeURIComponent(jobId)}`);
      if (left) return;
      job = fresh;
      failed = false;
      put(notice);
      draw();
    } catch (error) {
      if (left) return;
      if (!job) {
        show(link("/dashboard", "← All jobs"), h("h1", {}, "Job"), problem(error));
        return;
      }
      // Keep what is shown and say why it is not moving; the next tick tries again.
      put(notice, problem(new Error(`Could not refresh this job: ${error.message}`)));
      failed = true;
    }
  }

  async function act(event, work) {
    // The second click of a double click may land on the page the first one opened (Run again, under load):
    // only a single click (or a key press: detail 0) acts.
    if (event.detail > 1) return;
    const button = event.currentTarget;
    put(message);
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      put(message, problem(error));
    } finally {
      button.disabled = false;
    }
  }

  // Seed-shaped jobs name their future video URL from the start: only a completed job has a file there.
  const playable = () => job.status === "completed" && !job.video_expired && job.video_url;
  const hdUrl = () => (job.hd && job.hd.url) || null;

  function draw() {
    const running = job.status === "pending" || job.status === "processing";
    const waiting = job.status === "pending" ? job.waiting_reason : null;
    put(status, 
      badge(job),
      job.status === "processing" ? progressBar(job.progress) : null,
      job.status === "pending" && !waiting ? h("span", { class: "muted" }, "waiting for a worker") : null,
    );
    put(warnings,
      waiting ? h("p", { class: "notice waiting-reason", role: "status" }, h("strong", {}, "Not started: "), waiting) : null,
      job.output_mismatch && job.output_mismatch.length
        ? h("div", { class: "warning output-mismatch", role: "alert" },
            h("strong", {}, "The video is not what was promised:"),
            h("ul", {}, job.output_mismatch.map((m) => h("li", {}, m.message || `${m.param}: ${m.promised} → ${m.produced}`))))
        : null,
    );
    put(actions, 
      running
        ? h("button", {
            type: "button",
            class: "danger",
            onclick: (event) => act(event, async () => {
              job = await api(`/jobs/${encodeURIComponent(job.id)}/cancel`, { method: "POST" });
              draw();
            }),
          }, "Cancel")
        : null,
      h("button", {
        type: "button",
        onclick: (event) => act(event, async () => {
          const again = await api(`/jobs/${encodeURIComponent(job.id)}/rerun`, { method: "POST" });
          navigate(`/dashboard/jobs/${encodeURIComponent(again.id)}`);
        }),
      }, "Run again"),
      playable() ? h("a", { class: "button", href: job.video_url, download: `${job.id}.mp4` }, "Download") : null,
      playable() && hdUrl() ? h("a", { class: "button", href: hdUrl(), download: `${job.id}.hd.mp4` }, "Download HD") : null,
      h("button", {
        type: "button",
        class: "danger subtle",
        onclick: (event) => act(event, async () => {
          const what = isImageJob(job) ? "its images" : "its video";
          if (!confirm(`Delete job ${job.id} and ${what}? This cannot be undone.`)) return;
          // DELETE /jobs/{id} deletes a job of any kind, image jobs too.
          await api(`/jobs/${encodeURIComponent(job.id)}`, { method: "DELETE" });
          navigate("/dashboard");
        }),
      }, "Delete"),
    );
    drawMedia();
    drawAskedMade();
    const produced = isImageJob(job)
      ? imagesProduced()
      : job.produced
      ? [job.produced.width && `${job.produced.width}×${job.produced.height}`, job.produced.seconds && duration(job.produced.seconds), job.produced.fps && `${job.produced.fps} fps`, bytes(job.video_size)].filter(Boolean).join(" · ")
      : "—";
    const rows = [
      ["Id", h("span", { class: "mono" }, job.id)],
      ["Produced", produced],
      ["Model", userText(job.model)],
      ["Error", job.error ? h("span", {}, h("code", {}, job.error_code || "error"), " ", userText(job.error)) : "—"],
      ["Created", when(job.created)],
      ["Claimed", when(job.claimed_at)],
      ["Finished", when(job.completed_at)],
      ["Queue wait", job.claimed_at ? duration(job.claimed_at - job.created) : "—"],
      ["Generation", job.claimed_at && job.completed_at ? duration(job.completed_at - job.claimed_at) : "—"],
      ["Worker", job.worker_id ? userText(job.worker_id) : "—"],
      ["Attempts", job.max_attempts ? `${job.attempts} of at most ${job.max_attempts}` : String(job.attempts)],
      ["API", `${job.dialect} · ${job.kind}`],
    ];
    if (isImageJob(job)) rows.splice(1, 0, ["Media", `image · ${job.n} asked`]);
    if (job.source_job_id) {
      rows.push(["Source", link(`/dashboard/jobs/${encodeURIComponent(job.source_job_id)}`, h("span", { class: "mono" }, job.source_job_id))]);
    }
    if (job.grok_post_id) rows.push(["Grok post", h("span", { class: "mono grok-post" }, userText(job.grok_post_id))]);
    if (job.segments) rows.push(["Segments", segmentsView(job)]);
    if (job.parent_id) {
      rows.push(["Long video", link(`/dashboard/jobs/${encodeURIComponent(job.parent_id)}`, h("span", { class: "mono" }, job.parent_id))]);
    }
    put(facts, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    drawAttempts();
  }

  // A long video's steps (docs/long-videos.md): each segment's prompt, seconds, state, place in the joined video,
  // and its own job and video.
  function segmentsView(job) {
    const span = (s) => (s.start != null && s.end != null ? `${s.start.toFixed(1)}–${s.end.toFixed(1)} s` : "—");
    return h("table", { class: "segments" },
      h("thead", {}, h("tr", {}, ["#", "Prompt", "Seconds", "State", "In the video", "Step"].map((t) => h("th", {}, t)))),
      h("tbody", {}, job.segments.map((s) =>
        h("tr", { class: s.status, dataset: { segment: String(s.index) } },
          h("td", {}, String(s.index + 1)),
          h("td", {}, userText(s.prompt)),
          h("td", {}, String(s.seconds)),
          h("td", {}, s.status === "processing" ? `processing ${s.progress} %` : s.status),
          h("td", {}, span(s)),
          h("td", {},
            s.job_id ? link(`/dashboard/jobs/${encodeURIComponent(s.job_id)}`, h("span", { class: "mono" }, s.job_id)) : "—",
            s.video_url ? h("span", {}, " · ", h("a", { href: s.video_url, download: `${s.job_id}.mp4` }, "video")) : null)))));
  }

  // Every attempt that ended (docs/retries.md): who tried, when, and how it ended; hidden until one ended.
  function drawAttempts() {
    const history = job.attempt_history || [];
    tries.hidden = !history.length;
    if (!history.length) return put(tries);
    put(tries,
      h("h2", {}, "Attempts"),
      h("table", { class: "attempts" },
        h("thead", {}, h("tr", {}, ["#", "Worker", "Started", "Ended", "Outcome", "Why"].map((t) => h("th", {}, t)))),
        h("tbody", {}, history.map((a) =>
          h("tr", { class: a.outcome, dataset: { attempt: String(a.attempt) } },
            h("td", {}, String(a.attempt)),
            h("td", { class: "mono" }, a.worker_id ? userText(a.worker_id) : "—"),
            h("td", {}, when(a.started_at)),
            h("td", {}, when(a.ended_at)),
            h("td", {}, a.outcome === "retried" ? "failed, retried" : a.outcome),
            h("td", {}, a.code ? h("span", {}, h("code", {}, a.code), " ", userText(a.message || "")) : "—"))))));
  }

  function imagesProduced() {
    const images = job.images || [];
    if (!images.length) return "—";
    const sizes = [...new Set(images.map((i) => (i.width ? `${i.width}×${i.height}` : null)).filter(Boolean))];
    const total = images.reduce((sum, i) => sum + (i.bytes || 0), 0);
    return [images.length === 1 ? "1 image" : `${images.length} images`, shortfall(job), ...sizes, bytes(total)].filter(Boolean).join(" · ");
  }

  // One row per parameter the client sent (in its own words: seconds, size, ...) and per option it left out,
  // with what will be made of it; adjusted rows are marked and each adjustment's message is listed below.
  function drawAskedMade() {
    // The prompt is the page's title; here it would only repeat it.
    const requested = Object.fromEntries(Object.entries(job.requested || {}).filter(([name]) => name !== "prompt"));
    const options = job.options || {};
    const adjustments = [...(job.adjustments || [])];
    const made = (job.images || []).length;
    if (shortfall(job) && !adjustments.some((a) => a.param === "n")) {
      adjustments.push({ param: "n", requested: job.n, made, message: `The worker made ${made} of the ${job.n} images asked` });
    }
    const adjusted = new Map(adjustments.map((a) => [a.param, a]));
    const covers = { size: ["aspect_ratio", "resolution"], seconds: ["duration"] };
    const said = new Set(Object.keys(requested).flatMap((name) => [name, ...(covers[name] || [])]));
    const madeOf = (name, value) => {
      if (adjusted.has(name)) return adjusted.get(name).made;
      if (name in options) return options[name];
      if (name === "seconds" && options.duration != null) return String(options.duration);
      return value; // kept as sent (a size made exactly, the model name)
    };
    const rows = [
      ...Object.entries(requested).map(([name, value]) => [name, value, madeOf(name, value)]),
      ...adjustments.filter((a) => !(a.param in requested)).map((a) => [a.param, a.requested, a.made]),
      ...(isImageJob(job) ? ["aspect_ratio"] : OPTION_NAMES).filter((name) => !said.has(name)).map((name) => [name, undefined, options[name]]),
    ];
    const cell = (value, missing) =>
      value === undefined || value === null
        ? h("td", { class: "muted" }, missing)
        : h("td", {}, userText(typeof value === "object" ? JSON.stringify(value) : String(value)));
    put(asked,
      h("h2", {}, "Asked / Made"),
      h("table", { class: "asked-made" },
        h("thead", {}, h("tr", {}, h("th", {}, "Option"), h("th", {}, "Asked"), h("th", {}, "Made"))),
        h("tbody", {}, rows.map(([name, value, made]) =>
          h("tr", { class: adjusted.has(name) ? "adjusted" : null, dataset: { param: name } },
            h("th", { scope: "row" }, name),
            cell(value, "not asked"),
            cell(made, "the page's setting"))))),
      adjustments.length
        ? h("ul", { class: "adjustments" }, adjustments.map((a) => h("li", {}, a.message)))
        : h("p", { class: "muted" }, Object.keys(requested).length ? "Everything asked is made as asked." : "No options were asked for."),
    );
  }

  function drawMedia() {
    const parts = [];
    if (job.has_image) {
      // The image needs the API key, so it is fetched (once) and shown from a blob: URL.
      const img = h("img", { alt: "Input image", class: "input-image" });
      if (imageUrl) img.src = imageUrl;
      else if (!imageLoading) {
        imageLoading = true;
        api(`/jobs/${encodeURIComponent(job.id)}/image`, { raw: true, headers: { Accept: "image/*" } })
          .then((reply) => reply.blob())
          .then((blob) => {
            if (left) return;
            imageUrl = URL.createObjectURL(blob);
            for (const shown of media.querySelectorAll("img.input-image")) shown.src = imageUrl;
          })
          .catch(() => {
            for (const shown of media.querySelectorAll("img.input-image")) {
              shown.replaceWith(h("p", { class: "muted" }, "The input image could not be loaded."));
            }
          });
      }
      parts.push(h("figure", {}, img, h("figcaption", {}, isImageJob(job) ? "Source image" : "Input image")));
    }
    if (isImageJob(job)) {
      parts.push(imageGrid());
      put(media, ...parts);
      return;
    }
    if (playable()) {
      // Keep the same element across refreshes so playback is not interrupted.
      if (!shownVideo) {
        shownVideo = h("video", { controls: true, preload: "metadata", playsInline: true, loop: true, src: job.video_url });
      }
      const label = h("span", {}, showingHd ? "Result (HD)" : "Result");
      const toggle = hdUrl()
        ? h("button", {
          type: "button",
          class: "subtle",
          onclick: () => {
            showingHd = !showingHd;
            shownVideo.src = showingHd ? hdUrl() : job.video_url;
            toggle.textContent = showingHd ? "Show standard" : "Show HD";
            label.textContent = showingHd ? "Result (HD)" : "Result";
          },
        }, showingHd ? "Show standard" : "Show HD")
        : null;
      parts.push(h("figure", {}, shownVideo, h("figcaption", {}, label, toggle ? " " : null, toggle)));
    } else if (job.video_expired) {
      parts.push(h("p", { class: "muted" }, "The video expired and was deleted."));
    }
    put(media, ...parts);
  }

  // The grid of an image job's images: each opens the viewer, each has its download link.
  function imageGrid() {
    const images = job.images || [];
    if (!images.length) {
      if (job.status !== "completed") return null;
      return h("p", { class: "muted" }, job.video_expired ? "The images expired and were deleted." : "No images were made.");
    }
    const key = images.map((i) => `${i.index}:${i.bytes}:${i.content_type}`).join(",") + `|${shortfall(job)}`;
    if (shownImages && key === shownImagesKey) return shownImages;
    const count = images.length;
    const made = shortfall(job);
    shownImagesKey = key;
    shownImages = h("section", { class: "images", "aria-label": "Images" },
      h("h2", {}, count === 1 ? "1 image" : `${count} images`, made ? h("span", { class: "made" }, made) : null),
      h("ul", { class: "image-grid" }, images.map((image, i) =>
        h("li", { dataset: { index: image.index } },
          h("figure", {},
            h("button", {
              type: "button",
              class: "open-image",
              "aria-label": `Open image ${i + 1} of ${count}`,
              onclick: () => viewer.open(job, images, i, () => shownImages.querySelectorAll("button.open-image")),
            }, h("img", { src: image.url, alt: "", loading: "lazy", decoding: "async" })),
            h("figcaption", {},
              h("span", {}, [image.width ? `${image.width}×${image.height}` : null, bytes(image.bytes)].filter(Boolean).join(" · ")),
              h("a", { href: image.url, download: imageFileName(job, image), "aria-label": `Download image ${i + 1}` }, "Download")))))));
    return shownImages;
  }

  show(
    link("/dashboard", "← All jobs"),
    h("h1", { class: "prompt-title" }, "Loading…"),
    status,
    actions,
    warnings,
    message,
    notice,
    media,
    asked,
    facts,
    tries,
  );
  load().then(() => {
    const title = main.querySelector(".prompt-title");
    if (job && title && !left) put(title, userText(job.prompt));
  });
  const stop = onLive((_stats, changed) => {
    if (failed || (changed && job && (job.status === "pending" || job.status === "processing"))) load();
  });
  return () => {
    left = true;
    stop();
    viewer.remove();
    if (imageUrl) URL.revokeObjectURL(imageUrl);
  };
}

function imageFileName(job, image) {
  return `${job.id}-${image.index}.${EXTENSIONS[image.content_type] || "png"}`;
}

// ---- the image viewer (a lightbox) ----------------------------------------------------------------
// A modal <dialog>: the browser keeps focus inside it and closes it on Escape; the arrow keys move between
// the images; on closing, focus goes back to the thumbnail of the image last shown.

function imageViewer() {
  let images = [];
  let index = 0;
  let current = null;
  let thumbnails = () => [];
  const counter = h("span", { class: "counter", "aria-live": "polite" });
  const caption = h("span", { class: "caption" });
  const picture = h("img", { alt: "" });
  const download = h("a", { class: "button" }, "Download");
  const close = h("button", { type: "button", class: "close", "aria-label": "Close" }, "✕");
  const previous = h("button", { type: "button", class: "step previous", "aria-label": "Previous image" }, "‹");
  const next = h("button", { type: "button", class: "step next", "aria-label": "Next image" }, "›");
  const frame = h("figure", {}, picture);
  const stage = h("div", { class: "stage" }, previous, frame, next);
  const dialog = h("dialog", { class: "lightbox", "aria-label": "Image viewer" },
    h("div", { class: "viewer-bar" }, counter, caption, download, close),
    stage);

  function show(at) {
    index = (at + images.length) % images.length;
    const image = images[index];
    picture.src = image.url;
    picture.alt = `Image ${index + 1} of ${images.length}`;
    counter.textContent = `${index + 1} of ${images.length}`;
    download.href = image.url;
    download.download = imageFileName(current, image);
    previous.hidden = next.hidden = images.length < 2;
  }

  close.addEventListener("click", () => dialog.close());
  previous.addEventListener("click", () => show(index - 1));
  next.addEventListener("click", () => show(index + 1));
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      show(index + (event.key === "ArrowLeft" ? -1 : 1));
    }
  });
  // A click beside the image (on the backdrop, or the dark space around it) closes it.
  dialog.addEventListener("click", (event) => [dialog, stage, frame].includes(event.target) && dialog.close());
  dialog.addEventListener("close", () => {
    picture.removeAttribute("src");
    const thumbnail = thumbnails()[index];
    if (thumbnail) thumbnail.focus();
  });
  document.body.append(dialog);

  return {
    open(job, shown, at, findThumbnails) {
      current = job;
      images = shown;
      put(caption, userText(job.prompt));
      thumbnails = findThumbnails;
      show(at);
      if (!dialog.open) dialog.showModal();
      close.focus();
    },
    remove() {
      if (dialog.open) dialog.close();
      dialog.remove();
    },
  };
}

// ---- new job: a video or images -------------------------------------------------------------------

// A long video's segments (docs/long-videos.md): rows of a prompt and seconds, made in this order. `changed` runs
// whenever rows come or go or their seconds change.
function segmentsEditor(changed) {
  let entries = [];
  const rows = h("ol", { class: "segment-rows" });
  const total = h("p", { class: "segment-total", "aria-live": "polite" });
  const add = h("button", { type: "button", onclick: () => addRow() }, "Add segment");

  function addRow() {
    const entry = {
      title: h("span"),
      prompt: h("input", { type: "text", maxlength: 4000, placeholder: "Empty: the prompt above" }),
      seconds: h("input", {
        type: "number", min: SEGMENT_SECONDS.min, max: SEGMENT_SECONDS.max, step: 1, required: true,
        value: SEGMENT_SECONDS.initial, oninput: () => update(),
      }),
      remove: h("button", { type: "button", class: "link", onclick: () => removeRow(entry) }, "Remove"),
    };
    entry.row = h("li", { class: "segment" },
      h("label", { class: "segment-prompt" }, entry.title, entry.prompt),
      h("label", { class: "segment-seconds" }, "Seconds", entry.seconds),
      entry.remove);
    entries.push(entry);
    rows.append(entry.row);
    update();
    entry.prompt.focus();
  }

  function removeRow(entry) {
    entries = entries.filter((e) => e !== entry);
    entry.row.remove();
    update();
    add.focus();
  }

  const seconds = () => entries.reduce((sum, e) => sum + (Number(e.seconds.value) || 0), 0);

  function update(notify = true) {
    entries.forEach((e, i) => {
      e.title.textContent = `Segment ${i + 1}`;
      e.prompt.setAttribute("aria-label", `Segment ${i + 1} prompt`);
      e.seconds.setAttribute("aria-label", `Segment ${i + 1} seconds`);
      e.remove.setAttribute("aria-label", `Remove segment ${i + 1}`);
    });
    add.disabled = entries.length >= MAX_SEGMENTS;
    total.hidden = !entries.length;
    total.classList.toggle("over", seconds() > MAX_CHAIN_SECONDS);
    total.textContent = `${entries.length} of at most ${MAX_SEGMENTS} segments · ${seconds()} s of at most ` +
      `${MAX_CHAIN_SECONDS} s in all`;
    if (notify) changed();
  }

  update(false);
  return {
    node: h("fieldset", { class: "segments" },
      h("legend", {}, "Segments"),
      h("p", { class: "muted hint" },
        "Optional: a prompt for each part of a long video, made in order as a chain of Grok extends and joined ",
        "into one MP4. They replace the duration; the prompt above still names the video. ",
        "Each segment becomes the nearest length a worker makes (6 or 10 s with Grok)."),
      rows,
      h("div", { class: "row" }, add, total)),
    count: () => entries.length,
    seconds,
    values: () => entries.map((e) => ({ prompt: e.prompt.value, seconds: Number(e.seconds.value) })),
    // Marks the row a refusal names (`param` "segments[1].prompt"); returns its index, or null.
    mark(param) {
      const found = /^segments\[(\d+)\]/.exec(param || "");
      const index = found && Number(found[1]) < entries.length ? Number(found[1]) : null;
      entries.forEach((e, i) => {
        e.row.classList.toggle("invalid", i === index);
        if (i === index) e.row.setAttribute("aria-invalid", "true");
        else e.row.removeAttribute("aria-invalid");
      });
      return index;
    },
  };
}

function newPage() {
  let image = null;
  // Which media the form makes: from the address (/dashboard/new?media=image), kept there as it changes.
  let kind = new URLSearchParams(location.search).get("media") === "image" ? "image" : "video";
  const select = (name, values, initial, text = (v) => v) =>
    h("select", { name }, values.map((v) => h("option", { value: String(v), selected: String(v) === String(initial) }, text(v))));
  const title = h("h1");
  const prompt = h("textarea", { name: "prompt", rows: 4, required: true, maxlength: 4000, placeholder: "A cat playing piano in a jazz club, warm light" });
  const file = h("input", { type: "file", accept: IMAGE_TYPES.join(","), hidden: true, "aria-label": "Image file" });
  const preview = h("div", { class: "preview" });
  const dropText = h("span", { class: "muted" });
  const drop = h("div", { class: "drop", tabindex: 0, role: "button", "aria-label": "Add an image" },
    h("strong", {}, "Drop an image here"), dropText);
  const imageLabel = h("span", { class: "label" });
  const options = h("div", { class: "grid" });
  const hint = h("p", { class: "muted hint" });
  // The video's own fields, made once so that they keep their values when the form switches media and back.
  const duration = select("duration", DURATIONS, 6, (v) => `${v} s`);
  duration.addEventListener("change", () => syncLength());
  const upscale = h("input", { type: "checkbox", name: "upscale" });
  const upscaleNote = h("span", { class: "muted" });
  const segments = segmentsEditor(() => syncLength());
  const videoExtra = h("div", { class: "video-extra" });
  const message = h("div");
  const submit = h("button", { type: "submit", class: "primary" });
  const chooser = h("div", { class: "segmented", role: "radiogroup", "aria-label": "Make" },
    ["video", "image"].map((value) =>
      h("label", {},
        h("input", { type: "radio", name: "media", value, checked: value === kind, onchange: () => choose(value) }),
        h("span", {}, icon(value), value === "video" ? "Video" : "Image"))));

  // Only the chosen media's fields are in the form, so each label names one control.
  function choose(value) {
    kind = value;
    const params = new URLSearchParams(location.search);
    if (kind === "image") params.set("media", "image");
    else params.delete("media");
    history.replaceState(null, "", "/dashboard/new" + (params.size ? "?" + params : ""));
    title.textContent = kind === "image" ? "New images" : "New video";
    submit.textContent = kind === "image" ? "Create images" : "Create video";
    if (kind === "image") {
      imageLabel.textContent = "Source image";
      dropText.textContent = " or click to choose (PNG, JPEG or WebP, up to 10 MB) — optional: the images are then edits of it";
      put(options,
        h("label", {}, "Count", select("n", IMAGE_COUNTS, 4)),
        h("label", {}, "Aspect ratio", select("aspect_ratio", IMAGE_ASPECTS, "1:1")));
      put(hint, "Grok Imagine makes images in 1:1, 16:9, 9:16, 3:2 and 2:3, up to 10 a job. ",
        "An edit starts from the source image; the job page shows what was made.");
    } else {
      imageLabel.textContent = "Image";
      dropText.textContent = " or click to choose (PNG, JPEG or WebP, up to 10 MB) — optional";
      put(options,
        h("label", {}, "Aspect ratio", select("aspect_ratio", ASPECTS, "16:9")),
        h("label", {}, "Duration", duration),
        h("label", {}, "Resolution", select("resolution", RESOLUTIONS, "720p")),
        h("label", {}, "Preset", select("mode", PRESETS, "normal")));
      put(hint, "Grok Imagine makes 6 or 10 second videos in 2:3, 3:2, 1:1, 9:16 and 16:9; ",
        "other values become the nearest a worker can make, and the job page shows what will be made. ",
        `Longer than ${SINGLE_SECONDS} s is made as a chain of Grok extends joined into one MP4 when a connected `,
        "worker can extend videos (past 15 s also while no worker is connected, the extends then waiting for one); ",
        "otherwise as the nearest single length, and the job page says so.");
    }
    videoExtra.hidden = kind === "image";
    if (kind === "image") put(videoExtra);
    else {
      const hd = h("div", { class: "upscale" }, h("label", { class: "inline" }, upscale, "HD upscale"), upscaleNote);
      put(videoExtra, hd, segments.node);
      syncLength();
    }
  }

  // Grok upscales one generation's post: the server refuses HD for a long video (chains.py refuse_hd), so the
  // form does not offer it. Segments set the length themselves.
  function syncLength() {
    duration.disabled = segments.count() > 0;
    const long = segments.count() > 0 || Number(duration.value) > SINGLE_SECONDS;
    upscale.disabled = long;
    if (long) upscale.checked = false;
    upscaleNote.textContent = long
      ? `Not for a long video (over ${SINGLE_SECONDS} s, or segments): HD upscales a single generation.`
      : "Grok's HD upscale of the finished video; the job waits for a worker that can upscale.";
  }

  function useFile(chosen) {
    put(message);
    if (!chosen) return;
    if (!IMAGE_TYPES.includes(chosen.type)) {
      put(message, problem(new Error(`${chosen.name} is not a PNG, JPEG or WebP image`)));
      return;
    }
    const reader = new FileReader();
    reader.onload = () => {
      image = { file: chosen, name: chosen.name, dataUrl: reader.result };
      put(preview,
        h("img", { src: reader.result, alt: "Chosen image" }),
        h("span", {}, `${chosen.name} (${bytes(chosen.size)})`),
        h("button", { type: "button", class: "link", onclick: () => { image = null; file.value = ""; put(preview); } }, "Remove"),
      );
    };
    reader.readAsDataURL(chosen);
  }

  drop.addEventListener("click", () => file.click());
  drop.addEventListener("keydown", (event) => (event.key === "Enter" || event.key === " ") && file.click());
  file.addEventListener("change", () => useFile(file.files[0]));
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    useFile(event.dataTransfer.files[0]);
  });

  const form = h("form", { class: "panel create" },
    chooser,
    h("label", {}, "Prompt", prompt),
    h("div", { class: "field" }, imageLabel, drop, file, preview),
    options,
    hint,
    videoExtra,
    h("div", { class: "row" }, submit),
    message);

  // Video: JSON to /v1/videos/generations, answered at once with the queued job. With segments the body has
  // `segments` instead of `duration` (the disabled select is not in the form data).
  function videoRequest(data) {
    const body = {
      prompt: String(data.get("prompt") || ""),
      aspect_ratio: data.get("aspect_ratio"),
      resolution: data.get("resolution"),
      mode: data.get("mode"),
    };
    if (segments.count()) body.segments = segments.values();
    else body.duration = Number(data.get("duration"));
    if (data.get("upscale")) body.upscale = true;
    if (image) body.image = image.dataUrl;
    return api("/v1/videos/generations", { method: "POST", json: body });
  }

  // Images: the Images API would wait for the worker; `Prefer: respond-async` has it answer 202 with the job.
  function imageRequest(data) {
    const headers = { Prefer: "respond-async" };
    const prompt = String(data.get("prompt") || "");
    const n = Number(data.get("n"));
    if (image) {
      const body = new FormData();
      body.append("image", image.file, image.name);
      body.append("prompt", prompt);
      body.append("n", String(n));
      body.append("aspect_ratio", String(data.get("aspect_ratio")));
      body.append("response_format", "url");
      return api("/v1/images/edits", { method: "POST", headers, body });
    }
    const json = { prompt, n, aspect_ratio: data.get("aspect_ratio"), response_format: "url" };
    return api("/v1/images/generations", { method: "POST", headers, json });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    put(message);
    segments.mark(null);
    if (kind === "video" && segments.seconds() > MAX_CHAIN_SECONDS) {
      const text = `The segments add up to ${segments.seconds()} s; a long video is at most ${MAX_CHAIN_SECONDS} s`;
      put(message, problem(new Error(text)));
      return;
    }
    const data = new FormData(form);
    const label = submit.textContent;
    submit.disabled = true;
    submit.textContent = "Creating…";
    try {
      const job = await (kind === "image" ? imageRequest(data) : videoRequest(data));
      navigate(`/dashboard/jobs/${encodeURIComponent(job.id)}`);
    } catch (error) {
      // A refused segment is named by its `param` ("segments[1].prompt"): the message says which row.
      const row = kind === "video" ? segments.mark(error.param) : null;
      put(message, problem(row === null ? error : new Error(`Segment ${row + 1}: ${error.message}`)));
      submit.disabled = false;
      submit.textContent = label;
    }
  });

  choose(kind);
  show(title, form);
  prompt.focus();
  return () => {};
}

// ---- workers ------------------------------------------------------------------------------------

function workersPage() {
  const list = h("div", { class: "workers" });
  const note = h("p", { class: "muted" });

  async function load() {
    try {
      const workers = await api("/workers");
      const within = workers.online_within_seconds;
      note.textContent = `Workers seen in the last ${Math.round(workers.seen_within_seconds)} s. Online: inside a long poll ` +
        `now, or in contact within the last ${Math.round(within.idle)} s (${Math.round(within.busy)} s while holding a job).`;
      if (!workers.data.length) {
        put(list, h("p", { class: "empty" }, "No worker is connected. Install the Chrome extension (see the README) or run ",
          h("code", {}, "grok-imagine-api worker --demo"), "."));
        return;
      }
      put(list, ...workers.data.map(card));
    } catch (error) {
      put(list, problem(error));
    }
  }

  // With API keys, the server names only the caller's own jobs: a worker busy with another key's job has none.
  function currentWork(worker) {
    if (worker.current_job_id) {
      return h("div", { class: "current" }, "Working on ", link(`/dashboard/jobs/${encodeURIComponent(worker.current_job_id)}`, h("span", { class: "mono" }, worker.current_job_id)),
        worker.current_job_progress !== null ? progressBar(worker.current_job_progress) : null);
    }
    const labels = {
      busy: "Working on another key's job",
      waiting: "Waiting for a job",
      idle: "Idle",
      offline: `Offline: last contact ${ago(worker.last_seen)}`,
    };
    return h("div", { class: "current muted" }, labels[worker.state] || worker.state);
  }

  function errorItem(e) {
    const when = h("span", { class: "muted" }, ago(e.at));
    if (e.job_id === null) return h("li", {}, h("code", {}, e.code), " ", h("span", { class: "muted" }, "on another key's job · "), when);
    return h("li", {}, h("code", {}, e.code), " ", userText(e.message), " ", when, h("span", { class: "muted" }, " · "),
      link(`/dashboard/jobs/${encodeURIComponent(e.job_id)}`, "job"));
  }

  function card(worker) {
    const errors = worker.recent_errors.length
      ? h("ul", { class: "errors" }, worker.recent_errors.map(errorItem))
      : h("p", { class: "muted" }, "No recent errors");
    return h("article", { class: `panel worker ${worker.state}`, dataset: { worker: worker.client_id } },
      h("header", {}, h("h2", { class: "mono" }, userText(worker.client_id)), h("span", { class: `badge ${worker.state}` }, worker.state)),
      h("dl", { class: "facts" },
        h("dt", {}, "Version"), h("dd", {}, worker.version ? userText(worker.version) : "unknown"),
        h("dt", {}, "Last contact"), h("dd", { title: when(worker.last_seen) }, ago(worker.last_seen)),
        h("dt", {}, "Connected since"), h("dd", {}, when(worker.first_seen)),
        h("dt", {}, "Jobs"), h("dd", {}, `${worker.jobs_claimed} claimed · ${worker.jobs_completed} completed · ${worker.jobs_failed} failed`)),
      currentWork(worker),
      cooldownView(worker),
      h("h3", {}, "Abilities"),
      abilitiesView(worker.abilities),
      h("h3", {}, "Recent errors"),
      errors);
  }

  // A worker Grok rate-limited takes no job until its rest ends (docs/retries.md).
  function cooldownView(worker) {
    if (!worker.cooldown_until) return null;
    return h("p", { class: "cooldown" },
      `Resting after a rate limit until ${when(worker.cooldown_until)}`,
      worker.cooldown_reason ? h("span", { class: "muted" }, " · ", userText(worker.cooldown_reason)) : null);
  }

  function abilitiesView(abilities) {
    if (!abilities) return h("p", { class: "muted abilities" }, "not declared (plain generation only)");
    const list = (values, unit = "") => (values && values.length ? values.map((v) => `${v}${unit}`).join(", ") : "none");
    const rows = [
      ["Kinds", list(abilities.kinds)],
      ["Sources", list(abilities.sources)],
      ["Durations", list(abilities.durations, " s")],
      ["Aspect ratios", list(abilities.aspect_ratios)],
      ["Resolutions", list(abilities.resolutions)],
      ["Presets", list(abilities.presets)],
      ["Features", list(abilities.features)], // upscale: Grok's HD upscale (docs/hd.md)
    ];
    return h("dl", { class: "facts abilities" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { dataset: { ability: k } }, v)]));
  }

  show(h("h1", {}, "Workers"), note, list);
  load();
  return onLive(() => load());
}

// ---- webhooks: the delivery log (docs/webhooks.md) ------------------------------------------------

function webhooksPage() {
  const note = h("p", { class: "muted" });
  const body = h("div");

  function attemptText(a) {
    const answer = a.status_code !== null ? `HTTP ${a.status_code}` : a.error;
    return `#${a.attempt} ${when(a.at)}: ${answer} (${a.latency_ms} ms)`;
  }

  function row(d) {
    const last = d.last_status_code !== null ? `HTTP ${d.last_status_code}` : d.last_error || "—";
    let next = "—";
    if (d.status === "delivered") next = `delivered ${ago(d.delivered_at)}`;
    else if (d.status === "failed") next = `gave up ${ago(d.failed_at)}`;
    else if (d.next_attempt_at) next = `next try ${when(d.next_attempt_at)}`;
    return h("tr", { dataset: { delivery: d.id }, title: d.log.map(attemptText).join("\n") },
      h("td", {}, h("code", {}, d.type)),
      h("td", { class: "mono" }, link(`/dashboard/jobs/${encodeURIComponent(d.job_id)}`, d.job_id)),
      h("td", {}, userText(d.host || "—"), d.endpoint === "key" ? h("span", { class: "muted" }, " · key") : null),
      h("td", {}, h("span", { class: `badge ${d.status}` }, d.status)),
      h("td", { class: "num" }, String(d.attempts)),
      h("td", {}, d.last_error && d.last_status_code === null ? userText(last) : last),
      h("td", { class: "num" }, d.last_latency_ms !== null ? `${d.last_latency_ms} ms` : "—"),
      h("td", {}, next));
  }

  async function load() {
    try {
      const log = await api("/webhooks/deliveries?limit=100");
      note.textContent = log.configured
        ? `${log.pending} waiting to be sent. Hover a row for every attempt.`
        : "No webhook endpoint is set (WEBHOOK_URL, or a key's own in API_KEYS_FILE).";
      if (!log.data.length) {
        put(body, h("p", { class: "empty" }, "No deliveries yet."));
        return;
      }
      const head = ["Event", "Job", "Endpoint", "Status", "Attempts", "Last answer", "Latency", "Next / done"];
      put(body, h("table", { class: "deliveries" },
        h("thead", {}, h("tr", {}, head.map((name) => h("th", {}, name)))),
        h("tbody", {}, log.data.map(row))));
    } catch (error) {
      put(body, problem(error));
    }
  }

  show(h("h1", {}, "Webhooks"), note, body);
  load();
  return onLive(() => load());
}

render();
