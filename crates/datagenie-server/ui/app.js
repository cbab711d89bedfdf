// DataGenie's web UI: sign in, pick a connection, ask, watch the answer arrive. Plain ES module, no framework.
//
// Safety: nothing that comes from a user, an LLM or a database is ever parsed as HTML. Every element is built with
// `el()`, which sets text with `textContent` and attributes with `setAttribute`; there is no `innerHTML` here.
// Tokens: the access token lives in this module's memory only; the refresh token is an HttpOnly cookie the page
// cannot read (sent only to /api/v1/auth/, with a header a cross-site page cannot set).

import { LANGUAGES, lang, setLang, t } from "/ui/i18n.js";

const CSRF = { "X-DataGenie-CSRF": "1" };
// The error codes of a refusal (the guard's and the permissions'), shown as "Not allowed" rather than a failure.
const REFUSALS = new Set(["forbidden", "forbidden_table", "forbidden_column", "forbidden_function", "forbidden_construct",
  "data_modifying_query", "multiple_statements", "not_a_query", "into_clause", "locking_clause", "read_only_violation"]);
const PAGE_ROWS = 50;

const state = { access: null, user: null, connections: [], sessions: [], session: null, busy: false };

// --- DOM, text only

function el(tag, attrs = {}, ...children) {
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

function show(...children) {
  const app = document.getElementById("app");
  app.replaceChildren(...children);
}

// --- the API

class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

async function failure(response) {
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
async function refresh() {
  const r = await fetch("/api/v1/auth/refresh", { method: "POST", headers: CSRF, credentials: "same-origin" });
  if (!r.ok) return false;
  const body = await r.json();
  state.access = body.access_token;
  return true;
}

// A call with the access token; one refresh and retry when it has expired.
async function api(path, options = {}, retried = false) {
  const headers = { ...(options.headers || {}) };
  if (state.access) headers.Authorization = `Bearer ${state.access}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, { ...options, headers, credentials: "same-origin" });
  } catch (_) {
    throw new ApiError(0, "network", t("networkError"), 0);
  }
  if (response.status === 401 && !retried && (await refresh())) return api(path, options, true);
  if (response.status === 401) {
    state.access = null;
    signInScreen(t("sessionExpired"));
    throw new ApiError(401, "unauthenticated", t("sessionExpired"), 0);
  }
  return response;
}

async function apiJson(path, options) {
  const r = await api(path, options);
  if (!r.ok) throw await failure(r);
  return r.status === 204 ? null : r.json();
}

// --- screens

function languagePicker() {
  const select = el(
    "select",
    { id: "language", onchange: (e) => { setLang(e.target.value); render(); } },
    LANGUAGES.map(([code, name]) => el("option", { value: code, selected: code === lang() }, name)),
  );
  return el("label", { class: "language" }, t("language"), " ", select);
}

function signInScreen(message) {
  const email = el("input", { id: "email", type: "email", name: "email", autocomplete: "username", required: true });
  const password = el("input", {
    id: "password", type: "password", name: "password", autocomplete: "current-password", required: true,
  });
  const alert = el("p", { class: "alert", role: "alert", hidden: !message }, message || "");
  const button = el("button", { type: "submit" }, t("signIn"));
  const form = el(
    "form",
    { class: "signin", onsubmit: async (e) => {
      e.preventDefault();
      button.disabled = true;
      button.textContent = t("signingIn");
      try {
        await signIn(email.value, password.value);
        await mainScreen();
      } catch (err) {
        alert.hidden = false;
        alert.textContent = signInMessage(err);
        button.disabled = false;
        button.textContent = t("signIn");
        password.focus();
      }
    } },
    el("h1", {}, t("signInTitle")),
    alert,
    el("label", { for: "email" }, t("email")), email,
    el("label", { for: "password" }, t("password")), password,
    button,
  );
  show(el("header", { class: "bar" }, el("span", { class: "brand" }, "DataGenie"), languagePicker()), form);
  email.focus();
}

function signInMessage(err) {
  if (err.status === 429) return t("lockedOut", { s: err.retryAfter || 60 });
  if (err.status === 401) return t("wrongCredentials");
  return err.message || t("networkError");
}

async function signIn(email, password) {
  const r = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ email, password, session: "cookie" }),
  });
  if (!r.ok) throw await failure(r);
  state.access = (await r.json()).access_token;
}

async function signOut() {
  try {
    await api("/api/v1/auth/logout", { method: "POST", headers: CSRF });
  } finally {
    state.access = null;
    state.user = null;
    signInScreen();
  }
}

async function mainScreen() {
  state.user = await apiJson("/api/v1/me");
  const page = await apiJson("/api/v1/connections?limit=500");
  state.connections = page.items || [];
  await loadSessions();
  render();
}

async function loadSessions() {
  const page = await apiJson("/api/v1/sessions?limit=500");
  state.sessions = page.items || [];
}

function render() {
  if (!state.user) return signInScreen();
  const header = el(
    "header", { class: "bar" },
    el("span", { class: "brand" }, "DataGenie"),
    el("span", { class: "who" }, t("you", { name: state.user.username, role: state.user.role })),
    languagePicker(),
    el("button", { type: "button", class: "quiet", onclick: signOut }, t("signOut")),
  );
  show(header, askPanel());
}

// --- conversations: the sidebar, and a conversation's earlier turns

function sidebar(onOpen) {
  const list = el("ul", { class: "session-list" });
  const aside = el("nav", { class: "sessions", "aria-label": t("conversations") },
    el("h2", {}, t("conversations")),
    el("button", { type: "button", id: "new-conversation", onclick: () => onOpen(null) }, t("newConversation")),
    list);
  function draw() {
    if (state.sessions.length === 0) {
      list.replaceChildren(el("li", { class: "muted" }, t("noConversations")));
      return;
    }
    list.replaceChildren(...state.sessions.map((s) => {
      const title = s.title || t("untitled");
      const open = el("button", { type: "button", class: "session-title", "aria-current": s.id === state.session ? "true" : null,
        onclick: () => onOpen(s.id) }, title);
      const rename = el("button", { type: "button", class: "quiet", "aria-label": `${t("rename")}: ${title}`, onclick: () => {
        const input = el("input", { type: "text", value: s.title || "", "aria-label": t("renameTo"), maxlength: 200 });
        const form = el("form", { class: "rename", onsubmit: async (e) => {
          e.preventDefault();
          await apiJson(`/api/v1/sessions/${encodeURIComponent(s.id)}`, { method: "PATCH", json: { title: input.value.trim() || null } });
          await loadSessions();
          draw();
        } }, input, el("button", { type: "submit", class: "quiet" }, t("save")));
        item.replaceChildren(form);
        input.focus();
      } }, t("rename"));
      const remove = el("button", { type: "button", class: "quiet", "aria-label": `${t("delete")}: ${title}`, onclick: async () => {
        if (!window.confirm(t("deleteConfirm", { title }))) return;
        await apiJson(`/api/v1/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" });
        await loadSessions();
        if (state.session === s.id) onOpen(null);
        else draw();
      } }, t("delete"));
      const item = el("li", {}, open, el("span", { class: "session-actions" }, rename, remove));
      return item;
    }));
  }
  draw();
  return { aside, draw };
}

// The earlier turns of a conversation, as they were recorded: each question with its SQL and answer (or error).
async function showSession(id, out) {
  const page = await apiJson(`/api/v1/sessions/${encodeURIComponent(id)}/messages?limit=500`);
  const turns = [];
  let current = null;
  for (const m of page.items || []) {
    if (m.role === "user") {
      current = el("article", { class: "result past" }, el("h2", {}, m.content));
      turns.push(current);
    } else if (current) {
      if (m.sql) current.append(el("div", { class: "sql" }, el("pre", {}, highlight(m.sql))));
      if (m.error) current.append(el("div", { class: "alert", role: "alert" }, m.error.message || m.error.code || ""));
      else if (m.content) current.append(el("div", { class: "summary" }, el("p", {}, m.content)));
    }
  }
  out.replaceChildren(...turns);
}

function askPanel() {
  if (state.connections.length === 0) {
    return el("section", { class: "ask" }, el("p", { class: "notice" }, t("noConnections")));
  }
  const remembered = localStorage.getItem("datagenie.connection");
  const chosen = state.connections.some((c) => c.id === remembered) ? remembered : state.connections[0].id;
  const picker = el(
    "select", { id: "connection", onchange: (e) => localStorage.setItem("datagenie.connection", e.target.value) },
    state.connections.map((c) => el("option", { value: c.id, selected: c.id === chosen }, c.name)),
  );
  const question = el("textarea", { id: "question", rows: 3, placeholder: t("questionHint"), required: true });
  const answer = el("section", { class: "answer", "aria-live": "polite" });
  const side = sidebar(async (id) => {
    state.session = id;
    side.draw();
    if (id) {
      const s = state.sessions.find((x) => x.id === id);
      if (s?.connection_id && state.connections.some((c) => c.id === s.connection_id)) picker.value = s.connection_id;
      await showSession(id, answer);
    } else {
      answer.replaceChildren();
    }
    question.focus();
  });
  const button = el("button", { type: "submit" }, t("ask"));
  const form = el(
    "form",
    { class: "ask", onsubmit: (e) => {
      e.preventDefault();
      submit();
    } },
    el("label", { for: "connection" }, t("connection")), picker,
    el("label", { for: "question" }, t("question")), question,
    button,
  );
  question.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  async function submit() {
    const text = question.value.trim();
    if (!text || state.busy) return;
    state.busy = true;
    button.disabled = true;
    localStorage.setItem("datagenie.connection", picker.value);
    try {
      // The first question of a new conversation opens it, titled with the question.
      const current = state.sessions.find((x) => x.id === state.session);
      if (!current || current.connection_id !== picker.value) {
        const created = await apiJson("/api/v1/sessions", { method: "POST", json: { connection_id: picker.value, title: text.slice(0, 80) } });
        state.session = created.id;
        answer.replaceChildren();
      }
      question.value = "";
      await ask(picker.value, text, answer, state.session);
      await loadSessions();
      side.draw();
    } finally {
      state.busy = false;
      button.disabled = false;
    }
  }
  return el("div", { class: "workspace" }, side.aside, el("div", { class: "conversation" }, form, answer));
}

// --- asking: the answer as the server streams it

async function ask(connectionId, question, out, sessionId) {
  const view = answerView(question);
  out.append(view.root);
  view.root.scrollIntoView({ block: "start" });
  let response;
  try {
    response = await api("/api/v1/ask", {
      method: "POST",
      headers: { Accept: "text/event-stream" },
      json: { connection_id: connectionId, question, session_id: sessionId || undefined },
    });
  } catch (err) {
    view.fail(err.code, err.message);
    return;
  }
  if (!response.ok) {
    const err = await failure(response);
    if (err.code === "quota_exceeded") view.fail(err.code, t("quota", { s: err.retryAfter || 60 }));
    else if (err.code === "rate_limited") view.fail(err.code, t("rateLimited", { s: err.retryAfter || 60 }));
    else view.fail(err.code, err.message);
    return;
  }
  for await (const [name, data] of events(response)) view.on(name, data);
}

// Server-sent events from a fetch response: [event name, parsed data].
async function* events(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length === 0) continue;
      try {
        yield [name, JSON.parse(data.join("\n"))];
      } catch (_) {
        // a keep-alive or a malformed event: skip it
      }
    }
  }
}

function answerView(question) {
  const root = el("article", { class: "result" }, el("h2", {}, question));
  const status = el("p", { class: "status" }, t("asking"));
  const source = el("p", { class: "source" });
  const attempts = el("div", { class: "attempts" });
  const sqlBox = el("div", { class: "sql", hidden: true });
  const rowsBox = el("div", { class: "rows", hidden: true });
  const chartBox = el("figure", { class: "chart", hidden: true });
  const summaryBox = el("div", { class: "summary", hidden: true });
  const usage = el("p", { class: "usage" });
  root.append(status, source, attempts, sqlBox, rowsBox, chartBox, summaryBox, usage);
  let lastSql = null;

  function showSql(sql) {
    if (!sql || sql === lastSql) return;
    lastSql = sql;
    const copy = el("button", { type: "button", class: "quiet" }, t("copy"));
    copy.addEventListener("click", async () => {
      await navigator.clipboard?.writeText(sql);
      copy.textContent = t("copied");
    });
    sqlBox.replaceChildren(el("h3", {}, t("sql"), " ", copy), el("pre", {}, highlight(sql)));
    sqlBox.hidden = false;
  }

  function fail(code, message) {
    status.remove();
    const refused = REFUSALS.has(code);
    root.append(
      el("div", { class: "alert", role: "alert" },
        el("strong", {}, refused ? t("refused") : t("failed")), " ", message),
    );
  }

  return {
    root,
    fail,
    on(name, data) {
      switch (name) {
        case "source":
          source.textContent = sourceText(data.kind, data.model, data.name);
          break;
        case "attempt":
          showSql(data.sql);
          if (data.error) {
            attempts.append(el("p", { class: "attempt" }, t("attempt", { n: data.number }), ": ",
              t("attemptFailed", { message: data.error.message })));
          }
          break;
        case "rows":
          rowsBox.replaceChildren(...table(data.columns, data.rows, data.truncated));
          rowsBox.hidden = false;
          break;
        case "summary":
          summaryBox.replaceChildren(el("h3", {}, t("summary")), el("p", {}, data.text));
          summaryBox.hidden = false;
          break;
        case "answer":
          status.remove();
          source.textContent = sourceText(data.source.kind, data.source.model, data.source.name);
          showSql(data.sql);
          if (data.history_id) {
            chart(chartBox, data);
            rowsBox.append(el("p", {}, el("a", { href: "#", class: "csv", onclick: (e) => {
              e.preventDefault();
              download(`/api/v1/history/${encodeURIComponent(data.history_id)}/rows.csv`, "rows.csv");
            } }, t("downloadCsv"))));
          }
          usage.textContent = usageText(data.usage, data.elapsed_ms);
          break;
        case "error":
          fail(data.error?.code || "internal", data.error?.message || "");
          if (data.usage) usage.textContent = usageText(data.usage, data.elapsed_ms);
          break;
        default:
          break;
      }
    },
  };
}

function sourceText(kind, model, name) {
  if (kind === "template") return t("sourceTemplate", { name: name || "" });
  if (kind === "builtin") return t("sourceBuiltin");
  return t("sourceLlm", { model: model || "" });
}

function usageText(usage, ms) {
  const tokens = (usage?.prompt_tokens || 0) + (usage?.completion_tokens || 0);
  return t("usage", { tokens: tokens.toLocaleString(lang()), cost: (usage?.cost_usd || 0).toFixed(4), ms: ms ?? 0 });
}

// The rows as a table, PAGE_ROWS at a time; numbers right-aligned and formatted for the UI's language.
function table(columns, rows, truncated) {
  if (rows.length === 0) return [el("p", {}, t("noRows"))];
  const numeric = columns.map((_, i) => rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const caption = el("caption", {}, t("rowsCount", { n: rows.length.toLocaleString(lang()) }),
    truncated ? ` ${t("truncated")}` : "");
  const head = el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", { scope: "col", class: numeric[i] ? "num" : null }, c))));
  const body = el("tbody");
  const tableEl = el("table", {}, caption, head, body);
  const pages = Math.ceil(rows.length / PAGE_ROWS);
  const nav = el("nav", { class: "pager", hidden: pages <= 1 });
  let page = 0;
  const fmt = new Intl.NumberFormat(lang(), { maximumFractionDigits: 6 });
  function draw() {
    body.replaceChildren(...rows.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS).map((r) =>
      el("tr", {}, r.map((v, i) => el("td", { class: numeric[i] ? "num" : null },
        v === null ? "∅" : typeof v === "number" ? fmt.format(v) : typeof v === "object" ? JSON.stringify(v) : String(v))))));
    nav.replaceChildren(
      el("button", { type: "button", class: "quiet", disabled: page === 0, onclick: () => { page--; draw(); } }, t("previous")),
      el("span", {}, t("pageOf", { p: page + 1, n: pages })),
      el("button", { type: "button", class: "quiet", disabled: page >= pages - 1, onclick: () => { page++; draw(); } }, t("next")),
    );
  }
  draw();
  return [el("div", { class: "scroll" }, tableEl), nav];
}

// The chart: the server's drawing of the stored spec, shown as an image (nothing in it can run), with its text
// alternative. The PNG rather than the SVG: it is drawn with the server's font, so Hangul shows even where the
// browser has no Korean font (an SVG in an <img> cannot use the page's fonts). It is drawn at twice its size and
// shown at its own, sharp on dense screens.
async function chart(box, answer) {
  if (!answer.chart) return;
  const r = await api(`/api/v1/history/${encodeURIComponent(answer.history_id)}/chart.png`);
  if (!r.ok) return;
  const url = URL.createObjectURL(await r.blob());
  const title = answer.chart.title || answer.chart.description || answer.question;
  const img = el("img", { src: url, alt: `${t("chart")}: ${title}` });
  img.addEventListener("load", () => { img.style.width = `${img.naturalWidth / 2}px`; }, { once: true });
  box.replaceChildren(img, el("figcaption", {}, title));
  box.hidden = false;
}

async function download(path, filename) {
  const r = await api(path);
  if (!r.ok) return;
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

// SQL with keywords, strings and numbers marked (spans with text, never markup from the SQL).
const KEYWORDS = new Set(("select from where group by order having limit offset join left right inner outer full cross on as and or not in is null " +
  "like between case when then else end distinct union all with count sum avg min max asc desc over partition exists cast").split(" "));

function highlight(sql) {
  const code = el("code");
  const re = /('(?:[^']|'')*'|"(?:[^"]|"")*"|\b\d+(?:\.\d+)?\b|\b[A-Za-z_][A-Za-z0-9_]*\b|\s+|.)/g;
  for (const [token] of sql.matchAll(re)) {
    let cls = null;
    if (token.startsWith("'")) cls = "str";
    else if (/^\d/.test(token)) cls = "num";
    else if (KEYWORDS.has(token.toLowerCase())) cls = "kw";
    code.append(cls ? el("span", { class: cls }, token) : document.createTextNode(token));
  }
  return code;
}

// --- start: a live session (the refresh cookie) goes straight to the main screen

(async () => {
  try {
    if (await refresh()) return await mainScreen();
  } catch (_) {
    // fall through to sign in
  }
  signInScreen();
})();
