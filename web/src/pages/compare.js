// Compare: a breakdown by page, device, browser (and version), OS (and version), location, connection
// or release — counts, the chosen metric at the chosen statistic, Apdex and a sparkline per row.
// Selecting a row filters every page by it.
import { query } from "../api.js";
import { el, fmtNum, fmtMeasure, apdexCell, table, sparkline, select, emptyNote, installState, valueText } from "../dom.js";
import { BREAKDOWNS, MEASURES, STATS, statLabel, measureLabel } from "../catalogue.js";
import { go, NULL_VALUE } from "../state.js";
import { overTime, onSlots } from "../charts.js";
import { countryName } from "../geo.js";

export async function compare(main, view) {
  const { state } = view;
  const [key, dims, title] = BREAKDOWNS.find(([k]) => k === state.dim) || BREAKDOWNS[0];
  const metric = MEASURES.some(([m]) => m === state.metric) ? state.metric : "duration";
  const m = `${metric}:${state.stat}`;
  main.append(el("h1", {}, "Compare"));
  main.append(el("div", { class: "toolbar" },
    select("Compare by", BREAKDOWNS.map(([k, , t]) => [k, t]), key, (v) => go({ dim: v })),
    select("Metric", MEASURES.map(([k, t]) => [k, t]), metric, (v) => go({ metric: v })),
    select("Statistic", STATS, state.stat, (v) => go({ stat: v })),
    el("span", { class: "muted" }, "Select a row to filter every page by it.")));
  view.panel(main, `By ${title.toLowerCase()}`, async (p) => {
    const rows = await query(state, { metrics: ["count", "page_views", "sessions", m, "apdex"], dimensions: dims, order_by: "-count", limit: 50 });
    if (!rows.length) return p.fill(state.filters.length ? emptyNote("Nothing matches these filters in this range.") : installState(view.app));
    // Sparklines: the metric over time for the rows shown (one query for all of them).
    const spark = new Map();
    try {
      const top = dims.length === 1 ? rows.map((r) => r[dims[0]]).filter((v) => v != null) : [];
      const t = await overTime(state, { metrics: [m], dimensions: dims }, { points: 170, filters: top.length ? [[dims[0], "in", top]] : [] });
      for (const r of t.rows) {
        const k = JSON.stringify(dims.map((d) => r[d]));
        if (!spark.has(k)) spark.set(k, []);
        spark.get(k).push(r);
      }
      // Each sparkline spans the whole range: a bucket without data is a gap.
      for (const [k, rs] of spark) spark.set(k, onSlots(t.slots, rs, (r) => r[m]).map(([, v]) => v));
    } catch { /* the table stands without sparklines */ }
    const label = (r) => dims.map((d) => (d === "country" ? `${r[d] ?? ""} ${r[d] ? countryName(r[d]) : "(unknown)"}` : valueText(r[d]))).join(" › ");
    const max = Math.max(...rows.map((r) => r.count));
    p.fill(table([
      { label: title, fmt: (_, r) => el("span", { class: "dimval" }, label(r)) },
      { key: "count", label: "Actions", num: 1, fmt: (v) => el("span", { class: "barcell" }, el("span", { class: "bar", style: `width:${(v / max) * 100}%` }), fmtNum(v)) },
      { key: "page_views", label: "Page views", num: 1, fmt: fmtNum },
      { key: "sessions", label: "Sessions", num: 1, fmt: fmtNum },
      { key: m, label: `${measureLabel(metric)} (${statLabel(state.stat)})`, num: 1, fmt: (v) => fmtMeasure(metric, v) },
      { key: "apdex", label: "Apdex", num: 1, fmt: (v, r) => apdexCell(v, r.apdex_rating) },
      { label: "Trend", fmt: (_, r) => sparkline(spark.get(JSON.stringify(dims.map((d) => r[d]))) || [], { label: `${measureLabel(metric)} over time` }) },
    ], rows, {
      label: `Breakdown by ${title}`,
      rowLabel: (r) => `Filter by ${label(r)}`,
      onRow: (r) => {
        let filters = state.filters;
        for (const d of dims) filters = [...filters.filter(([x]) => x !== d), [d, "is", r[d] ?? NULL_VALUE]];
        go({ filters });
      },
    }));
  });
}
