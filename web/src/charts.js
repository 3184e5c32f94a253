// Apache ECharts, with only the charts and components the dashboard uses (a smaller bundle).
import * as echarts from "echarts/core";
import { BarChart, LineChart, ScatterChart } from "echarts/charts";
import { GridComponent, LegendComponent, MarkLineComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { el, esc } from "./dom.js";
import { query } from "./api.js";
import { interval, timeWindow } from "./state.js";

// The map page adds the map chart and the visual map when it loads the map (worldmap.js).
echarts.use([BarChart, LineChart, ScatterChart, GridComponent, LegendComponent, MarkLineComponent,
  TooltipComponent, CanvasRenderer]);
export { echarts };

// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
export const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
export const RATING_COLOURS = { good: "#0072B2", needs_improvement: "#E69F00", poor: "#D55E00",
  S: "#0072B2", T: "#E69F00", F: "#D55E00" };

const live = new Set();
addEventListener("resize", () => live.forEach((c) => c.isDisposed() ? live.delete(c) : c.resize()));

// Dispose every chart (the page is being replaced).
export function disposeCharts() {
  for (const c of live) if (!c.isDisposed()) c.dispose();
  live.clear();
}

// A chart in `node`, owned by panel `p` (disposed when the panel refills).
export function chart(p, node, option) {
  // A panel whose page was left meanwhile: its node is not in the document; draw nothing.
  if (!node.isConnected || (p.stale && p.stale())) return { on() {}, dispose() {}, isDisposed: () => true };
  const c = echarts.init(node, null, { renderer: "canvas" });
  c.setOption({
    color: PALETTE, animation: false, textStyle: { fontFamily: "inherit" },
    grid: { left: 56, right: 24, top: 36, bottom: 32, containLabel: false },
    tooltip: { trigger: "axis", confine: true },
    ...option,
  });
  // The instance on its node, for the browser tests (axes, label boxes) and the console.
  node.chart = c;
  p.charts.push(c);
  live.add(c);
  return c;
}

// A legend under the x-axis on one line (scrolling when it is too long): at the top it wrapped
// over the y-axes' names on a phone.
export const LEGEND_BELOW = { legend: { type: "scroll", bottom: 0 }, grid: { left: 56, right: 24, top: 36, bottom: 56 } };

export function chartBox(label, cls = "chart") {
  return el("div", { class: cls, role: "img", "aria-label": label });
}

// The query API's intervals (docs/api.md), in ms.
const STEP = { "1m": 60e3, "5m": 300e3, "15m": 900e3, "1h": 3600e3, "1d": 86400e3 };

// A time series query over the view's window. The API answers only the buckets with data; a chart
// shows the whole window: `slots` are the start of every bucket from the one holding `from` to
// `to` (buckets are whole intervals since the epoch, in UTC), on both engines.
export async function overTime(state, body, { filters = [], points } = {}) {
  const window = timeWindow(state);
  const iv = interval(state, points);
  const rows = await query(state, { limit: 10000, ...body, interval: iv }, { filters, window });
  return { rows, window, slots: timeline(window, STEP[iv]) };
}

export function timeline({ from, to }, step) {
  const slots = [];
  for (let t = Math.floor(+from / step) * step; t < +to; t += step) slots.push(t);
  return { from: +from, step, slots };
}

// [time, value] for every slot: `empty` where no row fell in it (0 for counts, null — a gap — for
// durations). The first bucket starts before the window: it is drawn at the window's start.
export function onSlots({ from, step, slots }, rows, value, empty = null) {
  const values = slots.map(() => empty);
  for (const r of rows) {
    const i = Math.floor((Date.parse(r.time) - slots[0]) / step);
    if (i >= 0 && i < slots.length) values[i] = value(r) ?? empty;
  }
  return slots.map((t, i) => [Math.max(t, from), values[i]]);
}

// A time axis spanning exactly the window asked for, whatever the data covers.
export function timeAxis({ from, to }) {
  return { type: "time", min: +from, max: +to, axisLabel: { hideOverlap: true } };
}

// A line with gaps where a bucket has no value; a value with gaps on both sides is a dot (a line
// needs two points).
export function gappedLine(name, data, colour, extra = {}) {
  const alone = (i) => data[i][1] != null && (i === 0 || data[i - 1][1] == null) && (i === data.length - 1 || data[i + 1][1] == null);
  return { name, type: "line", data, connectNulls: false, symbol: "circle", showSymbol: true,
    symbolSize: (_, p) => (alone(p.dataIndex) ? 5 : 0), itemStyle: { color: colour }, ...extra };
}

// Tooltip formatter for time series: values formatted, every name escaped.
export function seriesTooltip(fmt) {
  return (items) => {
    const list = Array.isArray(items) ? items : [items];
    if (!list.length) return "";
    const head = new Date(list[0].value[0]).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
    return esc(head) + list.map((i) => `<br>${i.marker} ${esc(i.seriesName)}: <b>${esc(fmt(i.value[1], i.seriesName))}</b>`).join("");
  };
}
