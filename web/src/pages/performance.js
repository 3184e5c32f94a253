// Performance: the Navigation Timing waterfall (median per phase) for a page, the server / network /
// frontend contribution over time, distributions of the vitals, and the key user actions.
import { query, get } from "../api.js";
import { el, fmtMs, fmtNum, fmtMeasure, apdexCell, table, select, emptyNote, esc, rating, ratingOf, shareBar, valueText } from "../dom.js";
import { NAV_PHASES } from "../catalogue.js";
import { chart, chartBox, LEGEND_BELOW, timeAxis, seriesTooltip, overTime, onSlots, gappedLine } from "../charts.js";
import { go, withFilter } from "../state.js";
import { histogram } from "./overview.js";
import { diagnosticsPanels } from "./diagnostics.js";

const LOADS = [["action_type", "is", "load"]];
// Okabe–Ito without yellow (too pale on white): one colour per phase.
const WATERFALL = ["#999999", "#56B4E9", "#009E73", "#CC79A7", "#0072B2", "#E69F00", "#D55E00"];

export async function performancePage(main, view) {
  const { state } = view;
  main.append(el("h1", {}, "Performance"));
  const pageFilter = state.filters.find(([d, op]) => d === "page" && op === "is");
  const picker = el("div", { class: "toolbar" }, el("span", { class: "muted" }, "Loading pages…"));
  main.append(picker);
  query(state, { metrics: ["page_views"], dimensions: ["page"], order_by: "-page_views", limit: 100 }, { filters: [] })
    .then((rows) => {
      const pages = rows.map((r) => r.page).filter((x) => x != null);
      if (pageFilter && !pages.includes(pageFilter[2])) pages.unshift(pageFilter[2]);
      picker.replaceChildren(select("Page", [["", "All pages"], ...pages.map((x) => [x, x])], pageFilter ? pageFilter[2] : "",
        (v) => go({ filters: v ? withFilter(state, "page", v) : state.filters.filter(([d]) => d !== "page") })),
        el("span", { class: "muted" }, "Page loads only; medians per phase."));
    }).catch(() => picker.replaceChildren());
  const wide = el("div", { class: "wide" });
  main.append(wide);

  view.panel(wide, "Navigation Timing waterfall", async (p) => {
    const metrics = NAV_PHASES.map(([x]) => `${x}:p50`);
    const [r] = await query(state, { metrics: [...metrics, "count"] }, { filters: LOADS });
    if (!r || !r.count) return p.fill(emptyNote("No page load in this range."));
    const values = NAV_PHASES.map(([x]) => Math.max((r && r[`${x}:p50`]) || 0, 0));
    const starts = [];
    let offset = 0;
    for (const v of values) starts.push(offset), (offset += v);
    const node = chartBox("Waterfall: " + NAV_PHASES.map(([, l], i) => `${l} ${fmtMs(values[i])}`).join(", "));
    p.fill(node, el("p", { class: "small muted" }, `Sum of the phase medians: ${fmtMs(offset)} over ${fmtNum(r.count)} page loads. `,
      "A phase of 0 ms did not happen (cached DNS, reused connection, no redirect)."));
    chart(p, node, {
      grid: { left: 120, right: 60, top: 12, bottom: 28 },
      tooltip: { trigger: "item", confine: true, formatter: (i) => `${esc(i.name)}: <b>${esc(fmtMs(values[i.dataIndex]))}</b><br>starts at ${esc(fmtMs(starts[i.dataIndex]))}` },
      xAxis: { type: "value", axisLabel: { formatter: (v) => fmtMs(v) } },
      yAxis: { type: "category", data: NAV_PHASES.map(([, l]) => l), inverse: true },
      series: [
        { type: "bar", stack: "w", data: starts, itemStyle: { color: "transparent" }, tooltip: { show: false }, emphasis: { disabled: true } },
        { type: "bar", stack: "w", data: values.map((v, i) => ({ value: v, itemStyle: { color: WATERFALL[i] } })),
          label: { show: true, position: "right", formatter: (i) => fmtMs(i.value) } },
      ],
    });
  });

  view.panel(wide, "Server, network and frontend time", async (p) => {
    const parts = ["server_time", "network_time", "frontend_time"];
    const t = await overTime(state, { metrics: parts.map((x) => `${x}:p50`) }, { filters: LOADS });
    if (!t.rows.length) return p.fill(emptyNote("No page load in this range."));
    const node = chartBox("Median server, network and frontend time of page loads over time, stacked");
    p.fill(node);
    chart(p, node, {
      ...LEGEND_BELOW,
      tooltip: { trigger: "axis", confine: true, formatter: seriesTooltip((v) => fmtMs(v)) },
      xAxis: timeAxis(t.window), yAxis: { type: "value", axisLabel: { formatter: (v) => fmtMs(v) } },
      series: parts.map((x, i) => gappedLine(x.replace("_time", ""), onSlots(t.slots, t.rows, (r) => r[`${x}:p50`]),
        ["#0072B2", "#E69F00", "#009E73"][i], { stack: "t", areaStyle: { opacity: 0.55 } })),
    });
  });

  for (const [measure, label] of [["lcp", "Largest Contentful Paint"], ["inp", "Interaction to Next Paint"], ["ttfb", "Time to First Byte"], ["cls", "Cumulative Layout Shift"]]) {
    view.panel(wide, `${label} distribution`, async (p) => {
      const d = await get("/api/v1/distribution", state, { measure, buckets: "40" });
      if (!d.count) return p.fill(emptyNote(`No ${label} measured in this range.`));
      histogram(p, d, label, measure);
    });
  }

  const targets = el("div", { class: "wide" });
  main.append(el("h2", { class: "section" }, "What the Web Vitals point at ",
    el("span", { class: "muted" }, pageFilter ? "the elements most often reported" : "the elements most often reported, per page")), targets);
  attribution(view, targets, [], !pageFilter);

  // Why: the diagnostics module's waterfall, third parties and slow-interaction scripts.
  const why = el("div", { class: "wide" });
  main.append(el("h2", { class: "section" }, "Why it is slow ", el("span", { class: "muted" }, "diagnostics of a sample of sessions")), why);
  diagnosticsPanels(view, why);

  view.panel(main, "Key user actions", async (p) => {
    const keys = Object.keys((view.app && view.app.config && view.app.config.key_actions) || {});
    const filters = keys.length ? [["action_name", "in", keys]] : [["action_type", "in", ["xhr", "custom"]]];
    const rows = await query(state, { metrics: ["count", "duration:p50", "duration:p90", "apdex"], dimensions: ["action_name", "action_type"], order_by: "-count", limit: 10 }, { filters });
    if (!rows.length) return p.fill(emptyNote("No user interaction in this range."));
    p.fill(el("p", { class: "small muted" }, keys.length ? "The key user actions configured for this application." : "The most frequent interactions (no key user actions configured)."),
      table([
        { key: "action_name", label: "Action" }, { key: "action_type", label: "Type" },
        { key: "count", label: "Count", num: 1, fmt: fmtNum }, { key: "duration:p50", label: "Median", num: 1, fmt: fmtMs },
        { key: "duration:p90", label: "p90", num: 1, fmt: fmtMs }, { key: "apdex", label: "Apdex", num: 1, fmt: (v, r) => apdexCell(v, r.apdex_rating) },
      ], rows, { label: "Key user actions", rowLabel: (r) => `Details of ${r.action_name}`, onRow: (r) => go({ page: "actions", action: r.action_name }) }));
  }, { cls: "" });
}

// Web Vitals attribution (the agent's CSS selector of the element): the LCP element, the INP's
// target with its three phases, the CLS's source; p75 of each, the most frequent first.
const TARGETS = [
  ["lcp_target", "LCP elements", "LCP element", [["lcp", "LCP p75"]]],
  ["cls_target", "CLS sources", "CLS source", [["cls", "CLS p75"]]],
  ["inp_target", "INP targets", "INP target", [["inp", "INP p75"], ["inp_input_delay", "Input delay"],
    ["inp_processing", "Processing"], ["inp_presentation", "Presentation delay"]]],
];

// A panel per vital of `dims` in `parent`: its targets (per page when `perPage`) under
// `filters`. With `quiet`, a vital nothing was reported for shows no panel.
export function attribution(view, parent, filters, perPage, quiet = false, dims = TARGETS.map(([d]) => d)) {
  for (const [dim, title, label, measures] of TARGETS.filter(([d]) => dims.includes(d))) {
    const wide = measures.length > 1;
    const card = view.panel(parent, title, async (p) => {
      const dims = perPage ? ["page", dim] : [dim];
      const rows = await query(view.state, { metrics: ["count", ...measures.map(([m]) => `${m}:p75`)], dimensions: dims, order_by: "-count", limit: 10 },
        { filters: [...filters, [dim, "is_not", null]] });
      if (!rows.length) {
        if (quiet) return card.card.remove();
        return p.fill(emptyNote(`No ${label} reported in this range.`));
      }
      const vital = measures[0][0];
      p.fill(table([
        // The page under the element (not a column of its own): narrow screens keep both legible.
        { key: dim, label, cls: "target", fmt: (v, r) => [el("span", { class: "dimval mono" }, v), perPage ? el("div", { class: "small muted dimval" }, "on ", valueText(r.page)) : null] },
        { key: "count", label: "Actions", num: 1, fmt: fmtNum },
        { key: `${vital}:p75`, label: measures[0][1], num: 1, fmt: (v) => el("span", {}, fmtMeasure(vital, v), " ", rating(ratingOf(vital, v))) },
        ...measures.slice(1).map(([m, l]) => ({ key: `${m}:p75`, label: `${l} p75`, num: 1, fmt: fmtMs })),
        ...(wide ? [{ label: "Phases", fmt: (_, r) => phases(r) }] : []),
      ], rows, { label: title }));
    }, { cls: wide ? "span2" : "" });
  }
}

// The INP's phases as shares of their sum (input delay, processing, presentation delay).
function phases(r) {
  const v = ["inp_input_delay", "inp_processing", "inp_presentation"].map((m) => Math.max(r[`${m}:p75`] || 0, 0));
  const sum = v.reduce((a, b) => a + b, 0);
  if (!sum) return "–";
  const bar = shareBar(v.map((x) => x / sum), ["input_delay", "processing", "presentation"], ["input delay", "processing", "presentation delay"]);
  bar.classList.add("split");
  return bar;
}
