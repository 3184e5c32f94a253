// Sessions: an explorer (any filter, UX score, errors, rage clicks, user tag, live) and a session's
// timeline (actions coloured by Apdex, page changes, errors, rage clicks). Uses the sessions API
// (GET /api/v1/sessions, /api/v1/sessions/{id}).
import { get, api } from "../api.js";
import { el, esc, fmtMs, fmtNum, fmtTime, fmtAgo, apdexCell, table, emptyNote, rating, kpi, select, valueText } from "../dom.js";
import { chart, chartBox, RATING_COLOURS } from "../charts.js";
import { go, link } from "../state.js";
import { countryName } from "../geo.js";

// Dimensions a session has (the sessions API filters by these only).
const SESSION_DIMS = ["browser", "browser_version", "os", "os_version", "device", "user_type", "country", "region", "city",
  "connection", "release", "session_id", "ux_score", "entry_page", "exit_page", "user_tag", "end_reason"];
const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return null; };

export async function sessionsPage(main, view) {
  const { state } = view;
  if (state.session) return timeline(main, view, state.session);
  main.append(el("h1", {}, "Sessions"));
  const tag = el("input", { type: "search", value: state.tag, "aria-label": "User tag", placeholder: "user tag", size: 14 });
  main.append(el("form", { class: "toolbar", "aria-label": "Session filters", onsubmit: (e) => { e.preventDefault(); go({ tag: tag.value.trim() }); } },
    select("UX score", [["", "Any"], ["satisfying", "Satisfying"], ["tolerable", "Tolerable"], ["frustrating", "Frustrating"]], state.ux, (v) => go({ ux: v })),
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.errors_only === "1", onchange: (e) => go({ errors_only: e.target.checked ? "1" : "" }) }), " With errors"),
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.rage === "1", onchange: (e) => go({ rage: e.target.checked ? "1" : "" }) }), " With rage clicks"),
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.live === "1", onchange: (e) => go({ live: e.target.checked ? "1" : "" }) }), " Live only"),
    el("label", { class: "field" }, el("span", {}, "User tag"), tag), el("button", { type: "submit" }, "Apply")));
  view.panel(main, "Sessions", async (p) => {
    // The sessions API filters by session dimensions (UX score, user tag…); errors, rage clicks
    // and liveness are columns of each session, selected here.
    const filters = [];
    if (state.ux) filters.push(["ux_score", "is", state.ux]);
    if (state.tag) filters.push(["user_tag", "contains", state.tag]);
    const flags = state.errors_only || state.rage || state.live;
    let data;
    try {
      data = await get("/api/v1/sessions", state, { limit: flags ? "1000" : "100" }, { filters, dims: SESSION_DIMS });
    } catch (e) {
      if (e.status !== 404 && e.status !== 405) throw e;
      return unavailable(p);
    }
    const rows = (data.sessions || []).filter((x) => (!state.errors_only || x.errors > 0) && (!state.rage || x.rage_clicks > 0) && (!state.live || x.live)).slice(0, 100);
    const ignored = state.filters.filter(([d]) => !SESSION_DIMS.includes(d));
    const note = ignored.length ? el("p", { class: "note" }, `Sessions are not filtered by ${ignored.map(([d]) => d.replace("_", " ")).join(", ")} (a property of actions, not of sessions).`) : null;
    if (!rows.length) return p.fill(note, emptyNote("No session matches in this range."));
    p.fill(note, table([
      { label: "Started", fmt: (_, s) => el("span", { title: fmtTime(pick(s, "start", "started")) }, fmtAgo(pick(s, "start", "started"))) },
      { label: "Duration", num: 1, fmt: (_, s) => (pick(s, "live") ? el("span", { class: "tag t-live" }, "live") : fmtMs(pick(s, "duration"))) },
      { label: "UX score", fmt: (_, s) => rating(pick(s, "ux_score")) || "–" },
      { key: "actions", label: "Actions", num: 1, fmt: fmtNum },
      { key: "errors", label: "Errors", num: 1, fmt: (v) => fmtNum(v ?? 0) },
      { key: "rage_clicks", label: "Rage clicks", num: 1, fmt: (v) => fmtNum(v ?? 0) },
      { label: "Entry → exit", fmt: (_, s) => el("span", { class: "dimval" }, valueText(pick(s, "entry_page")), " → ", valueText(pick(s, "exit_page"))) },
      { label: "User", fmt: (_, s) => pick(s, "user_tag") || "–" },
      { label: "Environment", fmt: (_, s) => [pick(s, "browser"), pick(s, "os"), pick(s, "device"), pick(s, "country") && countryName(pick(s, "country"))].filter(Boolean).join(" · ") },
    ], rows, { label: "Sessions", rowLabel: (s) => `Timeline of session ${pick(s, "session_id", "id")}`, onRow: (s) => go({ session: pick(s, "session_id", "id") }) }));
  });
}

// A server without the sessions API (an older version): say so rather than fail.
function unavailable(p) {
  p.fill(el("div", { class: "empty" }, el("h2", {}, "Sessions are not available on this server"),
    el("p", {}, "This OpenRUM server does not offer the sessions API (GET /api/v1/sessions). Upgrade it to explore sessions and their timelines; ",
      "every other page works as it is.")));
}

// Timeline entries, whatever their source: {time, kind: action|error|event, label, detail, cls}.
function normalise(e) {
  const time = e.time;
  if (e.kind === "action") {
    // A route change a click caused: the click is its trigger, shown with it.
    return { time, kind: "action", cls: e.apdex, label: e.name,
      detail: [e.type, e.trigger && e.trigger !== e.name ? `after ${e.trigger}` : "", fmtMs(e.duration), e.page, e.errors ? `${e.errors} error(s)` : ""].filter(Boolean).join(" · ") };
  }
  if (e.kind === "error") {
    return { time, kind: "error", cls: "F", label: e.message,
      detail: [e.type, e.name, e.status ? `HTTP ${e.status}` : "", e.page, e.count > 1 ? `×${e.count}` : ""].filter(Boolean).join(" · ") };
  }
  const type = e.type || "event";
  return { time, kind: type === "rage_click" ? "rage" : "event", cls: type === "rage_click" ? "F" : null,
    label: { rage_click: "rage click", page_change: "page change", user_tag: "user tag" }[type] || type.replace(/_/g, " "),
    detail: [e.value, e.page, e.count > 1 ? `×${e.count}` : ""].filter(Boolean).join(" · ") };
}

async function timeline(main, view, id) {
  const { state } = view;
  main.append(el("p", { class: "crumbs" }, el("a", { href: link(state, { session: "" }) }, "Sessions"), " › ", el("span", { class: "mono" }, id)));
  main.append(el("h1", {}, "Session timeline"));
  view.panel(main, "Timeline", async (p) => {
    let data;
    try {
      data = await api(`/api/v1/sessions/${encodeURIComponent(id)}?${new URLSearchParams({ app: state.app })}`);
    } catch (e) {
      if (e.status === 405 || (e.status === 404 && !/session/.test(e.message))) return unavailable(p);
      if (e.status === 404) return p.fill(emptyNote("No such session: it may have been erased or expired."));
      throw e;
    }
    const session = data.session;
    const entries = data.timeline.map(normalise);
    entries.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    if (!entries.length) return p.fill(emptyNote("Nothing recorded for this session in this range."));
    const first = Date.parse(entries[0].time);
    const counts = { action: 0, error: 0, rage: 0 };
    for (const e of entries) counts[e.kind] = (counts[e.kind] || 0) + 1;
    const node = chartBox(`Timeline: ${counts.action} actions, ${counts.error} errors, ${counts.rage} rage clicks`, "chart short");
    const lanes = ["action", "error", "rage", "event"];
    p.fill(
      el("div", { class: "summary" },
        kpi(fmtTime(entries[0].time), "started"),
        kpi(fmtMs(Date.parse(entries[entries.length - 1].time) - first), "from first to last event"),
        kpi(fmtNum(counts.action), "actions"), kpi(fmtNum(counts.error), "errors"), kpi(fmtNum(counts.rage), "rage clicks"),
        session && pick(session, "ux_score") ? kpi(rating(pick(session, "ux_score")), "UX score") : null,
        session && pick(session, "user_tag") ? kpi(pick(session, "user_tag"), "user") : null),
      node,
      el("ol", { class: "timeline", "aria-label": "Events in order" }, entries.map((e) =>
        el("li", { class: `ev ev-${e.kind}` },
          el("span", { class: "when" }, "+" + fmtMs(Date.parse(e.time) - first)),
          el("span", { class: `dot c-${e.cls || "none"}`, "aria-hidden": "true" }),
          el("span", { class: "what" }, el("b", {}, e.label), e.cls && e.kind === "action" ? el("span", {}, " ", rating(e.cls)) : null,
            el("div", { class: "small muted" }, e.detail)))))
    );
    chart(p, node, {
      grid: { left: 80, right: 24, top: 16, bottom: 28 },
      tooltip: { trigger: "item", confine: true, formatter: (i) => `${esc(entries[i.dataIndex].label)}<br>${esc(entries[i.dataIndex].detail)}` },
      xAxis: { type: "value", axisLabel: { formatter: (v) => fmtMs(v) } },
      yAxis: { type: "category", data: ["actions", "errors", "rage clicks", "events"], inverse: true },
      series: [{ type: "scatter", symbolSize: 12,
        data: entries.map((e) => ({ value: [Date.parse(e.time) - first, lanes.indexOf(e.kind)],
          itemStyle: { color: RATING_COLOURS[e.cls] || "#999" }, symbol: e.kind === "error" ? "diamond" : e.kind === "rage" ? "triangle" : "circle" })) }],
    });
  });
}
