// Errors: grouped by fingerprint with counts, affected sessions, browsers, first and last seen,
// releases and the latest stack; a group's detail. Messages and stacks are shown as text.
import { get } from "../api.js";
import { el, fmtNum, fmtTime, fmtAgo, table, emptyNote, kpi, valueText } from "../dom.js";
import { ERROR_DIMS, dimLabel } from "../catalogue.js";
import { chart, chartBox, LEGEND_BELOW, timeAxis, seriesTooltip, overTime, onSlots, timeline, PALETTE } from "../charts.js";
import { go, link, timeWindow, withFilter } from "../state.js";

const TYPE_COLOURS = { js: "#D55E00", request: "#0072B2", csp: "#CC79A7", resource: "#009E73", custom: "#E69F00" };

export async function errorsPage(main, view) {
  const state = { ...view.state, filters: view.state.filters.filter(([d]) => ERROR_DIMS.includes(d)) };
  const ignored = view.state.filters.filter(([d]) => !ERROR_DIMS.includes(d));
  if (state.fp) return detail(main, view, state);
  main.append(el("h1", {}, "Errors"));
  if (ignored.length) main.append(el("p", { class: "note" }, `Errors are not tied to ${ignored.map(([d]) => dimLabel(d).toLowerCase()).join(", ")}: those filters do not apply here.`));
  view.panel(main, "Errors over time", async (p) => {
    const t = await overTime(state, { metrics: ["errors"], dimensions: ["error_type"] });
    const rows = t.rows;
    if (!rows.length) return p.fill(emptyNote("No error in this range."));
    const types = [...new Set(rows.map((r) => r.error_type))];
    const node = chartBox("Errors over time by type", "chart short");
    p.fill(node);
    chart(p, node, {
      ...LEGEND_BELOW, tooltip: { trigger: "axis", confine: true, formatter: seriesTooltip(fmtNum) },
      xAxis: timeAxis(t.window), yAxis: { type: "value", minInterval: 1 },
      series: types.map((type, i) => ({ name: valueText(type), type: "bar", stack: "e", itemStyle: { color: TYPE_COLOURS[type] || PALETTE[(i + 2) % 4] },
        data: onSlots(t.slots, rows.filter((r) => r.error_type === type), (r) => r.errors, 0) })),
    });
  });
  view.panel(main, "Error groups", async (p) => {
    const { groups } = await get("/api/v1/errors", state, { limit: "100" });
    if (!groups.length) return p.fill(emptyNote("No error in this range. JavaScript errors, failed requests and custom errors appear here as the agent reports them."));
    p.fill(table([
      { label: "Error", fmt: (_, g) => el("div", { class: "err" }, el("span", { class: `tag t-${g.error_type}` }, g.error_type),
        " ", g.error_name ? el("b", {}, g.error_name, ": ") : null, el("span", { class: "msg" }, g.message),
        el("div", { class: "small muted" }, "on ", valueText(g.page))) },
      { key: "errors", label: "Count", num: 1, fmt: fmtNum },
      { key: "sessions", label: "Sessions", num: 1, fmt: fmtNum },
      { label: "Browsers", fmt: (_, g) => g.browsers.map((b) => `${valueText(b.browser)} (${fmtNum(b.errors)})`).join(", ") },
      { label: "Release", fmt: (_, g) => g.releases.join(", ") || "–" },
      { label: "First seen", fmt: (_, g) => el("span", { title: fmtTime(g.first_seen) }, fmtAgo(g.first_seen)) },
      { label: "Last seen", fmt: (_, g) => el("span", { title: fmtTime(g.last_seen) }, fmtAgo(g.last_seen)) },
    ], groups, { label: "Error groups", rowLabel: (g) => `Details of error ${g.message}`, onRow: (g) => go({ fp: g.fingerprint }) }));
  });
}

async function detail(main, view, state) {
  const back = link(view.state, { fp: "" });
  main.append(el("p", { class: "crumbs" }, el("a", { href: back }, "Errors"), " › ", el("span", {}, "error group ", state.fp)));
  const title = el("h1", { class: "dimval" }, "Error group");
  main.append(title);
  const grid = el("div", { class: "wide" });
  view.panel(main, "Summary", async (p) => {
    const window = timeWindow(state);
    const d = await get(`/api/v1/errors/${encodeURIComponent(state.fp)}`, state, {}, { window });
    const g = d.group;
    title.replaceChildren(g.error_name ? `${g.error_name}: ` : "", g.message);
    p.fill(el("div", { class: "summary" },
      kpi(fmtNum(g.errors), `${g.error_type} errors`), kpi(fmtNum(g.sessions), "sessions affected"),
      kpi(fmtAgo(g.first_seen), `first seen ${fmtTime(g.first_seen)}`), kpi(fmtAgo(g.last_seen), `last seen ${fmtTime(g.last_seen)}`),
      kpi(g.releases.join(", ") || "–", "releases"),
      el("a", { href: link(view.state, { page: "sessions", fp: state.fp }) }, "Sessions with this error")));
    grid.replaceChildren();
    const over = view.panel(grid, "Over time", async (q) => {
      const node = chartBox("Occurrences of this error over time", "chart short");
      q.fill(node);
      chart(q, node, { tooltip: { trigger: "axis", confine: true, formatter: seriesTooltip(fmtNum) }, xAxis: timeAxis(window), yAxis: { type: "value", minInterval: 1 },
        series: [{ name: "errors", type: "bar", itemStyle: { color: "#D55E00" }, data: onSlots(timeline(window, d.interval_s * 1000), d.over_time, (r) => r.errors, 0) }] });
    });
    void over;
    for (const dim of ["browser", "release", "page", "os"]) {
      view.panel(grid, `By ${dimLabel(dim).toLowerCase()}`, async (q) => {
        q.fill(table([{ key: dim, label: dimLabel(dim), cls: "dimval" }, { key: "errors", label: "Errors", num: 1, fmt: fmtNum },
          { key: "sessions", label: "Sessions", num: 1, fmt: fmtNum }], d[`by_${dim}`],
        { label: `By ${dim}`, rowLabel: (r) => `Filter by ${dimLabel(dim)} ${valueText(r[dim])}`, onRow: (r) => go({ filters: withFilter(view.state, dim, r[dim]) }) }));
      });
    }
    view.panel(grid, "Latest occurrences", async (q) => {
      q.fill(...d.samples.map((s) => el("article", { class: "sample" },
        el("div", { class: "small muted" }, fmtTime(s.time), " · ", valueText(s.browser), " ", s.browser_version || "", " · ",
          valueText(s.os), " · ", valueText(s.device), " · release ", valueText(s.release), s.status ? ` · HTTP ${s.status}` : ""),
        el("div", {}, el("span", { class: "muted" }, "URL "), el("span", { class: "dimval" }, s.url)),
        s.stack ? stackOf(s) : el("p", { class: "muted small" }, "No stack trace (", s.error_type === "request" ? "a request error" : "not reported by the browser", ")."),
        el("a", { href: link(view.state, { page: "sessions", session: s.session_id, fp: "" }) }, "Open this session"),
        s.trace_url ? [" · ", el("a", { href: s.trace_url, target: "_blank", rel: "noopener noreferrer", class: "trace-link" }, "Backend trace")] : null)));
    }, { cls: "span2" });
  }, { cls: "span-all" });
  main.append(grid);
}

// A sample's stack: resolved through the release's source maps where they cover a frame
// (original file:line, function, the lines around it for the application's own frames), the
// raw minified frame with the reason where they do not; the raw stack as sent, folded.
function stackOf(s) {
  const frames = s.frames || [];
  if (!frames.some((f) => f.file)) {
    const why = frames.find((f) => f.reason);
    return el("div", {}, el("pre", { class: "stack" }, s.stack), why ? el("p", { class: "muted small" }, "Not resolved: ", why.reason, ".") : null);
  }
  return el("div", { class: "frames" },
    el("ol", { class: "frame-list", "aria-label": "Stack trace, resolved through source maps" }, ...frames.map(frameItem)),
    el("details", {}, el("summary", { class: "small muted" }, "Raw stack"), el("pre", { class: "stack" }, s.stack)));
}

function frameItem(f) {
  if (!f.file) {
    return el("li", { class: "frame raw" }, el("code", {}, `${f.function} (${f.url}:${f.line}:${f.col})`),
      el("span", { class: "small muted" }, " ", f.reason || ""));
  }
  const head = el("div", { class: "frame-head" },
    // No original name: an anonymous function (a callback); the minified name would mislead.
    el("b", {}, f.original_function || "(anonymous function)"), " ", el("span", { class: "muted" }, "in "),
    el("code", {}, `${f.file}:${f.original_line}:${f.original_col}`),
    el("span", { class: `tag ${f.in_app ? "in-app" : "lib"}` }, f.in_app ? "in app" : "library"));
  if (!f.in_app || f.context_line == null) return el("li", { class: "frame" }, head);
  const first = f.original_line - f.pre_context.length;
  const lines = [...f.pre_context, f.context_line, ...f.post_context].map((text, i) =>
    el("span", { class: first + i === f.original_line ? "ctx hit" : "ctx" }, el("span", { class: "ln" }, String(first + i)), text || " "));
  return el("li", { class: "frame" }, head, el("pre", { class: "context" }, ...lines));
}
