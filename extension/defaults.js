// Settings a fresh install starts with: read by the service worker, the popup and the settings page.
export const DEFAULT_SETTINGS = Object.freeze({
  serverUrl: "http://localhost:8000",
  token: "",
  clientId: "",
  generationTimeoutSeconds: 300,
  stallTimeoutSeconds: 120,
});
