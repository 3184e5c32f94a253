// Map: the world shaded by traffic or by a metric; select a country to drill down to its regions,
// then to a region's cities (the drill-down is a filter, so it is in the URL and back goes up).
import { query } from "../api.js";
import { el, fmtNum, fmtMeasure, apdexCell, table, select, emptyNote, esc, valueText } from "../dom.js";
import { MEASURES, STATS, measureLabel, statLabel } from "../catalogue.js";
import { chart, chartBox } from "../charts.js";
import { countryName } from "../geo.js";
import { go, NULL_VALUE } from "../state.js";

// Sequential, colour-blind-safe ramps (light → dark): blues for traffic, blue → vermillion for time.
const TRAFFIC_RAMP = ["#e8f1fa", "#9ecae1", "#4292c6", "#08519c", "#08306b"];
const TIME_RAMP = ["#0072B2", "#56B4E9", "#F0E442", "#E69F00", "#D55E00"];

export async function mapPage(main, view) {
  const { state } = view;
  const country = state.filters.find(([d, op]) => d === "country" && op === "is");
  const region = state.filters.find(([d, op]) => d === "region" && op === "is");
  const level = region ? "city" : country ? "region" : "country";
  const by = state.by === "page_views" || !state.by ? "page_views" : state.by;
  const metric = by === "page_views" ? null : `${by}:${state.stat}`;
  const drop = (...dims) => state.filters.filter(([d]) => !dims.includes(d));
  main.append(el("h1", {}, "Map"));
  const crumbs = [el("a", { href: "#", onclick: (e) => { e.preventDefault(); go({ filters: drop("country", "region", "city") }); } }, "World")];
  if (country) crumbs.push(" › ", region
    ? el("a", { href: "#", onclick: (e) => { e.preventDefault(); go({ filters: drop("region", "city") }); } }, countryName(country[2]))
    : el("strong", {}, countryName(country[2])));
  if (region) crumbs.push(" › ", el("strong", {}, region[2] === NULL_VALUE ? "(unknown)" : region[2]));
  main.append(el("div", { class: "toolbar" },
    el("nav", { class: "crumbs", "aria-label": "Location" }, crumbs),
    select("Shade by", [["page_views", "Traffic (page views)"], ...MEASURES.map(([k, t]) => [k, t])], by, (v) => go({ by: v })),
    by !== "page_views" ? select("Statistic", STATS, state.stat, (v) => go({ stat: v })) : null));
  const metrics = ["page_views", "sessions", "apdex", ...(metric ? [metric] : ["duration:p50"])];
  const valueOf = (r) => (metric ? r[metric] : r.page_views);
  const valueFmt = (v) => (metric ? fmtMeasure(by, v) : fmtNum(v));
  const shown = metric ? `${measureLabel(by)} (${statLabel(state.stat)})` : "Page views";
  const drill = (r) => {
    const v = r[level] ?? NULL_VALUE;
    if (level === "city") return go({ filters: [...drop("city"), ["city", "is", v]], page: "compare", dim: "page" });
    go({ filters: [...drop(level), [level, "is", v]] });
  };
  const grid = el("div", { class: `map-grid level-${level}` });
  main.append(grid);
  let rowsP;
  if (level === "country") {
    view.panel(grid, "World", async (p) => {
      const rows = await (rowsP = rowsP || query(state, { metrics, dimensions: ["country"], order_by: "-page_views", limit: 300 }));
      await import("../worldmap.js"); // registers the map "world" (once)
      const data = rows.filter((r) => r.country && valueOf(r) != null).map((r) => ({ name: r.country, value: valueOf(r) }));
      if (!data.length) return p.fill(emptyNote("No located visitor in this range: locations come from the geo database (docs/enrichment.md)."));
      const node = chartBox(`World map shaded by ${shown}`, "chart map");
      p.fill(node, el("p", { class: "small muted" }, "Select a country to see its regions."));
      const values = data.map((d) => d.value);
      const c = chart(p, node, {
        tooltip: { trigger: "item", confine: true, formatter: (i) => `${esc(countryName(i.name) || i.name)}<br>${esc(shown)}: <b>${esc(i.value == null || Number.isNaN(i.value) ? "no data" : valueFmt(i.value))}</b>` },
        visualMap: { type: "continuous", min: Math.min(...values), max: Math.max(...values), left: 8, bottom: 8, calculable: false,
          text: [metric ? "slower" : "more", metric ? "faster" : "fewer"], inRange: { color: metric ? TIME_RAMP : TRAFFIC_RAMP } },
        series: [{ type: "map", map: "world", nameProperty: "iso", roam: true, scaleLimit: { min: 1, max: 8 },
          itemStyle: { areaColor: "#eef1f4", borderColor: "#9aa5b1", borderWidth: 0.5 },
          emphasis: { label: { show: false }, itemStyle: { areaColor: "#F0E442" } }, select: { disabled: true },
          data }],
      });
      c.on("click", (e) => e.data && drill({ country: e.name }));
    });
  }
  view.panel(grid, { country: "Countries", region: "Regions", city: "Cities" }[level], async (p) => {
    const rows = level === "country"
      ? await (rowsP = rowsP || query(state, { metrics, dimensions: ["country"], order_by: "-page_views", limit: 300 }))
      : await query(state, { metrics, dimensions: [level], order_by: "-page_views", limit: 300 });
    if (!rows.length) return p.fill(emptyNote("No visitor in this range."));
    const name = (r) => (level === "country" ? (r.country ? `${countryName(r.country)} (${r.country})` : "(unknown)") : valueText(r[level]));
    p.fill(table([
      { label: { country: "Country", region: "Region", city: "City" }[level], fmt: (_, r) => name(r) },
      { key: "page_views", label: "Page views", num: 1, fmt: fmtNum },
      { key: "sessions", label: "Sessions", num: 1, fmt: fmtNum },
      { label: metric ? shown : "Action duration (median)", num: 1, fmt: (_, r) => fmtMeasure(metric ? by : "duration", metric ? r[metric] : r["duration:p50"]) },
      { key: "apdex", label: "Apdex", num: 1, fmt: (v, r) => apdexCell(v, r.apdex_rating) },
    ], rows, { label: `Visitors by ${level}`, rowLabel: (r) => `Drill down into ${name(r)}`, onRow: drill }));
  });
}
