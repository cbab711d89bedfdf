// What every screen of the web UI shares: building DOM as text only, and calling the HTTP API with the session.
//
// Safety: nothing that comes from a user, an LLM or a database is ever parsed as HTML. Every element is built with
// `el()`, which sets text with `textContent` and attributes with `setAttribute`; no module parses HTML (a unit test
// in ui.rs checks for the sinks).
// Tokens: the access token lives in this module's memory only; the refresh token is an HttpOnly cookie the page
// cannot read (sent only to /api/v1/auth/, with a header a cross-site page cannot set).

import { t } from "/ui/i18n.js";

export const CSRF = { "X-DataGenie-CSRF": "1" };

// The signed-in user, the connections they may use, their conversations.
export const state = { access: null, user: null, connections: [], sessions: [], session: null, busy: false };

// Called when the session has ended (set by the shell: it shows the sign-in screen).
export const hooks = { signedOut: () => {} };

// --- DOM, text only

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function show(...children) {
  document.getElementById("app").replaceChildren(...children);
}

// A labelled form field: [label, control] with the label pointing at the control.
export function field(id, label, control) {
  control.id = id;
  return [el("label", { for: id }, label), control];
}

// --- the API

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export async function failure(response) {
  let code = "internal";
  let message = response.statusText;
  try {
    const body = await response.json();
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch (_) {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, code, message, Number(response.headers.get("Retry-After")) || 0);
}

// Trades the refresh cookie for a new access token; false when there is no live session.
export async function refresh() {
  const r = await fetch("/api/v1/auth/refresh", { method: "POST", headers: CSRF, credentials: "same-origin" });
  if (!r.ok) return false;
  const body = await r.json();
  state.access = body.access_token;
  return true;
}

// A call with the access token; one refresh and retry when it has expired.
export async function api(path, options = {}, retried = false) {
  const headers = { ...(options.headers || {}) };
  if (state.access) headers.Authorization = `Bearer ${state.access}`;
  const init = { ...options, headers, credentials: "same-origin" };
  delete init.json;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (_) {
    throw new ApiError(0, "network", t("networkError"), 0);
  }
  if (response.status === 401 && !retried && (await refresh())) return api(path, options, true);
  if (response.status === 401) {
    state.access = null;
    hooks.signedOut(t("sessionExpired"));
    throw new ApiError(401, "unauthenticated", t("sessionExpired"), 0);
  }
  return response;
}

export async function apiJson(path, options) {
  const r = await api(path, options);
  if (!r.ok) throw await failure(r);
  return r.status === 204 ? null : r.json();
}

// A path with its query: values that are empty are left out, the rest encoded.
export function query(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// Saves what an API path returns as a file (the token goes in a header, never in a URL).
export async function download(path, filename) {
  const r = await api(path);
  if (!r.ok) throw await failure(r);
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

// A moment as the UI's language writes it.
export function when(iso, language) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso ?? "") : d.toLocaleString(language);
}
