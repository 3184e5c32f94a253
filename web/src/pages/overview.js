// Overview: traffic, Apdex, errors, live sessions, UX scores, Core Web Vitals, load time over time
// with a selectable statistic, and the load-time histogram. Refreshes itself every 5 s.
import { query, get } from "../api.js";
import { el, fmtMs, fmtNum, fmtPct, fmtMeasure, kpi, rating, ratingOf, shareBar, installState, emptyNote, select, esc } from "../dom.js";
import { ERROR_DIMS, STATS, VITALS, statLabel } from "../catalogue.js";
import { chart, chartBox, LEGEND_BELOW, timeAxis, seriesTooltip, overTime, onSlots, gappedLine, RATING_COLOURS } from "../charts.js";
import { go } from "../state.js";
import { checksStrip } from "./overview-checks.js";

export async function overview(main, view) {
  const { state } = view;
  main.append(el("h1", {}, "Overview"));
  const kpis = el("div", { class: "grid kpis" });
  main.append(kpis);
  checksStrip(main, view);
  const live = { live: true };

  let empty = null;
  view.panel(kpis, "Page views", async (p) => {
    // Errors are counted with the filters the errors table has (not action type or name).
    const errState = { ...state, filters: state.filters.filter(([d]) => ERROR_DIMS.includes(d)) };
    let r, e;
    try {
      [[r], [e]] = await Promise.all([
        query(state, { metrics: ["page_views", "count", "sessions", "apdex"] }),
        query(errState, { metrics: ["errors", "error_sessions"] }),
      ]);
    } catch (err) {
      for (const x of [sessions, apdex, errors]) x.fail(err);
      throw err;
    }
    if (!r || !r.count) {
      p.fill(kpi("0", "no user actions in this range"));
      if (!empty) {
        empty = installState(view.app);
        main.insertBefore(empty, kpis.nextSibling);
      }
      return fillRest(null);
    }
    if (empty) empty.remove(), (empty = null);
    p.fill(kpi(fmtNum(r.page_views), `${fmtNum(r.count)} user actions`));
    fillRest({ ...r, ...(e || {}) });
  }, live);
  const sessions = view.panel(kpis, "Sessions", () => {});
  view.panel(kpis, "Live sessions", async (p) => {
    let n, label;
    try {
      [{ live_sessions: n } = {}] = await query(state, { metrics: ["live_sessions"] });
      label = "sessions not ended yet";
    } catch {
      // A filter sessions do not have (action type or name), or a server without session
      // tracking: sessions active in the last 30 minutes.
      const to = new Date();
      [{ sessions: n } = {}] = await query(state, { metrics: ["sessions"] }, { window: { from: new Date(to - 30 * 60e3), to } });
      label = "active in the last 30 min";
    }
    p.fill(kpi(fmtNum(n || 0), label, el("span", { class: "pulse", "aria-hidden": "true" })));
  }, live);
  const apdex = view.panel(kpis, "Apdex", () => {});
  const errors = view.panel(kpis, "Errors", () => {});
  function fillRest(r) {
    if (!r) {
      for (const p of [sessions, apdex, errors]) p.fill(kpi("–"));
      return;
    }
    sessions.fill(kpi(fmtNum(r.sessions), `${(r.count / Math.max(r.sessions, 1)).toFixed(1)} actions per session`));
    apdex.fill(kpi(el("span", {}, r.apdex == null ? "–" : r.apdex.toFixed(2), " ", rating(r.apdex_rating)), "satisfied + tolerating / 2"));
    errors.fill(kpi(fmtNum(r.errors || 0), `${fmtPct((r.error_sessions || 0) / Math.max(r.sessions, 1))} of sessions affected`));
  }
  view.panel(kpis, "User experience score", async (p) => {
    let rows;
    try {
      rows = await query(state, { metrics: ["sessions"], dimensions: ["ux_score"] });
    } catch (e) {
      if (e.status === 400) return p.fill(emptyNote("UX scores are per session: not available with a filter on action type or name."));
      throw e;
    }
    const by = Object.fromEntries(rows.map((r) => [r.ux_score, r.sessions || 0]));
    const total = (by.satisfying || 0) + (by.tolerable || 0) + (by.frustrating || 0);
    if (!total) return p.fill(emptyNote("No completed session in this range yet."));
    const shares = ["satisfying", "tolerable", "frustrating"].map((k) => (by[k] || 0) / total);
    p.fill(kpi(fmtPct(shares[0]), "of completed sessions satisfying",
      shareBar(shares, ["good", "needs_improvement", "poor"], ["satisfying", "tolerable", "frustrating"])),
      el("div", { class: "legend-row" }, ["satisfying", "tolerable", "frustrating"].map((k, i) =>
        el("span", {}, rating(k), " ", fmtPct(shares[i])))));
  }, live);

  // Core Web Vitals: p75 with Google's rating, and the good / needs improvement / poor shares.
  const vitals = el("div", { class: "grid vitals" });
  main.append(el("h2", { class: "section" }, "Core Web Vitals ", el("span", { class: "muted" }, "p75 of page loads, as Google rates them")), vitals);
  for (const [name, label, short] of VITALS) {
    view.panel(vitals, label, async (p) => {
      const [r] = await query(state, { metrics: [`${name}:p75`, `${name}:good_share`, `${name}:needs_improvement_share`, `${name}:poor_share`] });
      const v = r && r[`${name}:p75`];
      if (v == null) return p.fill(kpi("–", `no ${short} measured`));
      const shares = ["good_share", "needs_improvement_share", "poor_share"].map((s) => (r && r[`${name}:${s}`]) || 0);
      p.fill(kpi(el("span", {}, fmtMeasure(name, v), " ", rating(ratingOf(name, v))), short + " p75", shareBar(shares)),
        el("div", { class: "legend-row small" }, `good ${fmtPct(shares[0])} · needs improvement ${fmtPct(shares[1])} · poor ${fmtPct(shares[2])}`));
    }, live);
  }

  const wide = el("div", { class: "wide" });
  main.append(wide);
  const stat = state.stat;
  const statSelect = select("Statistic", STATS, stat, (v) => go({ stat: v }));
  view.panel(wide, "Load time and traffic", async (p) => {
    const t = await overTime(state, { metrics: ["page_views", `duration:${stat}`, `lcp:${stat}`] });
    const node = chartBox(`Page views and ${statLabel(stat)} load time over time`);
    p.fill(node);
    chart(p, node, {
      ...LEGEND_BELOW,
      tooltip: { trigger: "axis", confine: true, formatter: seriesTooltip((v, s) => (s === "page views" ? fmtNum(v) : fmtMs(v))) },
      xAxis: timeAxis(t.window),
      yAxis: [{ type: "value", name: statLabel(stat).toLowerCase(), axisLabel: { formatter: (v) => fmtMs(v) } }, { type: "value", name: "page views", splitLine: { show: false } }],
      series: [
        { name: "page views", type: "bar", yAxisIndex: 1, data: onSlots(t.slots, t.rows, (r) => r.page_views, 0), itemStyle: { color: "#56B4E9", opacity: 0.45 } },
        gappedLine("duration", onSlots(t.slots, t.rows, (r) => r[`duration:${stat}`]), "#0072B2"),
        gappedLine("LCP", onSlots(t.slots, t.rows, (r) => r[`lcp:${stat}`]), "#D55E00"),
      ],
    });
  }, { live: true, actions: statSelect, cls: "span2" });
  view.panel(wide, "Load time distribution", async (p) => {
    const d = await get("/api/v1/distribution", state, { measure: "duration", buckets: "40" }, { filters: [["action_type", "is", "load"]] });
    if (!d.count) return p.fill(emptyNote("No page load in this range."));
    histogram(p, d, "Page load time", "duration");
  }, live);
}

// Fill panel `p` with a histogram: bars coloured by the vital's rating, the median and p90 marked.
export function histogram(p, d, label, measure) {
  const node = chartBox(`${label}: histogram; median ${fmtMeasure(measure, d.p50)}, p75 ${fmtMeasure(measure, d.p75)}, p90 ${fmtMeasure(measure, d.p90)}`);
  const cats = d.buckets.map((b) => (b.to == null ? `≥ ${fmtMeasure(measure, b.from)}` : fmtMeasure(measure, b.from)));
  const colour = (b) => {
    const r = ratingOf(measure, b.from + d.width / 2);
    return r ? RATING_COLOURS[r] : "#0072B2";
  };
  p.fill(node, el("p", { class: "small muted" }, `${fmtNum(d.count)} values · median ${fmtMeasure(measure, d.p50)} · p75 ${fmtMeasure(measure, d.p75)} · p90 ${fmtMeasure(measure, d.p90)} · p99 ${fmtMeasure(measure, d.p99)}`));
  chart(p, node, {
    tooltip: { trigger: "axis", confine: true, formatter: (items) => {
      const i = items[0].dataIndex, b = d.buckets[i];
      return esc(b.to == null ? `≥ ${fmtMeasure(measure, b.from)}` : `${fmtMeasure(measure, b.from)} – ${fmtMeasure(measure, b.to)}`) +
        `<br>${esc(fmtNum(b.count))} actions (${esc(fmtPct(b.count / d.count))})`;
    } },
    // Room above the bars for the markers' labels, one row each (no axis name up there).
    grid: { left: 56, right: 24, top: 44, bottom: 32 },
    xAxis: { type: "category", data: cats, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value" },
    series: [{ type: "bar", barCategoryGap: "8%", data: d.buckets.map((b) => ({ value: b.count, itemStyle: { color: colour(b) } })),
      markLine: { symbol: "none", silent: true, lineStyle: { color: "#333", type: "dashed" },
        data: [["median", d.p50, 19], ["p90", d.p90, 4]].filter(([, v]) => v != null).map(([n, v, above]) => marker(`${n} ${fmtMeasure(measure, v)}`, Math.min(Math.floor(v / d.width), d.buckets.length - 1), d.buckets.length, above)) } }],
  });
}

// A marker line on bucket `i` of `n`, its label `above` px over the plot: the median's and the
// p90's labels are on rows of their own, so they never overlap however close the two lines are;
// each is aligned to stay within the chart (left of the line near the right edge, and so on).
function marker(name, i, n, above) {
  const at = (i + 0.5) / n;
  return { name, xAxis: i, label: { formatter: "{b}", position: "end", fontSize: 11, distance: [0, above],
    align: at < 0.3 ? "left" : at > 0.7 ? "right" : "center" } };
}
