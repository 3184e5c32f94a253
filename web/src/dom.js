// DOM helpers. Every value that came from a beacon becomes a text node (never HTML).
import { THRESHOLDS } from "./catalogue.js";

export const $ = (sel) => document.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "checked" || k === "value" || k === "disabled") node[k] = v;
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function select(label, options, value, onchange, attrs = {}) {
  return el("label", { class: "field" }, el("span", {}, label),
    el("select", { ...attrs, onchange: (e) => onchange(e.target.value) },
      options.map(([v, text]) => el("option", { value: v, selected: v === value }, text))));
}

// -- formatting --------------------------------------------------------------------------------
export const fmtMs = (v) => (v == null ? "–" : v >= 10000 ? (v / 1000).toFixed(1) + " s" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms");
export const fmtNum = (v) => (v == null ? "–" : Number(v).toLocaleString("en"));
export const fmtPct = (v) => (v == null ? "–" : (v * 100).toFixed(1) + " %");
export const fmtMeasure = (m, v) => (m === "cls" ? (v == null ? "–" : Number(v).toFixed(3)) : fmtMs(v));
export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "–");
export const fmtAgo = (iso) => {
  if (!iso) return "–";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 90) return "just now";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  if (s < 129600) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " days ago";
};
export const valueText = (v) => (v === null || v === undefined || v === "" ? "(unknown)" : String(v));

export const ratingOf = (name, v) =>
  v == null || !THRESHOLDS[name] ? null : v <= THRESHOLDS[name][0] ? "good" : v <= THRESHOLDS[name][1] ? "needs_improvement" : "poor";
const RATING_TEXT = { good: "Good", needs_improvement: "Needs improvement", poor: "Poor", excellent: "Excellent",
  fair: "Fair", unacceptable: "Unacceptable", satisfying: "Satisfying", tolerable: "Tolerable", frustrating: "Frustrating",
  S: "Satisfied", T: "Tolerating", F: "Frustrated" };
// A rating is shown as a word and a shape as well as a colour (colour-blind safe).
const RATING_ICON = { good: "●", excellent: "●", satisfying: "●", S: "●", needs_improvement: "▲", fair: "▲", tolerable: "▲",
  T: "▲", poor: "■", unacceptable: "■", frustrating: "■", F: "■" };
export function rating(r) {
  return r ? el("span", { class: `rating r-${r}` }, el("span", { "aria-hidden": "true" }, RATING_ICON[r] || ""), " ", RATING_TEXT[r] || r) : "";
}
export function apdexCell(v, r) {
  return el("span", { class: "apdex" }, v == null ? "–" : Number(v).toFixed(2), " ", rating(r));
}

// -- panels: each loads on its own, with a loading state, an error state and an empty state ----
export function panel(parent, title, { cls = "", actions = null } = {}) {
  const body = el("div", { class: "body" }, el("div", { class: "skeleton", "aria-hidden": "true" }), el("span", { class: "sr-only" }, "Loading"));
  const head = el("div", { class: "card-head" }, el("h2", {}, title), actions);
  const card = el("section", { class: `card ${cls} loading`, "aria-busy": "true" }, head, body);
  parent.append(card);
  const p = {
    card, body, charts: [],
    fill(...nodes) {
      for (const c of p.charts.splice(0)) c.dispose();
      card.classList.remove("loading");
      card.removeAttribute("aria-busy");
      body.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
    },
    fail(err) {
      p.fill(el("p", { class: "error", role: "alert" }, "Could not load this panel: ", err.message || String(err)));
    },
  };
  return p;
}

export function emptyNote(text) {
  return el("p", { class: "muted empty-note" }, text);
}

// The empty state of an application with no data: how to install the snippet.
export function installState(app) {
  return el("section", { class: "empty", "aria-labelledby": "install-title" },
    el("h2", { id: "install-title" }, "No data in this time range"),
    el("p", {}, "OpenRUM shows what real visitors experience once the snippet is on your pages. To start:"),
    el("ol", {},
      el("li", {}, "Copy this tag into the ", el("code", {}, "<head>"), " of every page of ", el("strong", {}, app ? app.name : "your site"), ":"),
      el("li", { class: "plain" }, el("pre", { class: "snippet" }, app ? app.snippet : "")),
      el("li", {}, "Allow your site's origin under Settings › Allowed origins (or leave it empty for server-side senders)."),
      el("li", {}, "Open a page of your site: its first page view appears here within seconds.")),
    el("p", { class: "muted" }, "Already installed? Widen the time range or remove filters."));
}

export function table(columns, rows, { onRow, label, rowLabel } = {}) {
  const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : "", scope: "col" }, c.label)));
  const body = rows.map((row) => {
    const attrs = onRow ? {
      class: "clickable", tabindex: "0", "aria-label": rowLabel ? rowLabel(row) : null,
      onclick: () => onRow(row),
      onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); onRow(row); } },
    } : {};
    return el("tr", attrs, columns.map((c) => {
      const v = c.key ? row[c.key] : undefined;
      return el("td", { class: (c.num ? "num " : "") + (c.cls || "") }, c.fmt ? c.fmt(v, row) : valueText(v));
    }));
  });
  return el("div", { class: "table-wrap" }, el("table", { "aria-label": label || null }, el("thead", {}, head), el("tbody", {}, body)));
}

// A sparkline as SVG: a polyline of the values, no axes.
export function sparkline(values, { width = 96, height = 24, label = "" } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const vs = values.filter((v) => v != null);
  if (vs.length > 1) {
    const lo = Math.min(...vs), hi = Math.max(...vs), span = hi - lo || 1;
    const pts = [];
    values.forEach((v, i) => {
      if (v == null) return;
      pts.push(`${((i / (values.length - 1)) * (width - 2) + 1).toFixed(1)},${(height - 2 - ((v - lo) / span) * (height - 4)).toFixed(1)}`);
    });
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts.join(" "));
    svg.append(line);
  }
  return svg;
}

// Escape text for the few places a library wants an HTML string (chart tooltips).
export function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

export function kpi(value, label, extra) {
  return el("div", { class: "kpi" }, el("div", { class: "value" }, value), label ? el("div", { class: "label" }, label) : null, extra || null);
}

// Good / needs improvement / poor shares as a stacked bar with a text equivalent.
export function shareBar(shares, names = ["good", "needs_improvement", "poor"], labels = ["good", "needs improvement", "poor"]) {
  const text = shares.map((s, i) => `${labels[i]} ${fmtPct(s)}`).join(", ");
  return el("div", { class: "shares", role: "img", "aria-label": text, title: text },
    shares.map((s, i) => el("span", { class: `s-${names[i]}`, style: `width:${(s || 0) * 100}%` })));
}
