// History: the questions asked (your own; an admin sees everyone's, or one person's), searched and filtered. Each can
// be opened again (the answer as it was recorded: rows, chart, summary), asked again, or saved as a template.

import { lang, t } from "/ui/i18n.js";
import { apiJson, el, query, state, when } from "/ui/core.js";
import { storedAnswer } from "/ui/answer.js";

const STATUSES = ["success", "error", "timeout", "refused"];

// Draws the screen into `main`; `rerun(connectionId, question)` asks a question again on the main screen.
export async function historyScreen(main, rerun) {
  const admin = state.user.role === "admin";
  const users = admin ? ((await apiJson("/api/v1/users?limit=500")).items || []) : [];
  const userName = new Map(users.map((u) => [u.id, u.username || u.email]));
  const connectionName = new Map(state.connections.map((c) => [c.id, c.name]));

  const text = el("input", { type: "search", maxlength: 200 });
  const status = el("select", {}, el("option", { value: "" }, t("all")),
    STATUSES.map((s) => el("option", { value: s }, t(`status_${s}`))));
  const connection = el("select", {}, el("option", { value: "" }, t("all")),
    state.connections.map((c) => el("option", { value: c.id }, c.name)));
  const since = el("input", { type: "date" });
  const until = el("input", { type: "date" });
  const who = admin
    ? el("select", {}, el("option", { value: "" }, t("everyone")),
      users.map((u) => el("option", { value: u.id }, u.username || u.email)))
    : null;
  const control = (id, label, input) => {
    input.id = id;
    return el("div", { class: "filter" }, el("label", { for: id }, label), input);
  };
  const alert = el("p", { class: "alert", role: "alert", hidden: true });
  const body = el("tbody");
  const caption = el("caption");
  const more = el("button", { type: "button", class: "quiet", hidden: true }, t("more"));
  const detail = el("section", { class: "history-detail", "aria-live": "polite" });
  const filters = el("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); load(); } },
    control("history-text", t("search"), text),
    control("history-status", t("status"), status),
    control("history-connection", t("connection"), connection),
    who ? control("history-user", t("user"), who) : null,
    control("history-since", t("since"), since),
    control("history-until", t("until"), until),
    el("button", { type: "submit" }, t("filter")));
  for (const input of [status, connection, since, until, who].filter(Boolean)) input.addEventListener("change", () => load());
  const head = el("tr", {},
    [t("when"), admin ? t("user") : null, t("connection"), t("question"), t("status"), t("rowsHeader"), t("tokens"), t("timeMs"), t("actions")]
      .filter(Boolean).map((h) => el("th", { scope: "col" }, h)));
  main.append(el("section", { class: "history" },
    el("h1", {}, t("navHistory")),
    filters, alert,
    el("div", { class: "scroll" }, el("table", { class: "history-table" }, caption, el("thead", {}, head), body)),
    more, detail));

  let cursor = null;
  let shown = 0;
  const fmt = new Intl.NumberFormat(lang());

  let latest = 0;
  async function load(append = false) {
    const mine = ++latest;
    if (!append) {
      cursor = null;
      shown = 0;
    }
    let page;
    try {
      page = await apiJson(query("/api/v1/history", {
        limit: 50,
        cursor: append ? cursor : null,
        text: text.value.trim(),
        status: status.value,
        connection_id: connection.value,
        user_id: who?.value,
        since: since.value,
        until: until.value,
      }));
    } catch (err) {
      if (mine !== latest) return;
      alert.hidden = false;
      alert.textContent = err.message;
      return;
    }
    if (mine !== latest) return; // a newer search has started: its answer counts, not this one
    alert.hidden = true;
    const rows = (page.items || []).map((h) => row(h));
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    shown += rows.length;
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    caption.textContent = shown === 0 ? t("noHistory") : t("historyCount", { n: fmt.format(shown) });
  }

  function row(h) {
    const tokens = (h.prompt_tokens || 0) + (h.completion_tokens || 0);
    const open = el("button", { type: "button", class: "quiet", "aria-label": `${t("open")}: ${h.question}`, onclick: () => openEntry(h.id) }, t("open"));
    const again = h.connection_id && connectionName.has(h.connection_id)
      ? el("button", { type: "button", class: "quiet", "aria-label": `${t("askAgain")}: ${h.question}`,
        onclick: () => rerun(h.connection_id, h.question) }, t("askAgain"))
      : null;
    return el("tr", { "data-id": h.id, "data-status": h.status },
      el("td", {}, el("time", { datetime: h.created_at }, when(h.created_at, lang()))),
      admin ? el("td", {}, userName.get(h.user_id) || h.user_id) : null,
      el("td", {}, connectionName.get(h.connection_id) || h.connection_id || ""),
      el("td", { class: "question" }, h.question),
      el("td", {}, el("span", { class: `badge ${h.status}` }, t(`status_${h.status}`))),
      el("td", { class: "num" }, h.row_count === null || h.row_count === undefined ? "" : fmt.format(h.row_count)),
      el("td", { class: "num" }, fmt.format(tokens)),
      el("td", { class: "num" }, fmt.format(h.total_ms)),
      el("td", { class: "row-actions" }, open, again));
  }

  async function openEntry(id) {
    try {
      const d = await apiJson(`/api/v1/history/${encodeURIComponent(id)}`);
      const actions = () => [d.connection_id && connectionName.has(d.connection_id)
        ? el("button", { type: "button", class: "quiet", onclick: () => rerun(d.connection_id, d.question) }, t("askAgain"))
        : null].filter(Boolean);
      const card = storedAnswer(d, { actions });
      detail.replaceChildren(card);
      card.scrollIntoView({ block: "start" });
      card.querySelector("h2").setAttribute("tabindex", "-1");
      card.querySelector("h2").focus();
    } catch (err) {
      alert.hidden = false;
      alert.textContent = err.message;
    }
  }

  more.addEventListener("click", () => load(true));
  await load();
  text.focus();
}
