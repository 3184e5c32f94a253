// User actions: counts, duration statistics, Apdex and errors per action; an action's detail.
import { query, get } from "../api.js";
import { el, fmtMs, fmtNum, fmtPct, apdexCell, table, emptyNote, installState, kpi, rating, shareBar } from "../dom.js";
import { chart, chartBox, LEGEND_BELOW, timeAxis, seriesTooltip, overTime, onSlots, gappedLine } from "../charts.js";
import { go, link } from "../state.js";
import { histogram } from "./overview.js";
import { attribution } from "./performance.js";

const PARTS = [["server_time", "Server"], ["network_time", "Network"], ["frontend_time", "Frontend"]];
// RUM.md: server = responseStart − requestStart; network = (requestStart − action start) +
// (responseEnd − responseStart); frontend = duration − server − network. Known when the action's
// request came with its timing (Navigation Timing for a load; for an xhr action, `nt`).
const split = (r) => {
  const v = PARTS.map(([k]) => Math.max(r[`${k}:p50`] || 0, 0));
  const sum = v.reduce((a, b) => a + b, 0);
  if (!sum) return "–";
  const bar = shareBar(v.map((x) => x / sum), ["server", "network", "frontend"], ["server", "network", "frontend"]);
  bar.classList.add("split");
  return bar;
};

export async function actionsPage(main, view) {
  const { state } = view;
  if (state.action) return detail(main, view, state.action);
  main.append(el("h1", {}, "User actions"));
  view.panel(main, "Actions", async (p) => {
    const { actions } = await get("/api/v1/actions", state, { limit: "200" });
    if (!actions.length) return p.fill(state.filters.length ? emptyNote("No action matches these filters in this range.") : installState(view.app));
    p.fill(table([
      { key: "action_name", label: "Action", cls: "dimval" }, { key: "action_type", label: "Type" },
      { key: "count", label: "Count", num: 1, fmt: fmtNum }, { key: "sessions", label: "Sessions", num: 1, fmt: fmtNum },
      { key: "duration:p50", label: "Median", num: 1, fmt: fmtMs }, { key: "duration:p90", label: "p90", num: 1, fmt: fmtMs },
      { key: "duration:p99", label: "p99", num: 1, fmt: fmtMs },
      { key: "apdex", label: "Apdex", num: 1, fmt: (v, r) => apdexCell(v, r.apdex_rating) },
      { key: "errors", label: "Errors", num: 1, fmt: (v, r) => `${fmtNum(v)} (${fmtPct(r.error_share)})` },
    ], actions, { label: "User actions", rowLabel: (r) => `Details of ${r.action_name}`, onRow: (r) => go({ action: r.action_name }) }));
  });
  view.panel(main, "Where the time of xhr actions goes", async (p) => {
    const rows = (await query(state, { metrics: ["count", "duration:p50", ...PARTS.map(([k]) => `${k}:p50`)], dimensions: ["action_name"], order_by: "-count", limit: 50 },
      { filters: [["action_type", "is", "xhr"]] })).filter((r) => r["server_time:p50"] != null);
    if (!rows.length) return p.fill(emptyNote("No xhr action in this range came with its request's timing (server, network and frontend time need it)."));
    p.fill(el("p", { class: "small muted" }, "Medians of the xhr actions whose request came with its timing: server = response start − request start; network = the time before the request and the response's download; frontend = the rest."),
      table([
        { key: "action_name", label: "Action", cls: "dimval" }, { key: "count", label: "Count", num: 1, fmt: fmtNum },
        { key: "duration:p50", label: "Median", num: 1, fmt: fmtMs },
        ...PARTS.map(([k, l]) => ({ key: `${k}:p50`, label: l, num: 1, fmt: fmtMs })),
        { label: "Split", fmt: (_, r) => split(r) },
      ], rows, { label: "Server, network and frontend time of xhr actions", rowLabel: (r) => `Details of ${r.action_name}`, onRow: (r) => go({ action: r.action_name }) }));
  });
}

async function detail(main, view, name) {
  const { state } = view;
  const only = [["action_name", "is", name]];
  main.append(el("p", { class: "crumbs" }, el("a", { href: link(state, { action: "" }) }, "User actions"), " › ", el("span", {}, name)));
  main.append(el("h1", { class: "dimval" }, name));
  const kpis = el("div", { class: "grid kpis" });
  main.append(kpis);
  view.panel(kpis, "Summary", async (p) => {
    const { actions } = await get("/api/v1/actions", state, { limit: "1000" }, { filters: only });
    const r = actions[0];
    if (!r) return p.fill(emptyNote("This action did not happen in this range."));
    p.fill(el("div", { class: "summary" },
      kpi(fmtNum(r.count), `${r.action_type} actions in ${fmtNum(r.sessions)} sessions`),
      kpi(fmtMs(r["duration:p50"]), `median · p90 ${fmtMs(r["duration:p90"])} · p99 ${fmtMs(r["duration:p99"])}`),
      kpi(el("span", {}, r.apdex == null ? "–" : r.apdex.toFixed(2), " ", rating(r.apdex_rating)), "Apdex"),
      kpi(fmtNum(r.errors), `errors · ${fmtPct(r.error_share)} of these actions had one`)));
  }, { cls: "span-all" });
  const wide = el("div", { class: "wide" });
  main.append(wide);
  view.panel(wide, "Duration over time", async (p) => {
    const t = await overTime(state, { metrics: ["count", "duration:p50", "duration:p90"] }, { filters: only });
    const node = chartBox(`Median and p90 duration of ${name} over time`);
    p.fill(node);
    chart(p, node, {
      ...LEGEND_BELOW, tooltip: { trigger: "axis", confine: true, formatter: seriesTooltip((v, s) => (s === "count" ? fmtNum(v) : fmtMs(v))) },
      xAxis: timeAxis(t.window), yAxis: [{ type: "value", axisLabel: { formatter: (v) => fmtMs(v) } }, { type: "value", name: "count", splitLine: { show: false } }],
      series: [
        { name: "count", type: "bar", yAxisIndex: 1, data: onSlots(t.slots, t.rows, (r) => r.count, 0), itemStyle: { color: "#56B4E9", opacity: 0.45 } },
        gappedLine("median", onSlots(t.slots, t.rows, (r) => r["duration:p50"]), "#0072B2"),
        gappedLine("p90", onSlots(t.slots, t.rows, (r) => r["duration:p90"]), "#D55E00"),
      ],
    });
  });
  view.panel(wide, "Duration distribution", async (p) => {
    const d = await get("/api/v1/distribution", state, { measure: "duration", buckets: "40" }, { filters: only });
    if (!d.count) return p.fill(emptyNote("No duration measured."));
    histogram(p, d, "Duration", "duration");
  });
  view.panel(wide, "Where the time goes (median)", async (p) => {
    const [r] = await query(state, { metrics: ["count", ...PARTS.map(([k]) => `${k}:p50`)] }, { filters: only });
    if (!r || r["server_time:p50"] == null) return p.fill(emptyNote("No timing of this action's request: server, network and frontend time are not known."));
    p.fill(table([{ key: "part", label: "Contributor" }, { key: "v", label: "Median", num: 1, fmt: fmtMs }],
      PARTS.map(([k, part]) => ({ part, v: r[`${k}:p50`] })), { label: "Contributors" }), split(r));
  });
  // The narrow panels first, so that the wide one (INP targets) leaves no hole in the grid.
  attribution(view, wide, only, false, true, ["lcp_target", "cls_target"]);
  for (const dim of ["browser", "device", "page"]) {
    view.panel(wide, `By ${dim}`, async (p) => {
      const rows = await query(state, { metrics: ["count", "duration:p50", "apdex"], dimensions: [dim], order_by: "-count", limit: 10 }, { filters: only });
      p.fill(table([{ key: dim, label: dim[0].toUpperCase() + dim.slice(1), cls: "dimval" }, { key: "count", label: "Count", num: 1, fmt: fmtNum },
        { key: "duration:p50", label: "Median", num: 1, fmt: fmtMs }, { key: "apdex", label: "Apdex", num: 1, fmt: (v, r) => apdexCell(v, r.apdex_rating) }],
      rows, { label: `${name} by ${dim}` }));
    });
  }
  attribution(view, wide, only, false, true, ["inp_target"]);
}
