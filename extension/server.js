// The grok-imagine-api worker protocol, as the service worker speaks it (README "Worker protocol").

export const DEFAULT_SETTINGS = {
  serverUrl: "http://localhost:8000",
  token: "",
  clientId: "",
  generationTimeoutSeconds: 300,
  stallTimeoutSeconds: 120,
};

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

  async json(path, body) {
    const reply = await this.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    return reply.json();
  }

  async hello() {
    return (await this.request("/extension/hello")).json();
  }

  // The claimed job, or null when the long poll ended without one (204).
  async poll(waitSeconds, signal) {
    const query = new URLSearchParams({
      client_id: this.clientId,
      version: `extension/${chrome.runtime.getManifest().version}`,
      mode: "video",
      wait: String(waitSeconds),
    });
    const reply = await this.request(`/extension/poll?${query}`, { signal });
    return reply.status === 204 ? null : reply.json();
  }

  progress(jobId, claimToken, progress) {
    return this.json("/extension/progress", { job_id: jobId, claim_token: claimToken, progress });
  }

  error(jobId, claimToken, code, message) {
    return this.json("/extension/error", { job_id: jobId, claim_token: claimToken, code, error: message });
  }

  async complete(jobId, claimToken, video) {
    const form = new FormData();
    form.append("job_id", jobId);
    form.append("claim_token", claimToken);
    form.append("video", video, `${jobId}.mp4`);
    const signal = AbortSignal.timeout(600000);
    return (await this.request("/extension/complete", { method: "POST", body: form, signal })).json();
  }
}
