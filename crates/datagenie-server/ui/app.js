// DataGenie's web UI: the shell. Sign in, the header and its navigation, and the main screen — pick a connection,
// ask, watch the answer arrive, in conversations. History and administration are their own modules, loaded when
// first opened. Plain ES modules, no framework; see core.js for the two rules every module keeps (text only, and
// where the tokens live).

import { LANGUAGES, lang, setLang, t } from "/ui/i18n.js";
import { CSRF, api, apiJson, el, failure, hooks, query, refresh, show, state } from "/ui/core.js";
import { ask, highlight } from "/ui/answer.js";

const ADMIN_SECTIONS = ["users", "connections", "permissions", "usage", "audit", "settings"];

hooks.signedOut = (message) => signInScreen(message);

// --- sign in

function languagePicker() {
  const select = el(
    "select",
    { id: "language", onchange: (e) => { setLang(e.target.value); render(); } },
    LANGUAGES.map(([code, name]) => el("option", { value: code, selected: code === lang() }, name)),
  );
  return el("label", { class: "language" }, t("language"), " ", select);
}

function signInScreen(message) {
  state.user = null;
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
  show(el("header", { class: "bar" }, el("span", { class: "brand" }, "DataGenie"), languagePicker()), el("main", {}, form));
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
    signInScreen();
  }
}

async function mainScreen() {
  state.user = await apiJson("/api/v1/me");
  await loadConnections();
  await loadSessions();
  render();
}

async function loadConnections() {
  const page = await apiJson("/api/v1/connections?limit=500");
  state.connections = page.items || [];
}

async function loadSessions() {
  const page = await apiJson("/api/v1/sessions?limit=500");
  state.sessions = page.items || [];
}

// --- the header, and the screen the address (#/…) names

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  if (parts[0] === "history") return { screen: "history" };
  if (parts[0] === "admin") {
    return { screen: "admin", section: ADMIN_SECTIONS.includes(parts[1]) ? parts[1] : ADMIN_SECTIONS[0] };
  }
  return { screen: "ask" };
}

function render() {
  if (!state.user) return signInScreen();
  const where = route();
  const link = (href, label, current) => el("a", { href, "aria-current": current ? "page" : null }, label);
  const nav = el("nav", { class: "main-nav", "aria-label": t("navigation") },
    link("#/", t("navAsk"), where.screen === "ask"),
    link("#/history", t("navHistory"), where.screen === "history"),
    state.user.role === "admin" ? link("#/admin/users", t("navAdmin"), where.screen === "admin") : null);
  const header = el(
    "header", { class: "bar" },
    el("span", { class: "brand" }, "DataGenie"),
    nav,
    el("span", { class: "who" }, t("you", { name: state.user.username, role: state.user.role })),
    languagePicker(),
    el("button", { type: "button", class: "quiet", id: "sign-out", onclick: signOut }, t("signOut")),
  );
  const main = el("main", {});
  show(header, main);
  if (where.screen === "history") return lazyScreen(main, "/ui/history.js", (m) => m.historyScreen(main, rerun));
  if (where.screen === "admin") return adminFrame(main, where.section);
  // The connections again: an admin may just have added one, or changed a grant.
  loadConnections().catch(() => {}).finally(() => {
    if (!main.isConnected) return;
    main.append(askPanel());
    document.getElementById("question")?.focus();
  });
}

// A screen from its own module, loaded on first use; a failure to load or draw it is shown, not swallowed.
async function lazyScreen(main, path, draw) {
  try {
    const module = await import(path);
    await draw(module);
  } catch (err) {
    if (err?.status === 401) return;
    main.append(el("p", { class: "alert", role: "alert" }, err?.message || String(err)));
  }
}

function adminFrame(main, section) {
  if (state.user.role !== "admin") {
    main.append(el("p", { class: "alert", role: "alert" }, t("adminsOnly")));
    return;
  }
  const sub = el("nav", { class: "admin-nav", "aria-label": t("navAdmin") },
    ADMIN_SECTIONS.map((s) => el("a", { href: `#/admin/${s}`, "aria-current": s === section ? "page" : null }, t(`section_${s}`))));
  const container = el("div", { class: "admin" });
  main.append(el("div", { class: "admin-frame" }, sub, container));
  return lazyScreen(container, "/ui/admin.js", (m) => m.adminScreen(section, container));
}

window.addEventListener("hashchange", () => {
  if (state.user) render();
});

// History's "Ask again": the main screen, a new conversation, the question asked on its connection.
function rerun(connectionId, question) {
  state.pending = { connectionId, question };
  state.session = null;
  if (location.hash === "#/" || location.hash === "") render();
  else location.hash = "#/";
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
        form.addEventListener("keydown", (e) => { if (e.key === "Escape") draw(); });
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

// Questions to start from, for a new conversation: the connection's verified templates, then questions about its
// tables that the built-in engine answers (so a first question costs nothing and works). Each one asks when chosen.
// Each load or clearing of the suggestions is a round: a load that comes back after a question was asked (or
// another connection chosen) is dropped, so late suggestions never reappear under an answer.
let suggestionRound = 0;

function clearSuggestions(box) {
  suggestionRound += 1;
  box.replaceChildren();
}

async function suggestions(connectionId, box, choose) {
  clearSuggestions(box);
  const round = suggestionRound;
  let page;
  try {
    page = await apiJson(query(`/api/v1/connections/${encodeURIComponent(connectionId)}/suggestions`, { lang: lang() }));
  } catch (_) {
    return;
  }
  if (round !== suggestionRound) return;
  const items = page.items || [];
  if (items.length === 0) return;
  box.replaceChildren(
    el("h2", {}, t("suggestions")),
    el("ul", {}, items.map((s) => el("li", {},
      el("button", { type: "button", class: "suggestion", "data-source": s.source, onclick: () => choose(s.question) },
        s.question)))),
  );
}

function askPanel() {
  if (state.connections.length === 0) {
    // An admin on a new server: the way to the first connection.
    const notice = state.user.role === "admin"
      ? el("p", { class: "notice" }, t("noConnectionsAdmin"), " ", el("a", { href: "#/admin/connections" }, t("addConnection")))
      : el("p", { class: "notice" }, t("noConnections"));
    return el("section", { class: "ask" }, notice);
  }
  const pending = state.pending;
  state.pending = null;
  const remembered = pending?.connectionId || localStorage.getItem("datagenie.connection");
  const chosen = state.connections.some((c) => c.id === remembered) ? remembered : state.connections[0].id;
  const picker = el(
    "select", { id: "connection", onchange: (e) => {
      localStorage.setItem("datagenie.connection", e.target.value);
      if (!answer.querySelector(".result")) suggestions(picker.value, suggested, choose);
    } },
    state.connections.map((c) => el("option", { value: c.id, selected: c.id === chosen }, c.name)),
  );
  const question = el("textarea", { id: "question", rows: 3, placeholder: t("questionHint"), required: true });
  const answer = el("section", { class: "answer", "aria-live": "polite", "aria-label": t("answers") });
  const suggested = el("section", { class: "suggestions" });
  const side = sidebar(async (id) => {
    state.session = id;
    side.draw();
    if (id) {
      clearSuggestions(suggested);
      const s = state.sessions.find((x) => x.id === id);
      if (s?.connection_id && state.connections.some((c) => c.id === s.connection_id)) picker.value = s.connection_id;
      await showSession(id, answer);
    } else {
      answer.replaceChildren();
      suggestions(picker.value, suggested, choose);
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
  function choose(text) {
    question.value = text;
    submit();
  }
  async function submit() {
    const text = question.value.trim();
    if (!text || state.busy) return;
    state.busy = true;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    clearSuggestions(suggested);
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
    } catch (err) {
      if (err?.status !== 401) answer.append(el("p", { class: "alert", role: "alert" }, err.message));
    } finally {
      state.busy = false;
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }
  const panel = el("div", { class: "workspace" }, side.aside, el("div", { class: "conversation" }, form, suggested, answer));
  if (pending) {
    question.value = pending.question;
    queueMicrotask(submit);
  } else if (state.session && state.sessions.some((s) => s.id === state.session)) {
    showSession(state.session, answer);
  } else {
    state.session = null;
    suggestions(picker.value, suggested, choose);
  }
  return panel;
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
