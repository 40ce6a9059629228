// The grok-imagine-api worker protocol, as the service worker speaks it (docs/worker-protocol.md).
import { DEFAULT_SETTINGS } from "./defaults.js";

const IMAGE_EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp" };

// The server answered with an error envelope; `status` and `code` say which.
export class ServerError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Server {
  constructor(settings) {
    this.base = String(settings.serverUrl || DEFAULT_SETTINGS.serverUrl).replace(/\/+$/, "");
    this.token = settings.token || "";
    this.clientId = settings.clientId || "grok-ext";
    this.version = `extension/${chrome.runtime.getManifest().version}`;
  }

  async request(path, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const reply = await fetch(`${this.base}${path}`, { ...init, headers, cache: "no-store" });
    if (reply.ok) return reply;
    let code = null;
    let message = `HTTP ${reply.status}`;
    try {
      const body = await reply.json();
      code = body.error?.code ?? null;
      message = body.error?.message || message;
    } catch {
      // not the server's envelope: keep the status line
    }
    throw new ServerError(reply.status, code, message);
  }

  post(path, body, signal) {
    return this.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal,
    });
  }

  async json(path, body) {
    return (await this.post(path, body)).json();
  }

  async hello() {
    return (await this.request("/extension/hello")).json();
  }

  // The claimed job, or null when the long poll ended without one (204). With `abilities` (the lists of
  // docs/worker-protocol.md#abilities) the poll declares them and takes the jobs of `mode` ("video", or
  // "video,image" with the image kinds, docs/images.md); without, it is the plain GET every server knows.
  async poll(waitSeconds, signal, abilities = null, mode = "video") {
    let reply;
    if (abilities) {
      const body = { client_id: this.clientId, version: this.version, mode, wait: waitSeconds, abilities };
      reply = await this.post("/extension/poll", body, signal);
    } else {
      const query = new URLSearchParams({
        client_id: this.clientId,
        version: this.version,
        mode: "video",
        wait: String(waitSeconds),
      });
      reply = await this.request(`/extension/poll?${query}`, { signal });
    }
    return reply.status === 204 ? null : reply.json();
  }

  progress(jobId, claimToken, progress) {
    return this.json("/extension/progress", { job_id: jobId, claim_token: claimToken, progress });
  }

  error(jobId, claimToken, code, message) {
    // client_id: a rate limit rests this worker even when the job was no longer its own (docs/retries.md).
    return this.json("/extension/error", { job_id: jobId, claim_token: claimToken, client_id: this.clientId, code, error: message });
  }

  // `grokPostId`: the Grok post the video came from, when the page showed one; `hd`: the upscaled video of a job
  // that asked for HD (after job_id, as the server wants it).
  async complete(jobId, claimToken, video, grokPostId = null, hd = null) {
    const form = this.completion(jobId, claimToken, grokPostId);
    form.append("video", video, `${jobId}.mp4`);
    if (hd) form.append("video_hd", hd, `${jobId}.hd.mp4`);
    return this.send(form);
  }

  // An image job: one part named "image" per image ([{blob, type}]), in the page's order.
  async completeImages(jobId, claimToken, images, grokPostId = null) {
    const form = this.completion(jobId, claimToken, grokPostId);
    images.forEach(({ blob, type }, index) => form.append("image", blob, `${jobId}-${index}.${IMAGE_EXTENSIONS[type] || "png"}`));
    return this.send(form);
  }

  completion(jobId, claimToken, grokPostId) {
    const form = new FormData();
    form.append("job_id", jobId);
    form.append("claim_token", claimToken);
    if (grokPostId) form.append("grok_post_id", grokPostId);
    return form;
  }

  async send(form) {
    const signal = AbortSignal.timeout(600000);
    return (await this.request("/extension/complete", { method: "POST", body: form, signal })).json();
  }
}

// The answer to the settings page's "Test connection", in words.
export async function testConnection(settings) {
  try {
    const hello = await new Server(settings).hello();
    return { ok: true, message: `Connected to ${hello.service} ${hello.version} (${hello.queued} jobs queued)` };
  } catch (error) {
    if (error instanceof ServerError && error.status === 401) {
      return { ok: false, message: `The server refused the worker token (401): ${error.message}` };
    }
    if (error instanceof ServerError && error.status === 404) {
      return { ok: false, message: `${settings.serverUrl} answered but is not a grok-imagine-api server (404)` };
    }
    return { ok: false, message: `Cannot reach ${settings.serverUrl}: ${error.message}` };
  }
}
