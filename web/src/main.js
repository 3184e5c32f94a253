// The OpenRUM dashboard: a small single-page app over the public API (docs/api.md, docs/dashboard.md).
// Everything that came from a beacon is rendered as text (text nodes), never as HTML.
import { PAGES, RANGES, readState, link, go } from "./state.js";
import { api, query, setCsrf, setMetaListener } from "./api.js";
import { $, el } from "./dom.js";
import { FILTER_DIMS, dimLabel } from "./catalogue.js";
import { makeView } from "./view.js";
import { disposeCharts } from "./charts.js";
import { countryName } from "./geo.js";
import { overview } from "./pages/overview.js";

// The overview is in the script the page loads; every other page is a chunk loaded when first shown
// (a smaller first load, docs/dashboard.md).
const RENDERERS = { overview: async () => overview,
  compare: () => import("./pages/compare.js").then((m) => m.compare),
  map: () => import("./pages/map.js").then((m) => m.mapPage),
  performance: () => import("./pages/performance.js").then((m) => m.performancePage),
  actions: () => import("./pages/actions.js").then((m) => m.actionsPage),
  errors: () => import("./pages/errors.js").then((m) => m.errorsPage),
  sessions: () => import("./pages/sessions.js").then((m) => m.sessionsPage),
  settings: () => import("./pages/settings.js").then((m) => m.settingsPage),
  releases: () => import("./pages/releases.js").then((m) => m.releasesPage),
  alerts: () => import("./pages/alerts.js").then((m) => m.alertsPage) };
// Near real time: a beacon is stored within about a second; the overview asks again every 3 s.
const LIVE_MS = 3000;
const ctx = { apps: [], me: null, gen: 0, live: [], render, reloadApps, lastPage: "" };

function toLocalInput(d) {
  const z = new Date(d - d.getTimezoneOffset() * 60e3);
  return z.toISOString().slice(0, 16);
}

function header(state) {
  $("#nav").replaceChildren(...PAGES.map(([p, label]) =>
    el("a", { href: link(state, { page: p }), "aria-current": p === state.page ? "page" : null }, label)));
  $("#app").replaceChildren(...ctx.apps.map((a) => el("option", { value: a.id, selected: a.id === state.app }, a.name)));
  $("#range").replaceChildren(...Object.entries(RANGES).map(([k, [label]]) => el("option", { value: k, selected: k === state.range }, label)),
    el("option", { value: "custom", selected: state.range === "custom" }, "Custom…"));
  const custom = state.range === "custom";
  $("#custom").hidden = !custom && $("#range").value !== "custom";
  if (custom) {
    $("#from").value = toLocalInput(new Date(state.from));
    $("#to").value = toLocalInput(new Date(state.to));
  }
  $("#synthetic").checked = state.users === "all";
  $("#who").textContent = ctx.me ? ctx.me.name : "";
}

function filterBar(state) {
  const chips = state.filters.map(([d, op, v], i) =>
    el("span", { class: "chip" },
      el("span", {}, el("b", {}, dimLabel(d)), ` ${op.replace("_", " ")} `, v === "∅" ? "(unknown)" : d === "country" && op === "is" ? `${countryName(v)} (${v})` : v),
      el("button", { type: "button", class: "x", "aria-label": `Remove filter ${dimLabel(d)} ${op.replace("_", " ")} ${v}`,
        onclick: () => go({ filters: state.filters.filter((_, j) => j !== i) }) }, "×")));
  const dim = el("select", { "aria-label": "Filter dimension" }, FILTER_DIMS.map((d) => el("option", { value: d }, dimLabel(d))));
  const op = el("select", { "aria-label": "Filter operator" },
    [["is", "is"], ["is_not", "is not"], ["contains", "contains"]].map(([v, t]) => el("option", { value: v }, t)));
  const list = el("datalist", { id: "filter-values" });
  const value = el("input", { type: "text", "aria-label": "Filter value", list: "filter-values", placeholder: "value", required: true, size: 18 });
  const suggest = async () => {
    list.replaceChildren();
    try {
      const rows = await query(state, { metrics: ["count"], dimensions: [dim.value], order_by: "-count", limit: 30 });
      list.replaceChildren(...rows.filter((r) => r[dim.value] != null).map((r) => el("option", { value: r[dim.value] })));
    } catch { /* suggestions are a convenience */ }
  };
  dim.addEventListener("change", suggest);
  value.addEventListener("focus", () => list.children.length || suggest(), { once: true });
  const form = el("form", { class: "add-filter", "aria-label": "Add a filter", onsubmit: (e) => {
    e.preventDefault();
    if (!value.value) return;
    go({ filters: [...state.filters, [dim.value, op.value, value.value]] });
  } }, dim, op, value, list, el("button", { type: "submit" }, "Add filter"));
  const clear = state.filters.length ? [el("button", { type: "button", class: "ghost", onclick: () => go({ filters: [] }) }, "Clear filters")] : [];
  $("#filters").replaceChildren(el("span", { class: "muted" }, state.filters.length ? "Filtered by" : "No filters"), ...chips, ...clear, form);
}

async function render() {
  const state = readState();
  if (!state.app && ctx.apps.length) return go({ app: ctx.apps[0].id }, true);
  ctx.gen += 1;
  ctx.live = [];
  $("#sampled").hidden = true;
  header(state);
  filterBar(state);
  const main = $("#main");
  disposeCharts();
  main.replaceChildren();
  document.title = `${(PAGES.find(([p]) => p === state.page) || [, "OpenRUM"])[1]} · OpenRUM`;
  if (!ctx.apps.length && state.page !== "settings") {
    main.append(el("section", { class: "empty" }, el("h1", {}, "No application yet"),
      el("p", {}, "Create one with ", el("code", {}, "openrum apps create --name Shop --origin https://shop.example"),
        " or the API (POST /api/v1/apps), then reload this page.")));
    return;
  }
  if (state.app && !ctx.apps.some((a) => a.id === state.app)) {
    main.append(el("section", { class: "empty" }, el("h1", {}, "Unknown application"),
      el("p", {}, "There is no application with this id, or you may not read it: ", el("code", {}, state.app))));
    return;
  }
  const view = makeView(ctx, state);
  const page = await RENDERERS[state.page]();
  if (view.stale()) return; // another render started while the page's chunk loaded
  await page(main, view);
  if (ctx.lastPage && ctx.lastPage !== state.page) main.focus({ preventScroll: true });
  ctx.lastPage = state.page;
}

let busy = false;
async function tick() {
  if (busy || document.hidden || !ctx.live.length) return;
  busy = true; // a slow store: skip a tick rather than pile queries up
  try {
    await Promise.all(ctx.live.map((fn) => fn()));
    $("#live").textContent = "Live · updated " + new Date().toLocaleTimeString("en-GB");
  } finally {
    busy = false;
  }
}

async function reloadApps() {
  ctx.apps = (await api("/api/v1/apps")).apps;
}

async function start() {
  // Both at once: one round trip less before the first page's queries.
  [ctx.me] = await Promise.all([api("/api/v1/me"), reloadApps()]);
  setCsrf(ctx.me.csrf);
  $("#app").addEventListener("change", (e) => go({ app: e.target.value, filters: [] }));
  $("#range").addEventListener("change", (e) => {
    if (e.target.value !== "custom") return go({ range: e.target.value });
    $("#custom").hidden = false;
    const to = new Date(), from = new Date(to - 86400e3);
    $("#from").value = toLocalInput(from);
    $("#to").value = toLocalInput(to);
    $("#from").focus();
  });
  $("#synthetic").addEventListener("change", (e) => go({ users: e.target.checked ? "all" : "real" }));
  $("#apply").addEventListener("click", () => {
    const from = new Date($("#from").value), to = new Date($("#to").value);
    if (!(from < to)) return alertBox("The start of a custom range must be before its end.");
    go({ range: "custom", from: from.toISOString(), to: to.toISOString() });
  });
  $("#logout").addEventListener("click", async () => {
    await fetch("/api/v1/logout", { method: "POST", headers: { "x-csrf-token": ctx.me.csrf || "" } });
    location.href = "/login";
  });
  setMetaListener((meta) => {
    if (!meta || !meta.estimate) return;
    const sampled = $("#sampled");
    sampled.textContent = `Estimates · ${(meta.sampling * 100).toLocaleString("en-GB", { maximumFractionDigits: 1 })} % of sessions sampled`;
    sampled.title = "Sessions are sampled (data-sample): counts are scaled back by each session's weight";
    sampled.hidden = false;
  });
  addEventListener("hashchange", render);
  setInterval(tick, LIVE_MS);
  document.addEventListener("visibilitychange", () => !document.hidden && tick());
  render();
}

function alertBox(text) {
  $("#live").textContent = text;
}

start().catch((e) => {
  if (e.status !== 401) $("#main").replaceChildren(el("p", { class: "error", role: "alert" }, "The dashboard could not start: ", e.message));
});
