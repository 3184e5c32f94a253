// Diagnostics (docs/dashboard.md, docs/agent.md "Diagnostics"): why pages are slow, from the
// diagnostics module's rows through the query API — the waterfall of a representative load, the
// third parties, the scripts that make interactions slow — and, for one page view of a session,
// its waterfall or the scripts of its slow interactions.
import { query } from "../api.js";
import { el, esc, fmtMs, fmtNum, fmtPct, emptyNote, table, valueText } from "../dom.js";
import { chart, chartBox } from "../charts.js";

const KB = (v) => (v == null ? "–" : v >= 1048576 ? (v / 1048576).toFixed(1) + " MB" : v >= 1024 ? Math.round(v / 1024) + " KB" : v + " B");
const PHASES = [["dns", "DNS", "#56B4E9"], ["connect", "connect", "#009E73"], ["request", "request", "#0072B2"], ["response", "response", "#E69F00"]];
const RESOURCES = [["diag_kind", "is", "resource"]];

// The rows of one page view's waterfall, earliest first.
async function resources(state, pageView, window) {
  return query(state, {
    metrics: ["diag_start:min", "diag_duration:max", ...PHASES.map(([k]) => `diag_${k}:max`), "diag_tls:max", "diag_bytes"],
    dimensions: ["diag_item", "initiator", "party", "third_party", "cache", "render_blocking", "lcp_resource"],
    order_by: "diag_start:min", limit: 200,
  }, { filters: [...RESOURCES, ["page_view_id", "is", pageView]], window });
}

// A waterfall chart and table of one page view's load.
export async function waterfall(p, state, pageView, window) {
  const rows = await resources(state, pageView, window);
  if (!rows.length) return p.fill(emptyNote("No waterfall for this page view (diagnostics run for a sample of sessions)."));
  const name = (r) => valueText(r.diag_item).replace(/^https?:\/\/[^/]+/, (o) => (r.party === "third" ? o.replace(/^https?:\/\//, "") : "")) || "/";
  const start = rows.map((r) => r["diag_start:min"] || 0);
  const phase = (k) => rows.map((r) => Math.max(r[`diag_${k}:max`] || 0, 0));
  // What the phases do not cover (queueing, redirects, cache reads) shows as "waiting".
  const waiting = rows.map((r, i) => Math.max((r["diag_duration:max"] || 0) - PHASES.reduce((a, [k]) => a + phase(k)[i], 0), 0));
  const node = chartBox(`Waterfall of ${rows.length} resources: ` + rows.slice(0, 8).map((r, i) => `${name(r)} at ${fmtMs(start[i])} for ${fmtMs(r["diag_duration:max"])}`).join(", "), "chart tall");
  p.fill(node, table([
    { label: "Resource", cls: "target", fmt: (_, r) => el("span", { class: "dimval mono", title: r.diag_item }, name(r)) },
    { key: "initiator", label: "Type" },
    { label: "Party", fmt: (_, r) => (r.party === "third" ? r.third_party || "third party" : valueText(r.party)) },
    { label: "Blocking", fmt: (_, r) => [r.render_blocking ? "render-blocking" : "", r.lcp_resource ? "LCP" : ""].filter(Boolean).join(", ") || "–" },
    { key: "diag_start:min", label: "Start", num: 1, fmt: fmtMs },
    { key: "diag_duration:max", label: "Duration", num: 1, fmt: fmtMs },
    { key: "diag_bytes", label: "Size", num: 1, fmt: KB },
    { key: "cache", label: "Cache" },
  ], rows, { label: "Waterfall resources" }));
  chart(p, node, {
    grid: { left: 200, right: 40, top: 12, bottom: 28 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, formatter: (items) => {
      const i = items[0].dataIndex, r = rows[i];
      return `${esc(r.diag_item)}<br>${PHASES.map(([k, l]) => `${l} ${esc(fmtMs(r[`diag_${k}:max`]))}`).join(" · ")}` +
        `<br>start ${esc(fmtMs(start[i]))}, duration <b>${esc(fmtMs(r["diag_duration:max"]))}</b>`;
    } },
    xAxis: { type: "value", axisLabel: { formatter: (v) => fmtMs(v) } },
    yAxis: { type: "category", data: rows.map(name), inverse: true, axisLabel: { width: 190, overflow: "truncate" } },
    series: [
      { type: "bar", stack: "w", data: start, itemStyle: { color: "transparent" }, emphasis: { disabled: true } },
      { type: "bar", stack: "w", name: "waiting", data: waiting, itemStyle: { color: "#cccccc" } },
      ...PHASES.map(([k, l, c]) => ({ type: "bar", stack: "w", name: l, data: phase(k), itemStyle: { color: c } })),
    ],
  });
}

// The scripts of one page view's slow interactions (or all its long-frame scripts).
export async function attributionOf(p, state, pageView, window) {
  const rows = await query(state, {
    metrics: ["diag_duration:max", "diag_style_layout:max", "diag_interaction_ms:max"],
    dimensions: ["interaction", "script_source", "function_name", "invoker", "invoker_type", "party", "third_party"],
    order_by: "-diag_duration:max", limit: 50,
  }, { filters: [["diag_kind", "is", "script"], ["page_view_id", "is", pageView]], window });
  if (!rows.length) return p.fill(emptyNote("No script attribution for this page view (diagnostics run for a sample of sessions, in Chromium 123+)."));
  p.fill(scriptTable(rows, "diag_duration:max", "Scripts of this page view's long frames"));
}

function scriptTable(rows, key, label, extra = []) {
  return table([
    { label: "Script", cls: "target", fmt: (_, r) => [el("span", { class: "dimval mono" }, r.function_name || "(anonymous)"),
      el("div", { class: "small muted dimval" }, valueText(r.script_source))] },
    { label: "Invoker", fmt: (_, r) => [el("span", { class: "mono" }, valueText(r.invoker)), el("div", { class: "small muted" }, valueText(r.invoker_type))] },
    ...(rows[0] && "interaction" in rows[0] ? [{ key: "interaction", label: "Interaction", fmt: (v) => (v == null ? "page load" : el("span", { class: "mono" }, v)) }] : []),
    ...(rows[0] && "page" in rows[0] ? [{ key: "page", label: "Page" }] : []),
    ...extra,
    { key, label: key.endsWith("p75") ? "Duration p75" : "Duration", num: 1, fmt: fmtMs },
  ], rows, { label });
}

// The Performance page's diagnostics: a representative load's waterfall (median or slowest
// decile), the third parties, the scripts behind slow interactions.
export function diagnosticsPanels(view, parent) {
  const { state } = view;
  let show = null;
  const buttons = [["median", "Median load"], ["slow", "Slowest decile"]].map(([k, l]) =>
    el("button", { type: "button", class: "ghost", "aria-pressed": String(k === "median"), onclick: () => show && show(k) }, l));
  view.panel(parent, "Waterfall of a representative load", async (p) => {
    // Each diagnosed page view's load, by when its last waterfall resource ended.
    const loads = await query(state, { metrics: ["diag_end:max"], dimensions: ["page_view_id"], order_by: "diag_end:max", limit: 1000 },
      { filters: RESOURCES });
    if (!loads.length) return p.fill(emptyNote("No diagnostics in this range: the diagnostics module runs for a sample of sessions (data-diag)."));
    show = async (pick) => {
      buttons.forEach((b, i) => b.setAttribute("aria-pressed", String((i === 0) === (pick === "median"))));
      const at = pick === "median" ? Math.floor((loads.length - 1) / 2) : Math.min(loads.length - 1, Math.floor(loads.length * 0.9));
      const chosen = loads[at];
      await waterfall(p, state, chosen.page_view_id);
      p.body.prepend(el("p", { class: "small muted" }, `${pick === "median" ? "The median" : "A slowest-decile"} load of ${fmtNum(loads.length)} diagnosed page views `,
        `(its last resource ended at ${fmtMs(chosen["diag_end:max"])}).`));
    };
    await show("median");
  }, { cls: "span2", actions: el("div", { class: "toolbar" }, ...buttons) });

  view.panel(parent, "Third parties", async (p) => {
    const dims = ["origin", "third_party", "third_party_category"];
    const third = [["party", "is", "third"]];
    const [blocking, bytes, views, present, loads] = await Promise.all([
      query(state, { metrics: ["diag_total_ms", "diag_page_views"], dimensions: dims, limit: 100 }, { filters: [...third, ["diag_kind", "is", "script"]] }),
      query(state, { metrics: ["diag_bytes", "diag_count", "diag_page_views"], dimensions: dims, limit: 100 }, { filters: [...third, ["diag_kind", "in", ["resource", "origin"]]] }),
      query(state, { metrics: ["diag_count"], dimensions: ["page_view_id"], limit: 10000 }, { filters: RESOURCES }),
      // Which diagnosed page views each third party was on, and those page views' LCP and INP.
      query(state, { metrics: ["diag_count"], dimensions: ["page_view_id", ...dims], limit: 10000 }, { filters: third }),
      query(state, { metrics: ["lcp:max", "inp:max"], dimensions: ["page_view_id"], limit: 10000 }, { filters: [["action_type", "is", "load"]] }),
    ]);
    const by = new Map();
    const key = (r) => `${r.origin}\u0000${r.third_party}`;
    for (const r of bytes) by.set(key(r), { ...r, diag_total_ms: null });
    for (const r of blocking) {
      const k = key(r), had = by.get(k) || { ...r, diag_bytes: null };
      by.set(k, { ...had, diag_total_ms: r.diag_total_ms, diag_page_views: Math.max(had.diag_page_views || 0, r.diag_page_views) });
    }
    // Its association with LCP and INP: the median of the diagnosed page views it was on
    // against that of those it was not on (a difference, not a cause).
    const vitals = new Map(loads.map((r) => [r.page_view_id, r]));
    const diagnosed = new Set(views.map((r) => r.page_view_id).filter((v) => vitals.has(v)));
    const on = new Map();
    for (const r of present) if (vitals.has(r.page_view_id)) (on.get(key(r)) || on.set(key(r), new Set()).get(key(r))).add(r.page_view_id);
    const median = (xs) => { const v = xs.filter((x) => x != null).sort((a, b) => a - b); return v.length ? v[Math.floor((v.length - 1) / 2)] : null; };
    const delta = (k, m) => {
      const with_ = on.get(k) || new Set();
      const a = median([...with_].map((v) => vitals.get(v)[`${m}:max`]));
      const b = median([...diagnosed].filter((v) => !with_.has(v)).map((v) => vitals.get(v)[`${m}:max`]));
      return a == null || b == null ? null : a - b;
    };
    const rows = [...by.values()].sort((a, b) => (b.diag_total_ms || 0) - (a.diag_total_ms || 0) || (b.diag_bytes || 0) - (a.diag_bytes || 0));
    if (!rows.length) return p.fill(emptyNote("No third-party resource or script in this range's diagnostics."));
    const pages = views.length;
    const signed = (v) => (v == null ? "–" : (v > 0 ? "+" : v < 0 ? "−" : "") + fmtMs(Math.abs(v)));
    p.fill(el("p", { class: "small muted" }, "Blocking time: the time its scripts ran in long animation frames, per diagnosed page view on average. ",
      "LCP and INP: the median of the diagnosed page loads with it minus that of those without (an association, not a cause; none when it is on every one). ",
      "Providers from the third-party-web list."),
    table([
      { label: "Third party", fmt: (_, r) => [el("span", {}, r.third_party || valueText(r.origin)), el("div", { class: "small muted" }, r.third_party ? r.origin : "unknown provider")] },
      { key: "third_party_category", label: "Category" },
      { label: "Blocking / page view", num: 1, fmt: (_, r) => fmtMs(r.diag_total_ms == null ? null : r.diag_total_ms / Math.max(r.diag_page_views, 1)) },
      { key: "diag_bytes", label: "Bytes", num: 1, fmt: KB },
      { label: "Pages affected", num: 1, fmt: (_, r) => fmtPct(pages ? Math.min(r.diag_page_views / pages, 1) : null) },
      { label: "LCP with − without", num: 1, fmt: (_, r) => signed(delta(key(r), "lcp")) },
      { label: "INP with − without", num: 1, fmt: (_, r) => signed(delta(key(r), "inp")) },
    ], rows.slice(0, 25), { label: "Third parties" }));
  }, { cls: "span2" });

  view.panel(parent, "Scripts that make interactions slow", async (p) => {
    const rows = await query(state, {
      metrics: ["diag_count", "diag_duration:p75", "diag_interaction_ms:p75"],
      dimensions: ["page", "script_source", "function_name", "invoker", "invoker_type"], order_by: "-diag_count", limit: 25,
    }, { filters: [["diag_kind", "is", "script"], ["interaction", "is_not", null]] });
    if (!rows.length) return p.fill(emptyNote("No slow interaction attributed in this range (needs the Long Animation Frames API: Chromium 123+)."));
    p.fill(el("p", { class: "small muted" }, "The scripts that ran in the long animation frames of interactions over 200 ms (and of each page's INP interaction)."),
      scriptTable(rows, "diag_duration:p75", "Slow interaction scripts", [
        { key: "diag_count", label: "Count", num: 1, fmt: fmtNum },
        { key: "diag_interaction_ms:p75", label: "Interaction p75", num: 1, fmt: fmtMs },
      ]));
  }, { cls: "span2" });
}
