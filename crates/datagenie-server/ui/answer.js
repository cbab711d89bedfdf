// An answer on screen: asked over the server's event stream and drawn as it arrives (source, SQL, rows, chart,
// summary, usage), or drawn again from history. Everything from the server is shown as text (see core.js).

import { lang, t } from "/ui/i18n.js";
import { api, apiJson, download, el, failure, state } from "/ui/core.js";

// The error codes of a refusal (the guard's and the permissions'), shown as "Not allowed" rather than a failure.
const REFUSALS = new Set(["forbidden", "forbidden_table", "forbidden_column", "forbidden_function", "forbidden_construct",
  "data_modifying_query", "multiple_statements", "not_a_query", "into_clause", "locking_clause", "read_only_violation"]);
const PAGE_ROWS = 50;

// Asks `question` on a connection (in a conversation when `sessionId` is given); the answer is appended to `out`
// and drawn as the server streams it. Resolves with the final answer (or null when it failed).
export async function ask(connectionId, question, out, sessionId) {
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
    return null;
  }
  if (!response.ok) {
    const err = await failure(response);
    if (err.code === "quota_exceeded") view.fail(err.code, t("quota", { s: err.retryAfter || 60 }));
    else if (err.code === "rate_limited") view.fail(err.code, t("rateLimited", { s: err.retryAfter || 60 }));
    else view.fail(err.code, err.message);
    return null;
  }
  let final = null;
  for await (const [name, data] of events(response)) {
    view.on(name, data);
    if (name === "answer") final = data;
  }
  view.done();
  return final;
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

// One answer's card. `on(event, data)` draws each streamed event; `fail` shows a refusal or a failure.
export function answerView(question, extra = {}) {
  const root = el("article", { class: "result", "data-state": "running" }, el("h2", {}, question));
  const status = el("p", { class: "status" }, t("asking"));
  const source = el("p", { class: "source" });
  const attempts = el("div", { class: "attempts" });
  const sqlBox = el("div", { class: "sql", hidden: true });
  const rowsBox = el("div", { class: "rows", hidden: true });
  const chartBox = el("figure", { class: "chart", hidden: true });
  const summaryBox = el("div", { class: "summary", hidden: true });
  const usage = el("p", { class: "usage" });
  const actions = el("div", { class: "actions" });
  root.append(status, source, attempts, sqlBox, rowsBox, chartBox, summaryBox, usage, actions);
  let lastSql = null;
  let summaryText = null;

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

  function showSummary(text) {
    if (!text || text === summaryText) return;
    summaryText = text;
    summaryBox.replaceChildren(el("h3", {}, t("summary")), el("p", {}, text));
    summaryBox.hidden = false;
  }

  function fail(code, message) {
    status.remove();
    const refused = REFUSALS.has(code);
    root.dataset.state = refused ? "refused" : "failed";
    root.append(
      el("div", { class: "alert", role: "alert", "data-code": code },
        el("strong", {}, refused ? t("refused") : t("failed")), " ", refused ? refusalText(code, message) : message),
    );
  }

  // The answer is complete: its chart, its CSV and what can be done with it.
  function finished(data) {
    status.remove();
    source.textContent = sourceText(data.source?.kind, data.source?.model, data.source?.name);
    showSql(data.sql);
    showSummary(data.summary);
    if (data.history_id) {
      chart(chartBox, data);
      rowsBox.append(el("p", {}, el("button", { type: "button", class: "quiet csv", onclick: () =>
        download(`/api/v1/history/${encodeURIComponent(data.history_id)}/rows.csv`, "rows.csv") }, t("downloadCsv"))));
      actions.replaceChildren(
        ...(extra.actions ? extra.actions(data) : []),
        markRight(data.history_id, Boolean(data.verified_at)),
        saveAsTemplate(data.history_id, data.question),
      );
    }
    usage.textContent = usageText(data.usage, data.elapsed_ms);
    root.dataset.state = "answered";
  }

  return {
    root,
    fail,
    finished,
    done() {
      if (root.dataset.state === "running") fail("internal", t("streamEnded"));
    },
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
          showSummary(data.text);
          break;
        case "answer":
          finished(data);
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

// "Right answer": a toggle that marks the answer right (`POST /history/{id}/verify`), so its question and SQL become a
// verified example the LLM is shown for questions like it on this connection; pressed again, it withdraws the mark.
export function markRight(historyId, verified) {
  const message = el("span", { class: "alert", role: "alert", hidden: true });
  const button = el("button", { type: "button", class: "quiet verify", "aria-pressed": String(verified) });
  const show = (on) => {
    button.setAttribute("aria-pressed", String(on));
    button.textContent = on ? t("markedRight") : t("markRight");
    button.title = on ? t("markedRightHint") : t("markRightHint");
  };
  button.addEventListener("click", async () => {
    const wanted = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    try {
      const entry = await apiJson(`/api/v1/history/${encodeURIComponent(historyId)}/verify`, {
        method: "POST", json: { verified: wanted },
      });
      show(Boolean(entry.verified_at));
      message.hidden = true;
    } catch (err) {
      message.hidden = false;
      message.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  show(verified);
  return el("div", { class: "mark-right" }, button, " ", message);
}

// "Save as template": a small form (name; for admins, verified at once) that files the answered question and its
// SQL as a template of the connection, so the next person who asks it gets this SQL without an LLM.
export function saveAsTemplate(historyId, question) {
  const admin = state.user?.role === "admin";
  const box = el("div", { class: "save-template" });
  const open = el("button", { type: "button", class: "quiet", onclick: () => {
    const id = `tpl-${historyId}`;
    const name = el("input", { id: `${id}-name`, type: "text", value: question || "", maxlength: 200, required: true });
    const verified = el("input", { id: `${id}-verified`, type: "checkbox", checked: admin });
    const shared = el("input", { id: `${id}-public`, type: "checkbox", checked: admin });
    const message = el("p", { class: "alert", role: "alert", hidden: true });
    const form = el("form", { class: "template-form", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const saved = await apiJson("/api/v1/templates", { method: "POST", json: {
          history_id: historyId, name: name.value.trim(), public: shared.checked, verified: admin && verified.checked,
        } });
        box.replaceChildren(el("p", { class: "saved", role: "status" }, t("templateSaved", { name: saved.name })));
      } catch (err) {
        message.hidden = false;
        message.textContent = err.message;
      }
    } },
    el("label", { for: name.id }, t("templateName")), name,
    el("label", { class: "check", for: shared.id }, shared, " ", t("templatePublic")),
    admin ? el("label", { class: "check", for: verified.id }, verified, " ", t("templateVerified")) : null,
    message,
    el("button", { type: "submit" }, t("saveTemplate")));
    box.replaceChildren(form);
    name.focus();
  } }, t("saveAsTemplate"));
  box.append(open);
  return box;
}

// A refusal in words a business user understands; the guard's own message (which names the table or column) follows.
function refusalText(code, message) {
  const key = `refusal_${code}`;
  const plain = t(key);
  return plain === key ? message : `${plain} ${message}`;
}

// A recorded question drawn again from `GET /history/{id}`: the same card as a live answer.
export function storedAnswer(detail, extra = {}) {
  const view = answerView(detail.question, extra);
  if (detail.status !== "success") {
    view.fail(detail.error_code || detail.status, detail.error_message || t(`status_${detail.status}`));
    if (detail.sql) view.on("attempt", { number: 1, sql: detail.sql });
    return view.root;
  }
  if (detail.result) view.on("rows", detail.result);
  view.finished({
    history_id: detail.id,
    question: detail.question,
    sql: detail.sql,
    summary: detail.analysis?.summary,
    chart: detail.analysis?.chart_spec,
    source: detail.source || {},
    usage: { prompt_tokens: detail.prompt_tokens, completion_tokens: detail.completion_tokens, cost_usd: detail.cost_usd },
    elapsed_ms: detail.total_ms,
    verified_at: detail.verified_at,
  });
  return view.root;
}

export function sourceText(kind, model, name) {
  if (kind === "template") return t("sourceTemplate", { name: name || "" });
  if (kind === "builtin") return t("sourceBuiltin");
  if (kind === "llm") return t("sourceLlm", { model: model || "" });
  if (kind === "sql") return t("sourceSql");
  return "";
}

function usageText(usage, ms) {
  const tokens = (usage?.prompt_tokens || 0) + (usage?.completion_tokens || 0);
  return t("usage", { tokens: tokens.toLocaleString(lang()), cost: (usage?.cost_usd || 0).toFixed(4), ms: ms ?? 0 });
}

// The rows as a table, PAGE_ROWS at a time; numbers right-aligned and formatted for the UI's language.
export function table(columns, rows, truncated) {
  if (rows.length === 0) return [el("p", {}, t("noRows"))];
  const numeric = columns.map((_, i) => rows.every((r) => r[i] === null || typeof r[i] === "number"));
  const caption = el("caption", {}, rows.length === 1 ? t("rowsCountOne") : t("rowsCount", { n: rows.length.toLocaleString(lang()) }),
    truncated ? ` ${t("truncated")}` : "");
  const head = el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", { scope: "col", class: numeric[i] ? "num" : null }, c))));
  const body = el("tbody");
  const tableEl = el("table", {}, caption, head, body);
  const pages = Math.ceil(rows.length / PAGE_ROWS);
  const nav = el("nav", { class: "pager", hidden: pages <= 1, "aria-label": t("pages") });
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

// The chart: the server's SVG, inline. It is parsed as XML (never as HTML) and copied element by element through an
// allow-list of drawing elements and attributes, so nothing in it can run or load anything; its text is text. Inline,
// it is drawn with the page's fonts (Hangul included, see app.css) and its tooltips (<title>) work.
const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_ELEMENTS = new Set(["svg", "g", "title", "desc", "rect", "line", "path", "circle", "ellipse", "polyline",
  "polygon", "text", "tspan"]);
const SVG_ATTRIBUTES = new Set(["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry", "width", "height",
  "viewBox", "d", "points", "fill", "fill-opacity", "stroke", "stroke-width", "stroke-opacity", "stroke-linejoin",
  "stroke-linecap", "stroke-dasharray", "opacity", "transform", "font-size", "font-weight", "font-family",
  "text-anchor", "dominant-baseline", "dx", "dy", "role"]);

function copySvg(node) {
  if (node.nodeType === Node.TEXT_NODE) return document.createTextNode(node.data);
  if (node.nodeType !== Node.ELEMENT_NODE || node.namespaceURI !== SVG_NS || !SVG_ELEMENTS.has(node.localName)) return null;
  const out = document.createElementNS(SVG_NS, node.localName);
  for (const a of node.attributes) {
    if (!a.namespaceURI && SVG_ATTRIBUTES.has(a.name) && !/url\s*\(/i.test(a.value)) out.setAttribute(a.name, a.value);
  }
  for (const c of node.childNodes) {
    const copy = copySvg(c);
    if (copy) out.append(copy);
  }
  return out;
}

async function chart(box, answer) {
  if (!answer.chart) return;
  const r = await api(`/api/v1/history/${encodeURIComponent(answer.history_id)}/chart.svg`);
  if (!r.ok) return;
  const doc = new DOMParser().parseFromString(await r.text(), "image/svg+xml");
  const svg = doc.documentElement?.localName === "svg" ? copySvg(doc.documentElement) : null;
  if (!svg) return;
  const title = answer.chart.title || answer.chart.description || answer.question;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `${t("chart")}: ${title}`);
  box.replaceChildren(svg, el("figcaption", {}, title));
  box.hidden = false;
}

// SQL with keywords, strings and numbers marked (spans with text, never markup from the SQL).
const KEYWORDS = new Set(("select from where group by order having limit offset join left right inner outer full cross on as and or not in is null " +
  "like between case when then else end distinct union all with count sum avg min max asc desc over partition exists cast").split(" "));

export function highlight(sql) {
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

