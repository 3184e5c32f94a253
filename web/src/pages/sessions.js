// Sessions: an explorer (any filter, UX score, errors, rage clicks, user tag, live; the server
// filters the whole range and pages with a cursor) and a session's page: its environment, its
// page views' Web Vitals and its timeline (actions coloured by Apdex, page changes, errors, rage
// clicks). Uses the sessions API (GET /api/v1/sessions, /api/v1/sessions/{id}).
import { attributionOf, waterfall } from "./diagnostics.js";
import { get, api } from "../api.js";
import { el, esc, fmtMs, fmtMeasure, fmtNum, fmtTime, fmtAgo, table, emptyNote, rating, kpi, select, valueText } from "../dom.js";
import { chart, chartBox, RATING_COLOURS } from "../charts.js";
import { ERROR_DIMS, VITALS } from "../catalogue.js";
import { go, link, timeWindow, withFilter } from "../state.js";
import { countryName } from "../geo.js";

const pick = (o, ...keys) => { for (const k of keys) if (o && o[k] !== undefined && o[k] !== null) return o[k]; return null; };
// Filters of this page's toolbar: [dimension, operator, label, placeholder]. They are the view's
// filters (chips), so that they carry to the other pages; on sessions, a dimension of actions
// means "a session with such an action".
const FIELDS = [["browser", "is", "Browser", "Chrome"], ["country", "is", "Country", "DE"], ["release", "is", "Release", "1.4.2"],
  ["page", "is", "Page visited", "/checkout"], ["action_name", "contains", "Action", "Pay now"]];
const DEVICES = [["", "Any"], ["desktop", "Desktop"], ["mobile", "Mobile"], ["tablet", "Tablet"]];

// The list's own parameters: the page size and the flags.
function listParams(state) {
  const params = { limit: "100" };
  if (state.errors_only) params.with_errors = "true";
  if (state.rage) params.with_rage_clicks = "true";
  if (state.live) params.live = "true";
  // The view's "users" (real by default, or all with synthetic traffic), where the view has one.
  if (state.users) params.user_type = state.users;
  return params;
}

function filtersOf(state) {
  const filters = [];
  if (state.ux) filters.push(["ux_score", "is", state.ux]);
  if (state.tag) filters.push(["user_tag", "contains", state.tag]);
  if (state.fp) filters.push(["fingerprint", "is", state.fp]);
  return filters;
}

function toolbar(state, groups) {
  const current = (dim) => (state.filters.find(([d]) => d === dim) || [])[2] || "";
  const tag = el("input", { type: "search", value: state.tag, "aria-label": "User tag", placeholder: "user tag", size: 12 });
  const inputs = FIELDS.map(([dim, , label, hint]) => [dim, el("input", { type: "search", value: current(dim), "aria-label": label, placeholder: hint, size: 10 })]);
  const apply = (e) => {
    e.preventDefault();
    let filters = state.filters;
    for (const [dim, input] of inputs) {
      const [, op] = FIELDS.find(([d]) => d === dim);
      const value = input.value.trim();
      filters = value ? withFilter({ filters }, dim, dim === "country" ? value.toUpperCase() : value, op) : filters.filter(([d]) => d !== dim);
    }
    go({ tag: tag.value.trim(), filters });
  };
  const device = (v) => go({ filters: v ? withFilter(state, "device", v) : state.filters.filter(([d]) => d !== "device") });
  return el("form", { class: "toolbar", "aria-label": "Session filters", onsubmit: apply },
    select("UX score", [["", "Any"], ["satisfying", "Satisfying"], ["tolerable", "Tolerable"], ["frustrating", "Frustrating"]], state.ux, (v) => go({ ux: v })),
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.errors_only === "1", onchange: (e) => go({ errors_only: e.target.checked ? "1" : "" }) }), " With errors"),
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.rage === "1", onchange: (e) => go({ rage: e.target.checked ? "1" : "" }) }), " With rage clicks"),
    el("label", { class: "check" }, el("input", { type: "checkbox", checked: state.live === "1", onchange: (e) => go({ live: e.target.checked ? "1" : "" }) }), " Live only"),
    select("Device", DEVICES, current("device"), device),
    select("Error group", [["", "Any"], ...groups.map((g) => [g.fingerprint, `${g.error_type}: ${g.message}`.slice(0, 60)]),
      ...(state.fp && !groups.some((g) => g.fingerprint === state.fp) ? [[state.fp, state.fp]] : [])], state.fp, (v) => go({ fp: v }), { class: "group" }),
    el("label", { class: "field" }, el("span", {}, "User tag"), tag),
    inputs.map(([dim, input]) => el("label", { class: "field" }, el("span", {}, FIELDS.find(([d]) => d === dim)[2]), input)),
    el("button", { type: "submit" }, "Apply"));
}

export async function sessionsPage(main, view) {
  const { state } = view;
  if (state.session) return timeline(main, view, state.session);
  main.append(el("h1", {}, "Sessions"));
  const bar = el("div", {}, toolbar(state, []));
  main.append(bar);
  // The error groups of the range, for the "Error group" choice (a missing list is no error).
  get("/api/v1/errors", state, { limit: "50" }, { dims: ERROR_DIMS }).then(
    (d) => { if (!view.stale()) bar.replaceChildren(toolbar(state, d.groups || [])); }, () => {});
  view.panel(main, "Sessions", async (p) => {
    const rows = [];
    // Every page of the list over the same window (a rolling range moves on between clicks).
    const { from, to } = timeWindow(state);
    const fixed = { ...state, range: "custom", from: from.toISOString(), to: to.toISOString() };
    const more = async (cursor) => {
      let data;
      try {
        data = await get("/api/v1/sessions", fixed, { ...listParams(state), ...(cursor ? { cursor } : {}) }, { filters: filtersOf(state) });
      } catch (e) {
        if (e.status !== 404 && e.status !== 405) throw e;
        return unavailable(p);
      }
      rows.push(...(data.sessions || []));
      if (!rows.length) return p.fill(emptyNote("No session matches in this range."));
      const next = data.next ? el("button", { type: "button", class: "more", onclick: (e) => { e.target.disabled = true; more(data.next).catch((err) => p.fail(err)); } }, "Show more sessions") : null;
      p.fill(sessionTable(rows), el("p", { class: "muted small" }, `${fmtNum(rows.length)} session${rows.length === 1 ? "" : "s"}${data.next ? " shown, newest first" : ""}.`, " ", next));
    };
    await more(null);
  });
}

function sessionTable(rows) {
  return table([
    { label: "Started", fmt: (_, s) => el("span", { title: fmtTime(pick(s, "start", "started")) }, fmtAgo(pick(s, "start", "started"))) },
    { label: "Duration", num: 1, fmt: (_, s) => (pick(s, "live") ? el("span", { class: "tag t-live" }, "live") : fmtMs(pick(s, "duration"))) },
    { label: "UX score", fmt: (_, s) => rating(pick(s, "ux_score")) || "–" },
    { key: "actions", label: "Actions", num: 1, fmt: fmtNum },
    { key: "errors", label: "Errors", num: 1, fmt: fmtNum },
    { key: "rage_clicks", label: "Rage clicks", num: 1, fmt: fmtNum },
    { label: "Entry → exit", fmt: (_, s) => el("span", { class: "dimval" }, valueText(pick(s, "entry_page")), " → ", valueText(pick(s, "exit_page"))) },
    { label: "User", fmt: (_, s) => pick(s, "user_tag") || "–" },
    { label: "Environment", fmt: (_, s) => [pick(s, "browser"), pick(s, "os"), pick(s, "device"), pick(s, "country") && countryName(pick(s, "country"))].filter(Boolean).join(" · ") },
  ], rows, { label: "Sessions", rowLabel: (s) => `Timeline of session ${pick(s, "session_id", "id")}`, onRow: (s) => go({ session: pick(s, "session_id", "id") }) });
}

// A server without the sessions API (an older version): say so rather than fail.
function unavailable(p) {
  p.fill(el("div", { class: "empty" }, el("h2", {}, "Sessions are not available on this server"),
    el("p", {}, "This OpenRUM server does not offer the sessions API (GET /api/v1/sessions). Upgrade it to explore sessions and their timelines; ",
      "every other page works as it is.")));
}

// Timeline entries, whatever their source: {time, kind: action|error|event, label, detail, cls,
// trace}: the link to the backend trace of an action's requests or of a failed request (the
// server's trace_url setting), when there is one.
function normalise(e) {
  const time = e.time;
  if (e.kind === "action") {
    // A route change a click caused: the click is its trigger, shown with it.
    return { time, kind: "action", cls: e.apdex, label: e.name, trace: e.trace_url, type: e.type, pageView: e.page_view,
      detail: [e.type, e.trigger && e.trigger !== e.name ? `after ${e.trigger}` : "", fmtMs(e.duration), e.page, e.errors ? `${e.errors} error(s)` : ""].filter(Boolean).join(" · ") };
  }
  if (e.kind === "error") {
    return { time, kind: "error", cls: "F", label: e.message, trace: e.trace_url,
      detail: [e.type, e.name, e.status ? `HTTP ${e.status}` : "", e.page, e.count > 1 ? `×${e.count}` : ""].filter(Boolean).join(" · ") };
  }
  const type = e.type || "event";
  return { time, kind: type === "rage_click" ? "rage" : "event", cls: type === "rage_click" ? "F" : null,
    label: { rage_click: "rage click", page_change: "page change", user_tag: "user tag" }[type] || type.replace(/_/g, " "),
    detail: [e.value, e.page, e.count > 1 ? `×${e.count}` : ""].filter(Boolean).join(" · ") };
}

async function timeline(main, view, id) {
  const { state } = view;
  // An action's diagnostics (its page view's waterfall, or the scripts of its slow
  // interactions), in a panel after the timeline; diagnostics run for a sample of sessions.
  let shown = null;
  const diagnose = (e) => {
    if (shown) shown.card.remove();
    const t = Date.parse(e.time);
    const window = { from: new Date(t - 3600e3), to: new Date(t + 7 * 3600e3) };
    const title = e.type === "load" ? `Waterfall of ${e.label}` : `Script attribution of ${e.label}`;
    shown = view.panel(main, title, (p) => (e.type === "load" ? waterfall(p, state, e.pageView, window) : attributionOf(p, state, e.pageView, window)), { cls: "" });
    shown.card.scrollIntoView({ block: "nearest" });
  };
  main.append(el("p", { class: "crumbs" }, el("a", { href: link(state, { session: "" }) }, "Sessions"), " › ", el("span", { class: "mono" }, id)));
  main.append(el("h1", {}, "Session timeline"));
  // One request for the whole page; each panel shows its part of the answer.
  const loaded = api(`/api/v1/sessions/${encodeURIComponent(id)}?${new URLSearchParams({ app: state.app })}`);
  const wide = el("div", { class: "grid session-facts" });
  main.append(wide);
  view.panel(wide, "Session", async (p) => {
    const data = await loaded.catch(() => null);
    if (!data) return p.fill(emptyNote("–"));
    p.fill(environment(data.session));
  });
  view.panel(wide, "Web Vitals of its page views", async (p) => {
    const data = await loaded.catch(() => null);
    if (!data) return p.fill(emptyNote("–"));
    p.fill(pageVitals(data.vitals || []));
  });
  view.panel(main, "Timeline", async (p) => {
    let data;
    try {
      data = await loaded;
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
    // The session's duration is the server's (end of the last action − start of the first, as
    // in the list); a live session has none yet.
    p.fill(
      el("div", { class: "summary" },
        kpi(fmtTime(pick(session, "start") || entries[0].time), "started"),
        pick(session, "live") ? kpi(el("span", { class: "tag t-live" }, "live"), "no duration until it ends")
          : kpi(fmtMs(pick(session, "duration")), "duration (first action's start to last action's end)"),
        kpi(fmtNum(counts.action), "actions"), kpi(fmtNum(counts.error), "errors"), kpi(fmtNum(counts.rage), "rage clicks"),
        session && pick(session, "ux_score") ? kpi(rating(pick(session, "ux_score")), "UX score") : null),
      node,
      el("ol", { class: "timeline", "aria-label": "Events in order" }, entries.map((e) =>
        el("li", { class: `ev ev-${e.kind}` },
          el("span", { class: "when" }, "+" + fmtMs(Date.parse(e.time) - first)),
          el("span", { class: `dot c-${e.cls || "none"}`, "aria-hidden": "true" }),
          el("span", { class: "what" }, el("b", {}, e.label), e.cls && e.kind === "action" ? el("span", {}, " ", rating(e.cls)) : null,
            el("div", { class: "small muted" }, e.detail,
              e.trace ? [" · ", el("a", { href: e.trace, target: "_blank", rel: "noopener noreferrer", class: "trace-link" }, "backend trace")] : null),
            e.kind === "action" && e.pageView ? el("button", { type: "button", class: "ghost small", onclick: () => diagnose(e) },
              e.type === "load" ? "Waterfall" : "Script attribution") : null))))
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

// What is stored about the session: where it ran and who it was (as text).
function environment(s) {
  const join = (...parts) => parts.filter((x) => x != null && x !== "").join(" ") || null;
  const place = [pick(s, "city"), pick(s, "region"), pick(s, "country") && countryName(pick(s, "country"))].filter(Boolean).join(", ");
  const rows = [
    ["Browser", join(pick(s, "browser"), pick(s, "browser_version"))], ["OS", join(pick(s, "os"), pick(s, "os_version"))],
    ["Device", pick(s, "device")], ["Location", place || null], ["Connection", pick(s, "connection")],
    ["Release", pick(s, "release")], ["User tag", pick(s, "user_tag") || "–"], ["User type", pick(s, "user_type")],
    ["Entry → exit", `${valueText(pick(s, "entry_page"))} → ${valueText(pick(s, "exit_page"))}`],
    ["Ended", pick(s, "live") ? "live" : valueText(pick(s, "end_reason"))],
  ];
  return el("dl", { class: "facts", "aria-label": "Session environment" },
    rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, valueText(v))]));
}

// The Web Vitals of each page view, each value with Google's rating.
function pageVitals(views) {
  if (!views.length) return emptyNote("No Web Vital was reported for this session's page views.");
  return table([
    { label: "Page view", fmt: (_, v) => el("span", {}, valueText(v.page), el("div", { class: "small muted" }, fmtTime(v.time))) },
    ...VITALS.map(([m, , short]) => ({ label: short, fmt: (_, v) => (v[m] == null ? "–"
      : el("span", {}, fmtMeasure(m, v[m]), " ", rating((v[`${m}_rating`] || "").replace("-", "_")))) })),
  ], views, { label: "Web Vitals by page view" });
}
