// Apache ECharts, with only the charts and components the dashboard uses (a smaller bundle).
import * as echarts from "echarts/core";
import { BarChart, LineChart, MapChart, ScatterChart } from "echarts/charts";
import {
  GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapComponent, DataZoomComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import { el, esc } from "./dom.js";

echarts.use([BarChart, LineChart, MapChart, ScatterChart, GridComponent, LegendComponent, MarkLineComponent,
  TooltipComponent, VisualMapComponent, DataZoomComponent, CanvasRenderer]);
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
  p.charts.push(c);
  live.add(c);
  return c;
}

export function chartBox(label, cls = "chart") {
  return el("div", { class: cls, role: "img", "aria-label": label });
}

export function timeAxis() {
  return { type: "time", axisLabel: { hideOverlap: true } };
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
