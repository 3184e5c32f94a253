// Alerts (docs/alerts.md): the application's rules (create, edit, try, test, delete), its built-in
// detectors (on or off), the incidents they opened, and the channels and silences. Everything goes
// through the alerts API, which checks every right again: the page only leaves out the controls a
// reader may not use (a read-only token, another application's token).
import { api } from "../api.js";
import { el, emptyNote, fmtNum, fmtTime, table } from "../dom.js";
import { dimLabel, FILTER_DIMS } from "../catalogue.js";
import { channelsCard, silencesCard, confirmButton, field, statusLine } from "./alerts-admin.js";

const WINDOWS = [["5m", "5 minutes"], ["15m", "15 minutes"], ["1h", "1 hour"], ["1d", "1 day"]];
const BASELINES = [["none", "a threshold"], ["day", "a change against the same window a day before"],
  ["week", "a change against the same window a week before"], ["median", "a change against the median of the 7 days before"]];
const BASELINE_SHORT = { day: "a day before", week: "a week before", median: "the 7-day median" };
const SEVERITIES = [["info", "Info"], ["warning", "Warning"], ["critical", "Critical"]];
// Suggestions only: any metric of the query API is accepted (the server says when one is not).
const METRICS = ["apdex", "page_views", "sessions", "errors", "action_error_share", "lcp:p75", "inp:p75", "cls:p75",
  "fcp:p75", "ttfb:p75", "duration:p75", "duration:p90", "lcp:poor_share", "inp:poor_share", "bounce_rate",
  "ux_frustrating_share", "session_duration:p50"];
const RULE_DIMS = [...FILTER_DIMS, "error_type", "fingerprint"];
const OPS = [["is", "is"], ["is_not", "is not"], ["contains", "contains"], ["in", "is one of"]];
const DETECTORS = [
  ["error_spike", "Error-share spike", "The share of actions with an error over 15 minutes doubles against the median of the same 15 minutes on the 7 days before."],
  ["apdex_drop", "Apdex drop", "Apdex over 15 minutes falls more than 15 % below that median."],
  ["vital_poor", "Web Vital turns poor", "The p75 of LCP, INP or CLS over 15 minutes is poor while the 7-day median was good."],
  ["traffic_drop", "Traffic drop", "Page views of the last hour fall far below the same hour a week before: the site or the snippet may be broken."],
  ["new_error_group", "New error group", "An error group occurs that was never seen before."],
];

// A value of `metric` as people read it: shares in %, Apdex as a score, durations in ms or s.
export function fmtValue(metric, v) {
  if (v == null) return "–";
  const [measure] = metric.split(":");
  if (metric.endsWith("_share") || metric === "bounce_rate") return (v * 100).toFixed(1) + " %";
  if (metric === "apdex") return Number(v).toFixed(2);
  if (measure === "cls") return Number(v).toFixed(3);
  const counts = ["long_tasks", "requests", "session_actions", "session_errors"];
  if (metric.includes(":") && !counts.includes(measure)) return v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms";
  return fmtNum(Math.round(v * 100) / 100);
}

export function conditionText(metric, c) {
  if (!c) return "–";
  if (c.baseline && c.baseline !== "none") return `${c.threshold} % ${c.op} ${BASELINE_SHORT[c.baseline]}`;
  return `${c.op} ${fmtValue(metric, c.threshold)}`;
}

const filterText = (filters) => (filters || []).map(([d, op, v]) =>
  `${dimLabel(d)} ${(OPS.find(([o]) => o === op) || [op, op])[1]} ${Array.isArray(v) ? v.join(", ") : v ?? "(unknown)"}`).join(" · ");

function badge(kind, text) { return el("span", { class: `badge b-${kind}` }, text); }

// The incidents of a list (the API's, or those a test would have opened).
function incidentTable(incidents, label) {
  return table([
    { label: "State", fmt: (_, i) => badge(i.state, i.state === "firing" ? "Firing" : "Resolved") },
    { label: "Severity", fmt: (_, i) => badge(i.severity, i.severity) },
    { label: "Rule", fmt: (_, i) => i.detail.rule_name || i.rule },
    { label: "Condition", fmt: (_, i) => `${i.detail.metric || ""} ${conditionText(i.detail.metric || "", i.detail.condition)} over ${i.detail.window || "–"}` },
    { label: "Value", num: 1, fmt: (_, i) => fmtValue(i.detail.metric || "", i.detail.value) },
    { label: "Baseline", num: 1, fmt: (_, i) => fmtValue(i.detail.metric || "", i.detail.baseline) },
    { label: "Sample", num: 1, fmt: (_, i) => fmtNum(i.detail.sample) },
    { label: "Started", fmt: (_, i) => fmtTime(i.start) },
    { label: "Ended", fmt: (_, i) => (i.end ? fmtTime(i.end) : "–") },
    // The server writes the link (a view of this dashboard); anything else is not followed.
    { label: "", fmt: (_, i) => (String(i.detail.link || "").startsWith("/#/") ? el("a", { href: i.detail.link }, "Show in dashboard") : "") },
  ], incidents, { label });
}

// Rows of [dimension, operator, value] for a rule's filters.
function filterEditor(filters) {
  const rows = el("div", { class: "rule-filters" });
  const add = ([d, op, v] = ["page", "is", ""]) => {
    const dims = RULE_DIMS.includes(d) ? RULE_DIMS : [...RULE_DIMS, d];
    const row = el("div", { class: "rule-filter" },
      el("select", { "aria-label": "Rule filter dimension" }, dims.map((x) => el("option", { value: x, selected: x === d }, dimLabel(x)))),
      el("select", { "aria-label": "Rule filter operator" }, OPS.map(([x, t]) => el("option", { value: x, selected: x === op }, t))),
      el("input", { type: "text", "aria-label": "Rule filter value", value: Array.isArray(v) ? v.join(", ") : v ?? "", size: 24 }),
      el("button", { type: "button", class: "ghost", "aria-label": "Remove this filter", onclick: () => row.remove() }, "Remove"));
    rows.append(row);
  };
  (filters || []).forEach(add);
  const read = () => [...rows.children].map((row) => {
    const [d, op, v] = row.querySelectorAll("select, input");
    const value = op.value === "in" ? v.value.split(",").map((s) => s.trim()).filter(Boolean) : v.value;
    return [d.value, op.value, value];
  }).filter(([, , v]) => v.length);
  return { node: el("div", {}, rows, el("button", { type: "button", onclick: () => add() }, "Add a filter")), read };
}

function testResult(r) {
  const fired = r.incidents.length;
  return [
    el("p", { class: `status ${r.would_have_fired ? "bad" : "ok"}` }, r.would_have_fired
      ? `Would have fired: ${fired} incident${fired === 1 ? "" : "s"} in the last 7 days.`
      : "Would not have fired in the last 7 days."),
    el("p", { class: "help" }, `${fmtNum(r.breached)} of ${fmtNum(r.windows)} windows breached the condition, ${fmtNum(r.without_data)} had too little data (${fmtTime(r.from)} – ${fmtTime(r.to)}). Nothing was notified.`),
    fired ? incidentTable(r.incidents, "Incidents the rule would have opened") : null,
  ];
}

// The form that creates or changes a rule, and tries it before it is saved.
function ruleEditor(view, card, channelList, done) {
  const app = view.app;
  return (rule) => {
    const r = rule || { app: app.id, name: "", metric: "lcp:p75", filters: [], window: "15m", min_sample: 50,
      consecutive: 1, severity: "warning", channels: [], enabled: true, condition: { op: "above", threshold: 4000, baseline: "none" } };
    const choice = (options, value) => el("select", {}, options.map(([v, t]) => el("option", { value: v, selected: v === value }, t)));
    const num = (value, attrs) => el("input", { type: "number", value: value == null ? "" : String(value), step: "any", ...attrs });
    const name = el("input", { type: "text", value: r.name, required: true, maxlength: "200" });
    const metric = el("input", { type: "text", value: r.metric, required: true, list: "alert-metrics", spellcheck: "false" });
    const windowSel = choice(WINDOWS, r.window);
    const op = choice([["above", "above"], ["below", "below"]], r.condition.op);
    const threshold = num(r.condition.threshold, { required: true });
    const baseline = choice(BASELINES, r.condition.baseline || "none");
    const minSample = num(r.min_sample, { min: "0", step: "1" });
    const consecutive = num(r.consecutive, { min: "1", max: "100", step: "1" });
    const severity = choice(SEVERITIES, r.severity);
    const lateness = num(r.lateness_s, { min: "0", max: "86400", placeholder: "server default" });
    const enabled = el("input", { type: "checkbox", checked: r.enabled });
    const filters = filterEditor(r.filters);
    // A token of one application may change its rules but cannot list channels: they stay as they were.
    const channels = channelList();
    const picks = channels ? channels.map((c) => [c.id, el("input", { type: "checkbox", checked: r.channels.includes(c.id) }), c.name]) : null;
    const status = statusLine();
    const result = el("div", { class: "test-result", "aria-live": "polite" });
    const body = () => ({
      app: app.id, name: name.value.trim(), metric: metric.value.trim(), filters: filters.read(), window: windowSel.value,
      condition: { op: op.value, threshold: +threshold.value, baseline: baseline.value },
      min_sample: +minSample.value || 0, consecutive: +consecutive.value || 1, severity: severity.value,
      channels: picks ? picks.filter(([, box]) => box.checked).map(([id]) => id) : r.channels,
      enabled: enabled.checked, ...(lateness.value !== "" ? { lateness_s: +lateness.value } : {}),
    });
    const form = el("form", { class: "rule-form", "aria-label": rule ? `Edit rule ${r.name}` : "New rule", onsubmit: async (e) => {
      e.preventDefault();
      status.set("Saving…");
      try {
        const path = rule ? `/api/v1/alerts/rules/${encodeURIComponent(rule.id)}` : "/api/v1/alerts/rules";
        const saved = await api(path, { method: rule ? "PUT" : "POST", body: body() });
        card.hidden = true;
        done(`Rule “${saved.name}” ${rule ? "saved" : "created"}.`);
      } catch (err) { status.set("Not saved: " + err.message, "bad"); }
    } },
      el("div", { class: "form-grid" },
        field("Name", name), field("Metric", metric, "Any metric of the query API, e.g. lcp:p75, apdex, action_error_share."),
        field("Window", windowSel), field("Condition", baseline), field("Fires when the value is", op),
        field("Threshold (for a change: in %)", threshold), field("Minimum sample", minSample, "No judgement on fewer actions, sessions or page views."),
        field("Evaluations in a row", consecutive), field("Severity", severity), field("Lateness (s)", lateness, "How long after a window ends it is judged.")),
      el("div", { class: "form-row" }, el("span", { class: "label" }, "Filters"), filters.node),
      picks ? el("fieldset", { class: "channels" }, el("legend", {}, "Notify"),
        picks.length ? picks.map(([, box, label]) => el("label", { class: "check" }, box, " ", label)) : emptyNote("No channel yet: add one under Channels.")) : null,
      el("label", { class: "check" }, enabled, " Enabled"),
      el("datalist", { id: "alert-metrics" }, METRICS.map((m) => el("option", { value: m }))),
      el("div", { class: "form-actions" },
        el("button", { type: "submit", class: "primary" }, rule ? "Save rule" : "Create rule"),
        el("button", { type: "button", onclick: async () => {
          status.set("Replaying the last 7 days…");
          result.replaceChildren();
          try {
            result.replaceChildren(...testResult(await api("/api/v1/alerts/test", { method: "POST", body: body() })).filter(Boolean));
            status.set("");
          } catch (err) { status.set("Cannot test: " + err.message, "bad"); }
        } }, "Test: would it have fired?"),
        el("button", { type: "button", class: "ghost", onclick: () => { card.hidden = true; } }, "Cancel"), status.node),
      result);
    card.querySelector("h2").textContent = rule ? `Edit rule: ${r.name}` : "New rule";
    card.querySelector(".body").replaceChildren(form);
    card.hidden = false;
    card.scrollIntoView({ block: "start" });
    name.focus({ preventScroll: true });
  };
}

export async function alertsPage(main, view) {
  main.append(el("h1", {}, "Alerts"));
  const app = view.app, me = view.me || {};
  // What the API lets this reader change: rules and silences of this application need write access to
  // it; channels, detectors and silences of every application need an administrator.
  const admin = !me.app && !me.read_only;
  const writer = !me.read_only && (!me.app || me.app === app.id);
  main.append(el("p", { class: "note" }, "Rules and built-in detectors of this application, the incidents they opened, and where they notify. The time range and filters above do not apply here.",
    writer ? null : " You may read this page; changing it needs a login or a token that may write."));
  let firing = [];
  let channels = null;
  // The rule form offers the channels; when they cannot be read, the Channels card says why.
  if (admin) channels = await api("/api/v1/alerts/channels").then((r) => r.channels, () => null);
  const flash = statusLine();
  main.append(flash.node);

  // -- rules -----------------------------------------------------------------------------------
  const stateCells = new Map();
  const ruleState = (r) => (!r.enabled ? badge("off", "Disabled") : firing.some((i) => i.rule === r.id) ? badge("firing", "Firing") : badge("ok", "OK"));
  const editorCard = el("section", { class: "card", hidden: true, "aria-label": "Rule editor" },
    el("div", { class: "card-head" }, el("h2", {}, "New rule")), el("div", { class: "body" }));
  let rules = [];
  const loadRules = async (p) => {
    rules = (await api(`/api/v1/alerts/rules?app=${encodeURIComponent(app.id)}`)).rules;
    stateCells.clear();
    const testOut = el("div", { class: "test-result", "aria-live": "polite" });
    const actions = (r) => el("span", { class: "row-actions" },
      writer ? el("button", { type: "button", onclick: () => edit(r) }, "Edit") : null,
      // Replaying is a POST: a read-only token may not make it.
      writer ? el("button", { type: "button", onclick: async () => {
        testOut.replaceChildren(el("p", { class: "status" }, `Replaying “${r.name}” over the last 7 days…`));
        try { testOut.replaceChildren(el("h3", {}, `Test of “${r.name}”`), ...testResult(await api(`/api/v1/alerts/rules/${encodeURIComponent(r.id)}/test`, { method: "POST" })).filter(Boolean)); }
        catch (err) { testOut.replaceChildren(el("p", { class: "status bad" }, "Cannot test: " + err.message)); }
      } }, "Test") : null,
      writer ? confirmButton("Delete", `Delete rule ${r.name}`, async () => {
        await api(`/api/v1/alerts/rules/${encodeURIComponent(r.id)}`, { method: "DELETE" });
        flash.set(`Rule “${r.name}” deleted; its incident, if firing, resolves at the next evaluation.`, "ok");
        await reloadRules();
      }, flash) : null);
    p.fill(rules.length ? table([
      { key: "name", label: "Name" },
      { key: "metric", label: "Metric", cls: "mono" },
      { label: "Filters", fmt: (_, r) => filterText(r.filters) || "–" },
      { key: "window", label: "Window" },
      { label: "Condition", fmt: (_, r) => conditionText(r.metric, r.condition) + (r.consecutive > 1 ? `, ${r.consecutive} in a row` : "") },
      { label: "Severity", fmt: (_, r) => badge(r.severity, r.severity) },
      { label: "State", fmt: (_, r) => { const c = el("span", {}, ruleState(r)); stateCells.set(r.id, [c, r]); return c; } },
      { label: "", fmt: (_, r) => actions(r) },
    ], rules, { label: "Alert rules" }) : emptyNote("No rule yet. The built-in detectors below watch this application anyway."), testOut);
  };
  const newRule = writer ? el("button", { type: "button", class: "primary", onclick: () => edit(null) }, "New rule") : null;
  const rulesPanel = view.panel(main, "Rules", loadRules, { actions: newRule });
  const reloadRules = () => loadRules(rulesPanel).catch((e) => rulesPanel.fail(e));
  main.append(editorCard);
  const edit = ruleEditor(view, editorCard, () => channels, (text) => { flash.set(text, "ok"); reloadRules(); });

  // -- detectors -------------------------------------------------------------------------------
  const detectorStates = new Map();
  const config = (app.config && app.config.detectors) || {};
  view.panel(main, "Built-in detectors", async (p) => {
    const status = statusLine();
    const boxes = DETECTORS.map(([name, title, text]) => {
      const box = el("input", { type: "checkbox", checked: config[name] !== false, disabled: !admin, onchange: async () => {
        const detectors = { ...((view.app.config && view.app.config.detectors) || {}), [name]: box.checked };
        status.set("Saving…");
        try {
          await api(`/api/v1/apps/${encodeURIComponent(app.id)}`, { method: "PATCH", body: { config: { detectors } } });
          await view.reloadApps();
          view.app.config = { ...(view.app.config || {}), detectors };
          status.set(`${title} ${box.checked ? "on" : "off"}.`, "ok");
        } catch (err) { box.checked = !box.checked; status.set("Not saved: " + err.message, "bad"); }
      } });
      const state = el("span", {});
      detectorStates.set(name, state);
      return el("div", { class: "detector" }, el("label", { class: "check" }, box, " ", el("b", {}, title), " ", state), el("p", { class: "help" }, text));
    });
    const where = config.channels ? config.channels.join(", ") || "nowhere" : "the channels of this application's rules";
    p.fill(...boxes, el("p", { class: "help" }, `Detectors notify ${where}. `, admin ? "" : "Only an administrator may switch them."), status.node);
    paintStates();
  });

  // -- incidents (asked again every few seconds) -----------------------------------------------
  function paintStates() {
    for (const [c, r] of stateCells.values()) c.replaceChildren(ruleState(r));
    for (const [name, node] of detectorStates) {
      const on = firing.some((i) => i.detail && i.detail.detector === name);
      node.replaceChildren(on ? badge("firing", "Firing") : "");
    }
  }
  view.panel(main, "Incidents", async (p) => {
    const { incidents } = await api(`/api/v1/incidents?app=${encodeURIComponent(app.id)}&limit=100`);
    firing = incidents.filter((i) => i.state === "firing");
    paintStates();
    p.fill(incidents.length ? incidentTable(incidents, "Incidents") : emptyNote("No incident: nothing has fired yet."));
  }, { live: true });

  // -- channels and silences -------------------------------------------------------------------
  channelsCard(main, view, { admin, channels, flash, onChange: (list) => { channels = list; } });
  silencesCard(main, view, { admin, writer, rules: () => rules, flash });
}
