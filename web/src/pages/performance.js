// Performance: the Navigation Timing waterfall (median per phase) for a page, the server / network /
// frontend contribution over time, distributions of the vitals, and the key user actions.
import { query, get } from "../api.js";
import { el, fmtMs, fmtNum, apdexCell, table, select, emptyNote, esc } from "../dom.js";
import { NAV_PHASES } from "../catalogue.js";
import { chart, chartBox, timeAxis, seriesTooltip, overTime, onSlots, gappedLine } from "../charts.js";
import { go, withFilter } from "../state.js";
import { histogram } from "./overview.js";

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
      legend: { top: 0 },
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
