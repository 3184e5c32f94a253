// Errors: grouped by fingerprint with counts, affected sessions, browsers, first and last seen,
// releases and the latest stack; a group's detail. Messages and stacks are shown as text.
// Triage (docs/errors.md "Triage"): each group's status, the list filtered by status, type,
// release and browser and sorted by impact; groups selected and resolved or ignored together.
import { api, get } from "../api.js";
import { el, fmtNum, fmtTime, fmtAgo, table, emptyNote, kpi, valueText } from "../dom.js";
import { ERROR_DIMS, dimLabel } from "../catalogue.js";
import { chart, chartBox, LEGEND_BELOW, timeAxis, seriesTooltip, overTime, onSlots, timeline, PALETTE } from "../charts.js";
import { go, link, timeWindow, withFilter } from "../state.js";

// What the status filter offers: "open" is what needs a look (Sentry's "unresolved").
const STATUS_VIEWS = [["open", "Open (unresolved, regressed)", "unresolved,regressed"], ["unresolved", "Unresolved", "unresolved"],
  ["regressed", "Regressed", "regressed"], ["resolved", "Resolved", "resolved"], ["ignored", "Ignored", "ignored"], ["all", "All", ""]];
const SORTS = [["sessions", "Affected sessions"], ["frustrated", "Frustrated sessions"], ["errors", "Events"], ["last_seen", "Last seen"]];
const TYPES = ["js", "request", "csp", "resource", "custom"];
// How long an ignore lasts: [label, the request's fields].
const IGNORES = [["until it happens again in 100 more events", { events: 100 }], ["until 10 more sessions have it", { sessions: 10 }],
  ["for 1 hour", { hours: 1 }], ["for 24 hours", { hours: 24 }], ["for 7 days", { hours: 168 }], ["forever", {}]];

function statusTag(g) {
  const title = g.status === "regressed" ? `resolved${g.resolved_in ? " in " + g.resolved_in : ""}, seen again ${fmtTime(g.regressed_at)}`
    : g.status_by ? `${g.status} by ${g.status_by}, ${fmtTime(g.status_changed)}` : "";
  return el("span", { class: `status s-${g.status}`, title }, g.status);
}

// Set the status of groups; `ignore` is one of IGNORES' field sets. Returns the API's answer.
function setStatus(app, fingerprints, status, { release, ignore } = {}) {
  const body = { app, fingerprints, status };
  if (release) body.release = release;
  if (ignore) {
    if (ignore.hours) body.until = new Date(Date.now() + ignore.hours * 3600e3).toISOString();
    if (ignore.events) body.events = ignore.events;
    if (ignore.sessions) body.sessions = ignore.sessions;
  }
  return api("/api/v1/errors/status", { method: "POST", body });
}

function select(label, options, value, onChange) {
  const s = el("select", { "aria-label": label, onchange: () => onChange(s.value) },
    options.map(([v, text]) => el("option", { value: v }, text)));
  s.value = value;
  return el("label", {}, label, " ", s);
}

// The status, sort, type, release and browser controls of the list.
function listToolbar(view, state, groups) {
  const filterOf = (dim) => (state.filters.find(([d, op]) => d === dim && op === "is") || [])[2] || "";
  const byFilter = (dim) => (v) => go({ filters: v ? withFilter(view.state, dim, v) : view.state.filters.filter(([d]) => d !== dim) });
  const known = (dim, values) => [["", "All"], ...[...new Set([...values, filterOf(dim)].filter(Boolean))].sort().map((v) => [v, v])];
  return el("div", { class: "toolbar triage-bar" },
    select("Status", STATUS_VIEWS.map(([v, t]) => [v, t]), state.status || "open", (v) => go({ status: v === "open" ? "" : v })),
    select("Sort by", SORTS, state.sort || "sessions", (v) => go({ sort: v === "sessions" ? "" : v })),
    select("Type", known("error_type", TYPES), filterOf("error_type"), byFilter("error_type")),
    select("Release", known("release", groups.flatMap((g) => g.releases)), filterOf("release"), byFilter("release")),
    select("Browser", known("browser", groups.flatMap((g) => g.browsers.map((b) => b.browser))), filterOf("browser"), byFilter("browser")));
}

// The selected groups' actions: resolve (optionally in a release), ignore (for a while or
// until more happen), reopen.
function bulkBar(view, state, groups, selected, done) {
  const count = el("span", { class: "muted", "aria-live": "polite" }, "None selected");
  const releases = [...new Set(groups.flatMap((g) => g.releases))].sort();
  const inRelease = el("select", { "aria-label": "Resolve in release" }, el("option", { value: "" }, "seen again at all"),
    releases.map((r) => el("option", { value: r }, `a release after ${r}`)));
  const ignoreFor = el("select", { "aria-label": "Ignore how long" }, IGNORES.map(([t], i) => el("option", { value: String(i) }, t)));
  const buttons = [];
  const act = (label, status, opts) => {
    const b = el("button", { type: "button", disabled: "", onclick: async () => {
      const fps = [...selected];
      if (!fps.length) return;
      buttons.forEach((x) => (x.disabled = true));
      try {
        const r = await setStatus(state.app, fps, status, opts());
        done(`${r.changed.length} group${r.changed.length === 1 ? "" : "s"} ${status === "unresolved" ? "reopened" : status}.`);
      } catch (e) {
        count.textContent = `Could not change them: ${e.message}`;
        buttons.forEach((x) => (x.disabled = false));
      }
    } }, label);
    buttons.push(b);
    return b;
  };
  const bar = el("div", { class: "toolbar bulk", role: "group", "aria-label": "Selected error groups" }, count,
    act("Resolve", "resolved", () => ({ release: inRelease.value })), el("label", {}, "regressed if ", inRelease),
    act("Ignore", "ignored", () => ({ ignore: IGNORES[Number(ignoreFor.value)][1] })), ignoreFor,
    act("Reopen", "unresolved", () => ({})));
  bar.update = () => {
    count.textContent = selected.size ? `${selected.size} selected` : "None selected";
    buttons.forEach((b) => (b.disabled = !selected.size));
  };
  return bar;
}

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
  const statuses = (STATUS_VIEWS.find(([v]) => v === (state.status || "open")) || STATUS_VIEWS[0])[2];
  const writer = !!view.me && !view.me.read_only;
  view.panel(main, "Error groups", async (p) => {
    const params = { limit: "100", sort: state.sort || "sessions", ...(statuses ? { status: statuses } : {}) };
    const { groups } = await get("/api/v1/errors", state, params);
    const bar = listToolbar(view, state, groups);
    if (!groups.length) return p.fill(bar, emptyNote(statuses ? "No error group with this status in this range." : "No error in this range. JavaScript errors, failed requests and custom errors appear here as the agent reports them."));
    const selected = new Set();
    const note = el("p", { class: "muted small", role: "status" });
    const bulk = writer ? bulkBar(view, state, groups, selected, (text) => { note.textContent = text; view.rerender(); }) : null;
    const boxes = [];
    const all = el("input", { type: "checkbox", "aria-label": "Select all error groups", onchange: () => {
      for (const b of boxes) { b.checked = all.checked; b.onchange(); }
    } });
    const pick = (g) => {
      const b = el("input", { type: "checkbox", "aria-label": `Select error ${g.message}`, onclick: (e) => e.stopPropagation() });
      b.onchange = () => { if (b.checked) selected.add(g.fingerprint); else selected.delete(g.fingerprint); bulk.update(); };
      boxes.push(b);
      return b;
    };
    p.fill(bar, bulk, note, table([
      ...(writer ? [{ label: "", fmt: (_, g) => pick(g) }] : []),
      { label: "Error", fmt: (_, g) => el("div", { class: "err" }, el("span", { class: `tag t-${g.error_type}` }, g.error_type),
        " ", g.error_name ? el("b", {}, g.error_name, ": ") : null, el("span", { class: "msg" }, g.message),
        el("div", { class: "small muted" }, "on ", valueText(g.page))) },
      { label: "Status", fmt: (_, g) => statusTag(g) },
      { key: "errors", label: "Count", num: 1, fmt: fmtNum },
      { key: "sessions", label: "Sessions", num: 1, fmt: fmtNum },
      { key: "frustrated_sessions", label: "Frustrated", num: 1, fmt: fmtNum },
      { label: "Browsers", fmt: (_, g) => g.browsers.map((b) => `${valueText(b.browser)} (${fmtNum(b.errors)})`).join(", ") },
      { label: "Release", fmt: (_, g) => g.releases.join(", ") || "–" },
      { label: "First seen", fmt: (_, g) => el("span", { title: fmtTime(g.first_seen) }, fmtAgo(g.first_seen)) },
      { label: "Last seen", fmt: (_, g) => el("span", { title: fmtTime(g.last_seen) }, fmtAgo(g.last_seen)) },
    ], groups, { label: "Error groups", rowLabel: (g) => `Details of error ${g.message}`, onRow: (g) => go({ fp: g.fingerprint }) }));
    if (writer) {
      const head = p.body.querySelector("thead th");
      if (head) head.append(all);
    }
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
      kpi(fmtNum(g.frustrated_sessions), "frustrated sessions"), kpi(fmtNum(d.users), "users affected"),
      kpi(d.first_release && d.last_release ? (d.first_release === d.last_release ? d.first_release : `${d.first_release} → ${d.last_release}`) : "–", "first → last release"),
      el("a", { href: link(view.state, { page: "sessions", fp: state.fp }) }, "Sessions with this error")),
    triagePanel(view, state, g, d));
    grid.replaceChildren();
    const over = view.panel(grid, "Over time", async (q) => {
      const node = chartBox("Occurrences of this error over time", "chart short");
      q.fill(node);
      chart(q, node, { tooltip: { trigger: "axis", confine: true, formatter: seriesTooltip(fmtNum) }, xAxis: timeAxis(window), yAxis: { type: "value", minInterval: 1 },
        series: [{ name: "errors", type: "bar", itemStyle: { color: "#D55E00" }, data: onSlots(timeline(window, d.interval_s * 1000), d.over_time, (r) => r.errors, 0) }] });
    });
    void over;
    view.panel(grid, "Per release", async (q) => {
      q.fill(d.per_release.length ? table([{ key: "release", label: "Release", cls: "dimval" }, { key: "errors", label: "Errors", num: 1, fmt: fmtNum },
        { label: "First seen", fmt: (_, r) => fmtTime(r.first_seen) }, { label: "Last seen", fmt: (_, r) => fmtTime(r.last_seen) }], d.per_release, { label: "Per release" })
        : emptyNote("No release on these errors (the snippet has no data-release)."));
    });
    for (const dim of ["browser", "release", "page", "os", "device"]) {
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
        crumbsOf(s),
        el("a", { href: link(view.state, { page: "sessions", session: s.session_id, fp: "" }) }, "Open this session"),
        s.trace_url ? [" · ", el("a", { href: s.trace_url, target: "_blank", rel: "noopener noreferrer", class: "trace-link" }, "Backend trace")] : null)));
    }, { cls: "span2" });
    view.panel(grid, "Affected sessions", async (q) => {
      q.fill(el("ul", { class: "plain" }, d.sessions.map((x) => el("li", {},
        el("a", { href: link(view.state, { page: "sessions", session: x.session_id, fp: "" }) }, x.session_id),
        el("span", { class: "muted small" }, ` · ${fmtNum(x.errors)} error${x.errors === 1 ? "" : "s"} · ${fmtTime(x.last_seen)}`)))));
    });
    view.panel(grid, "Status history", async (q) => {
      q.fill(d.history.length ? el("ol", { class: "plain" }, d.history.map((h) => el("li", {},
        fmtTime(h.time), " · ", el("b", {}, h.actor), ` · ${h.from} → ${h.to}`, h.release ? ` (in ${h.release})` : ""))) : emptyNote("Never changed."));
    });
  }, { cls: "span-all" });
  main.append(grid);
}

// The group's status and, for who may change it, the actions.
function triagePanel(view, state, g, d) {
  const box = el("div", { class: "triage" }, el("span", {}, "Status: "), statusTag(g),
    g.status === "regressed" ? el("span", { class: "small muted" }, ` since ${fmtTime(g.regressed_at)}`) : null);
  if (!view.me || view.me.read_only) return box;
  const msg = el("span", { class: "small muted", role: "status" });
  const act = (label, status, opts = {}) => el("button", { type: "button", onclick: async () => {
    try { await setStatus(state.app, [g.fingerprint], status, opts); view.rerender(); } catch (e) { msg.textContent = e.message; }
  } }, label);
  const last = d.last_release;
  box.append(" ", g.status === "resolved" || g.status === "ignored" ? act("Reopen", "unresolved") : act("Resolve", "resolved"),
    last && g.status !== "resolved" ? act(`Resolve in ${last}`, "resolved", { release: last }) : null,
    g.status !== "ignored" ? act("Ignore until 100 more events", "ignored", { ignore: { events: 100 } }) : null, msg);
  return box;
}

// What the user did before the error: the session's last actions up to it.
function crumbsOf(s) {
  if (!s.breadcrumbs || !s.breadcrumbs.length) return null;
  return el("details", { class: "crumbs-list", open: "" }, el("summary", { class: "small muted" }, "Before the error"),
    el("ol", { class: "breadcrumbs" }, s.breadcrumbs.map((c) => el("li", {},
      el("span", { class: "muted small" }, fmtTime(c.time), " "), el("span", { class: "tag" }, c.type), " ", valueText(c.name), " ",
      el("span", { class: "muted small" }, "on ", valueText(c.page))))));
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
