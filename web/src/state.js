// Application, time range, filters and per-page choices live in the URL hash
// (#/page?app=…&range=…&f=dim|op|value…): every view is a link, and back/forward work.

export const PAGES = [
  ["overview", "Overview"], ["compare", "Compare"], ["map", "Map"], ["performance", "Performance"],
  ["actions", "User actions"], ["errors", "Errors"], ["sessions", "Sessions"], ["releases", "Releases"],
  ["alerts", "Alerts"], ["settings", "Settings"],
];
export const RANGES = {
  "15m": ["Last 15 minutes", 15 * 60e3], "1h": ["Last hour", 3600e3], "6h": ["Last 6 hours", 6 * 3600e3],
  "24h": ["Last 24 hours", 86400e3], "7d": ["Last 7 days", 7 * 86400e3], "30d": ["Last 30 days", 30 * 86400e3],
};
// Defaults are left out of links, so that URLs stay short. `users`: whose traffic every figure
// counts, real users (the default) or all (with synthetic monitors and bots): the API's user_type.
const DEFAULTS = { range: "24h", stat: "p50", dim: "page", metric: "duration", by: "page_views", users: "real" };
// Page-specific keys: kept while on the page, dropped when navigating to another page.
const PAGE_KEYS = ["action", "fp", "session", "ux", "errors_only", "rage", "tag", "live", "rel", "status", "sort"];
const KEYS = ["app", "range", "from", "to", "stat", "dim", "metric", "by", "users", ...PAGE_KEYS];
export const NULL_VALUE = "∅"; // a filter on a missing value (e.g. no country known)

export function readState() {
  const [path, search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const q = new URLSearchParams(search);
  const s = { page: PAGES.some(([p]) => p === path) ? path : "overview" };
  for (const k of KEYS) s[k] = q.get(k) ?? DEFAULTS[k] ?? "";
  if (!(s.range in RANGES) && !(s.range === "custom" && validRange(s.from, s.to))) s.range = "24h";
  if (s.users !== "all") s.users = "real";
  s.filters = q.getAll("f").map(parseFilter).filter(Boolean);
  return s;
}

function validRange(from, to) {
  const a = Date.parse(from), b = Date.parse(to);
  return Number.isFinite(a) && Number.isFinite(b) && a < b;
}

// "dim|op|value": the value may itself contain "|", so split on the first two only.
function parseFilter(text) {
  const i = text.indexOf("|"), j = text.indexOf("|", i + 1);
  if (i < 1 || j < 0) return null;
  const op = text.slice(i + 1, j);
  if (!["is", "is_not", "contains"].includes(op)) return null;
  return [text.slice(0, i), op, text.slice(j + 1)];
}

export function link(state, changes = {}) {
  const s = { ...state, ...changes };
  if (changes.page && changes.page !== state.page) for (const k of PAGE_KEYS) if (!(k in changes)) s[k] = "";
  const q = new URLSearchParams();
  for (const k of KEYS) {
    if (s[k] && s[k] !== DEFAULTS[k] && !((k === "from" || k === "to") && s.range !== "custom")) q.set(k, s[k]);
  }
  for (const [d, op, v] of s.filters) q.append("f", `${d}|${op}|${v}`);
  return `#/${s.page}?${q}`;
}

export function go(changes, replace = false) {
  const target = link(readState(), changes);
  if (replace) history.replaceState(null, "", target), dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}

// The [from, to) of a view: a preset rolls with the clock; a custom range is fixed.
export function timeWindow(state) {
  if (state.range === "custom") return { from: new Date(state.from), to: new Date(state.to) };
  const to = new Date();
  return { from: new Date(to - RANGES[state.range][1]), to };
}

// The query API's interval that gives about 30–120 points over the window.
export function interval(state, points = 200) {
  const { from, to } = timeWindow(state);
  const span = (to - from) / 1000;
  for (const [name, s] of [["1m", 60], ["5m", 300], ["15m", 900], ["1h", 3600]]) if (span / s <= points) return name;
  return "1d";
}

export function withFilter(state, dim, value, op = "is") {
  return [...state.filters.filter(([d]) => d !== dim), [dim, op, value ?? NULL_VALUE]];
}
