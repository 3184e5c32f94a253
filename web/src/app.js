// The OpenRUM dashboard: a small single-page app over the public query API (docs/api.md).
// Application, time range, filters and choices live in the URL (#/page?app=…&range=…&f=…), so
// every view is a link and back/forward work. Everything that came from a beacon is rendered as
// text (textContent), never as HTML.

import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

// Colour-blind-safe (Okabe–Ito) for good / needs improvement / poor, and series.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"];
const VITALS = [
  ["lcp", "Largest Contentful Paint", "ms"],
  ["inp", "Interaction to Next Paint", "ms"],
  ["cls", "Cumulative Layout Shift", ""],
  ["fcp", "First Contentful Paint", "ms"],
  ["ttfb", "Time to First Byte", "ms"],
];
const DIMENSIONS = ["page", "device", "browser", "browser_version", "os", "os_version", "country",
  "region", "city", "connection", "release", "action_type"];
const STATS = [["p50", "median"], ["avg", "average"], ["p75", "p75"], ["p90", "p90"], ["p95", "p95"], ["p99", "p99"]];
const RANGES = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
const PAGES = [
  ["overview", "Overview"], ["compare", "Compare"], ["performance", "Performance"],
  ["actions", "User actions"], ["errors", "Errors"], ["settings", "Settings"],
];

const $ = (sel) => document.querySelector(sel);
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}

// -- state in the URL -----------------------------------------------------------------------
function readState() {
  const [path, query = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const q = new URLSearchParams(query);
  return {
    page: PAGES.some(([p]) => p === path) ? path : "overview",
    app: q.get("app") || "",
    range: RANGES[q.get("range")] ? q.get("range") : "24h",
    stat: q.get("stat") || "p50",
    dim: q.get("dim") || "page",
    filters: q.getAll("f").map((f) => f.split("|")).filter((f) => f.length === 3),
  };
}
function link(state, changes = {}) {
  const s = { ...state, ...changes };
  const q = new URLSearchParams({ app: s.app, range: s.range, stat: s.stat, dim: s.dim });
  for (const [d, op, v] of s.filters) q.append("f", `${d}|${op}|${v}`);
  return `#/${s.page}?${q}`;
}
const go = (changes) => (location.hash = link(readState(), changes));

// -- the API --------------------------------------------------------------------------------
let csrf = "";
async function api(path, body) {
  const res = await fetch(path, {
    method: body ? "POST" : "GET",
    headers: body ? { "content-type": "application/json", "x-csrf-token": csrf } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 401) {
    location.href = "/login?next=/";
    throw new Error("signed out");
  }
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}
function query(state, body) {
  const to = new Date();
  const from = new Date(to - RANGES[state.range]);
  const filters = state.filters.map(([d, op, v]) => [d, op, v === "∅" ? null : v]);
  return api("/api/v1/query", { app: state.app, from: from.toISOString(), to: to.toISOString(), filters, ...body })
    .then((r) => r.rows);
}

// -- formatting -----------------------------------------------------------------------------
const fmtMs = (v) => (v == null ? "–" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms");
const fmtNum = (v) => (v == null ? "–" : Number(v).toLocaleString("en"));
const fmtPct = (v) => (v == null ? "–" : (v * 100).toFixed(1) + " %");
const fmtVital = (name, v) => (name === "cls" ? (v == null ? "–" : v.toFixed(3)) : fmtMs(v));
const THRESHOLDS = { lcp: [2500, 4000], inp: [200, 500], cls: [0.1, 0.25], fcp: [1800, 3000], ttfb: [800, 1800] };
const ratingOf = (name, v) =>
  v == null ? null : v <= THRESHOLDS[name][0] ? "good" : v <= THRESHOLDS[name][1] ? "needs_improvement" : "poor";
const ratingLabel = { good: "good", needs_improvement: "needs improvement", poor: "poor",
  excellent: "excellent", fair: "fair", unacceptable: "unacceptable" };
function rating(r) {
  return r ? el("span", { class: `rating r-${r}` }, ratingLabel[r]) : "";
}

// -- panels: each loads on its own, with a loading state and an error or empty state ---------
function panel(parent, title, cls = "card") {
  const body = el("div", { class: "body" }, el("span", { class: "muted" }, "Loading…"));
  const card = el("section", { class: cls + " loading", "aria-busy": "true" }, el("h2", {}, title), body);
  parent.append(card);
  return {
    fill(...nodes) {
      card.classList.remove("loading");
      card.removeAttribute("aria-busy");
      body.replaceChildren(...nodes);
    },
    fail(err) {
      this.fill(el("span", { class: "muted", role: "alert" }, "Could not load: " + err.message));
    },
  };
}
async function load(p, fn) {
  try {
    await fn(p);
  } catch (e) {
    p.fail(e);
  }
}
const charts = [];
function chart(node, option) {
  const c = echarts.init(node, null, { renderer: "canvas" });
  c.setOption({ color: PALETTE, animation: false, tooltip: { trigger: "axis" }, ...option });
  charts.push(c);
  return c;
}
function emptyState() {
  return el("div", { class: "empty" },
    el("h2", {}, "No data in this time range yet"),
    el("p", {}, "Install the snippet (Settings) in the <head> of every page, or widen the time range. Data appears within seconds."));
}
function table(columns, rows, onRow) {
  const head = el("tr", {}, columns.map(([, label, num]) => el("th", { class: num ? "num" : "", scope: "col" }, label)));
  const body = rows.map((row) =>
    el("tr", onRow ? { class: "clickable", tabindex: "0", onclick: () => onRow(row),
                       onkeydown: (e) => e.key === "Enter" && onRow(row) } : {},
      columns.map(([key, , num, fmt]) => el("td", { class: num ? "num" : "" }, fmt ? fmt(row[key], row) : String(row[key] ?? "–")))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}
const addFilter = (state, dim, value) =>
  go({ filters: [...state.filters.filter(([d]) => d !== dim), [dim, "is", value ?? "∅"]] });

// -- pages ----------------------------------------------------------------------------------
const interval = (state) => ({ "1h": "1m", "24h": "15m", "7d": "1h", "30d": "1d" })[state.range];

async function overview(main, state) {
  main.append(el("h1", {}, "Overview"));
  const kpis = el("div", { class: "grid" });
  main.append(kpis);
  const totals = panel(kpis, "Page views");
  const sessions = panel(kpis, "Sessions");
  const apdex = panel(kpis, "Apdex");
  const errors = panel(kpis, "JavaScript and request errors");
  load(totals, async (p) => {
    const [r] = await query(state, { metrics: ["page_views", "count", "sessions", "apdex", "errors"] });
    if (!r || !r.count) {
      for (const x of [totals, sessions, apdex, errors]) x.fill(el("span", { class: "value" }, "–"));
      main.append(emptyState());
      return;
    }
    p.fill(el("div", { class: "kpi" }, el("div", { class: "value" }, fmtNum(r.page_views)), el("div", { class: "label" }, fmtNum(r.count) + " user actions")));
    sessions.fill(el("div", { class: "kpi" }, el("div", { class: "value" }, fmtNum(r.sessions))));
    apdex.fill(el("div", { class: "kpi" }, el("div", { class: "value" }, r.apdex == null ? "–" : r.apdex.toFixed(2), " ", rating(r.apdex_rating))));
    errors.fill(el("div", { class: "kpi" }, el("div", { class: "value" }, fmtNum(r.errors || 0)),
      el("div", { class: "label" }, fmtPct((r.errors || 0) / Math.max(r.page_views, 1)) + " of page views")));
  });
  const vitals = el("div", { class: "grid" });
  main.append(el("h2", { style: "margin-top:1rem" }, "Core Web Vitals (p75)"), vitals);
  for (const [name, label] of VITALS) {
    load(panel(vitals, label), async (p) => {
      const [r] = await query(state, {
        metrics: [`${name}:p75`, `${name}:good_share`, `${name}:needs_improvement_share`, `${name}:poor_share`],
      });
      const v = r && r[`${name}:p75`];
      const shares = ["good_share", "needs_improvement_share", "poor_share"].map((s) => (r && r[`${name}:${s}`]) || 0);
      p.fill(el("div", { class: "kpi" },
        el("div", { class: "value" }, fmtVital(name, v), " ", rating(ratingOf(name, v))),
        el("div", { class: "shares", role: "img", "aria-label": `good ${fmtPct(shares[0])}, needs improvement ${fmtPct(shares[1])}, poor ${fmtPct(shares[2])}` },
          shares.map((s) => el("span", { style: `width:${s * 100}%` }))),
        el("div", { class: "label" }, `good ${fmtPct(shares[0])} · poor ${fmtPct(shares[2])}`)));
    });
  }
  const wide = el("div", { class: "wide" });
  main.append(wide);
  const statSelect = el("select", { "aria-label": "Statistic", onchange: (e) => go({ stat: e.target.value }) },
    STATS.map(([v, label]) => el("option", { value: v, selected: v === state.stat ? "" : null }, label)));
  load(panel(wide, "Load time and traffic over time"), async (p) => {
    const rows = await query(state, { metrics: ["page_views", `duration:${state.stat}`, `lcp:${state.stat}`], interval: interval(state), limit: 2000 });
    const node = el("div", { class: "chart", role: "img", "aria-label": "Load time and page views over time" });
    p.fill(el("div", { class: "toolbar" }, el("label", {}, "Statistic ", statSelect)), node);
    chart(node, {
      legend: {},
      xAxis: { type: "time" },
      yAxis: [{ type: "value", name: "ms" }, { type: "value", name: "page views" }],
      series: [
        { name: `duration (${state.stat})`, type: "line", showSymbol: false, data: rows.map((r) => [r.time, r[`duration:${state.stat}`]]) },
        { name: `LCP (${state.stat})`, type: "line", showSymbol: false, data: rows.map((r) => [r.time, r[`lcp:${state.stat}`]]) },
        { name: "page views", type: "bar", yAxisIndex: 1, data: rows.map((r) => [r.time, r.page_views]), itemStyle: { opacity: 0.35 } },
      ],
    });
  });
  load(panel(wide, "Load time distribution"), async (p) => {
    const qs = ["p50", "p75", "p90", "p95", "p99"];
    const [r] = await query(state, { metrics: qs.map((q) => `duration:${q}`).concat(["duration:min"]), filters: [...state.filters, ["action_type", "is", "load"]] });
    const node = el("div", { class: "chart", role: "img", "aria-label": "Percentiles of the load time" });
    p.fill(node);
    chart(node, {
      xAxis: { type: "category", data: ["min", ...qs] },
      yAxis: { type: "value", name: "ms" },
      series: [{ type: "bar", data: [r && r["duration:min"], ...qs.map((q) => r && r[`duration:${q}`])] }],
    });
  });
}

async function compare(main, state) {
  main.append(el("h1", {}, "Compare"));
  const dimSelect = el("select", { "aria-label": "Compare by", onchange: (e) => go({ dim: e.target.value }) },
    DIMENSIONS.map((d) => el("option", { value: d, selected: d === state.dim ? "" : null }, d.replace("_", " "))));
  const statSelect = el("select", { "aria-label": "Statistic", onchange: (e) => go({ stat: e.target.value }) },
    STATS.map(([v, label]) => el("option", { value: v, selected: v === state.stat ? "" : null }, label)));
  main.append(el("div", { class: "toolbar" }, el("label", {}, "Compare by ", dimSelect), el("label", {}, "Statistic ", statSelect),
    el("span", { class: "muted" }, "Select a row to filter everything by it.")));
  load(panel(main, `By ${state.dim.replace("_", " ")}`), async (p) => {
    const s = state.stat;
    const rows = await query(state, { metrics: ["count", "page_views", `duration:${s}`, `lcp:${s}`, `inp:${s}`, "apdex"], dimensions: [state.dim], order_by: "-count", limit: 50 });
    if (!rows.length) return p.fill(emptyState());
    p.fill(table([
      [state.dim, state.dim.replace("_", " ")], ["count", "actions", 1, fmtNum], ["page_views", "page views", 1, fmtNum],
      [`duration:${s}`, `duration (${s})`, 1, fmtMs], [`lcp:${s}`, `LCP (${s})`, 1, fmtMs], [`inp:${s}`, `INP (${s})`, 1, fmtMs],
      ["apdex", "Apdex", 1, (v, r) => el("span", {}, v == null ? "–" : v.toFixed(2), " ", rating(r.apdex_rating))],
    ], rows, (row) => addFilter(state, state.dim, row[state.dim])));
  });
}

async function performance_(main, state) {
  main.append(el("h1", {}, "Performance"));
  const wide = el("div", { class: "wide" });
  main.append(wide);
  const phases = ["redirect", "dns", "tcp", "tls", "request", "response", "dom_processing"];
  load(panel(wide, "Navigation Timing (median per phase, page loads)"), async (p) => {
    const [r] = await query(state, { metrics: phases.map((x) => `${x}:p50`), filters: [...state.filters, ["action_type", "is", "load"]] });
    const node = el("div", { class: "chart", role: "img", "aria-label": "Median duration of each page-load phase" });
    p.fill(node);
    let offset = 0;
    const starts = [];
    const values = phases.map((x) => (r && r[`${x}:p50`]) || 0);
    for (const v of values) starts.push(offset), (offset += v);
    chart(node, {
      tooltip: { trigger: "item", formatter: (i) => `${i.name}: ${fmtMs(i.value)}` },
      xAxis: { type: "value", name: "ms" }, yAxis: { type: "category", data: phases, inverse: true },
      series: [
        { type: "bar", stack: "w", data: starts, itemStyle: { color: "transparent" }, tooltip: { show: false } },
        { type: "bar", stack: "w", data: values },
      ],
    });
  });
  load(panel(wide, "Server, network and frontend time (median)"), async (p) => {
    const rows = await query(state, { metrics: ["server_time:p50", "network_time:p50", "frontend_time:p50"], interval: interval(state), limit: 2000, filters: [...state.filters, ["action_type", "is", "load"]] });
    const node = el("div", { class: "chart", role: "img", "aria-label": "Server, network and frontend contribution over time" });
    p.fill(node);
    chart(node, {
      legend: {}, xAxis: { type: "time" }, yAxis: { type: "value", name: "ms" },
      series: ["server_time", "network_time", "frontend_time"].map((m) => ({
        name: m.replace("_time", ""), type: "line", stack: "t", areaStyle: {}, showSymbol: false,
        data: rows.map((r) => [r.time, r[`${m}:p50`]]) })),
    });
  });
}

async function actions(main, state) {
  main.append(el("h1", {}, "User actions"));
  load(panel(main, "Actions"), async (p) => {
    const rows = await query(state, { metrics: ["count", "duration:p50", "duration:p90", "apdex"], dimensions: ["action_name", "action_type"], order_by: "-count", limit: 100 });
    if (!rows.length) return p.fill(emptyState());
    p.fill(table([
      ["action_name", "action"], ["action_type", "type"], ["count", "count", 1, fmtNum],
      ["duration:p50", "median", 1, fmtMs], ["duration:p90", "p90", 1, fmtMs],
      ["apdex", "Apdex", 1, (v, r) => el("span", {}, v == null ? "–" : v.toFixed(2), " ", rating(r.apdex_rating))],
    ], rows, (row) => addFilter(state, "action_name", row.action_name)));
  });
}

async function errorsPage(main, state) {
  main.append(el("h1", {}, "Errors"));
  const filters = state.filters.filter(([d]) => !["action_type", "action_name"].includes(d));
  load(panel(main, "Errors by group"), async (p) => {
    const rows = await query({ ...state, filters }, { metrics: ["errors", "error_sessions"], dimensions: ["error_type", "message", "fingerprint"], order_by: "-errors", limit: 100 });
    if (!rows.length) return p.fill(el("p", { class: "muted" }, "No errors in this time range."));
    p.fill(table([
      ["error_type", "type"], ["message", "message"], ["errors", "count", 1, fmtNum], ["error_sessions", "sessions", 1, fmtNum],
    ], rows, (row) => addFilter(state, "error_type", row.error_type)));
  });
}

async function settings(main, state, apps) {
  main.append(el("h1", {}, "Settings"));
  const app = apps.find((a) => a.id === state.app);
  if (!app) return main.append(el("p", {}, "No application."));
  main.append(el("section", { class: "card" },
    el("h2", {}, app.name),
    el("p", {}, "Application id ", el("code", {}, app.id)),
    el("p", {}, "Allowed origins: ", app.origins.length ? app.origins.join(", ") : "any server-side sender"),
    el("p", {}, "Paste this into the <head> of every page:"),
    el("pre", {}, app.snippet)));
}

// -- the shell ------------------------------------------------------------------------------
let apps = [];
let timer = 0;
async function render() {
  const state = readState();
  if (!state.app && apps.length) return go({ app: apps[0].id });
  for (const c of charts.splice(0)) c.dispose();
  clearTimeout(timer);
  $("#nav").replaceChildren(...PAGES.map(([p, label]) =>
    el("a", { href: link(state, { page: p }), "aria-current": p === state.page ? "page" : null }, label)));
  $("#app").replaceChildren(...apps.map((a) => el("option", { value: a.id, selected: a.id === state.app ? "" : null }, a.name)));
  $("#range").value = state.range;
  $("#filters").replaceChildren(...state.filters.map(([d, op, v], i) =>
    el("span", { class: "chip" }, `${d.replace("_", " ")} ${op.replace("_", " ")} ${v}`,
      el("button", { type: "button", "aria-label": `Remove filter ${d}`, onclick: () => go({ filters: state.filters.filter((_, j) => j !== i) }) }, "×"))));
  const main = $("#main");
  main.replaceChildren();
  if (!apps.length) return main.append(emptyState());
  const page = { overview, compare, performance: performance_, actions, errors: errorsPage, settings }[state.page];
  await page(main, state, apps);
  // Near real time: the overview refreshes itself while it is shown.
  if (state.page === "overview") timer = setTimeout(() => readState().page === "overview" && render(), 5000);
}

async function start() {
  const me = await api("/api/v1/me");
  csrf = me.csrf || "";
  apps = (await api("/api/v1/apps")).apps;
  $("#app").addEventListener("change", (e) => go({ app: e.target.value, filters: [] }));
  $("#range").addEventListener("change", (e) => go({ range: e.target.value }));
  $("#logout").addEventListener("click", async () => {
    await fetch("/api/v1/logout", { method: "POST", headers: { "x-csrf-token": csrf } });
    location.href = "/login";
  });
  window.addEventListener("hashchange", render);
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));
  render();
}
start();
