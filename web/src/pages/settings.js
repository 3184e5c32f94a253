// Settings of an application: name, allowed origins, Apdex thresholds, privacy options, sampling,
// and the snippet to copy. Saved with PATCH /api/v1/apps/{id} (administrators).
import { api } from "../api.js";
import { el, emptyNote } from "../dom.js";

const APDEX_METRICS = [["duration", "Action duration"], ["lcp", "Largest Contentful Paint"], ["load_event_end", "Load event end"],
  ["dom_interactive", "DOM interactive"], ["fcp", "First Contentful Paint"]];

function field(label, input, help) {
  const id = "f-" + Math.random().toString(36).slice(2, 8);
  input.id = id;
  return el("div", { class: "form-row" }, el("label", { for: id }, label), input, help ? el("p", { class: "help" }, help) : null);
}

export async function settingsPage(main, view) {
  main.append(el("h1", {}, "Settings"));
  const app = view.app;
  if (!app) return main.append(emptyNote("No application."));
  const admin = !!view.me && !view.me.app && !view.me.read_only;
  const cfg = app.config || {};
  const ap = (kind, key, dflt) => (cfg.apdex && cfg.apdex[kind] && cfg.apdex[kind][key]) ?? dflt;
  const num = (value, attrs = {}) => el("input", { type: "number", value: String(value), required: true, ...attrs });
  const check = (value) => el("input", { type: "checkbox", checked: !!value });
  const choice = (value, options) => el("select", {}, options.map(([v, t]) => el("option", { value: v, selected: v === value }, t)));

  const name = el("input", { type: "text", value: app.name, required: true, maxlength: "200" });
  const origins = el("textarea", { rows: "3", spellcheck: "false" });
  origins.value = app.origins.join("\n");
  const loadT = num(ap("load", "t", 3000), { min: "1", step: "1" }), loadF = num(ap("load", "f", 12000), { min: "1", step: "1" });
  const loadMetric = choice(ap("load", "metric", "duration"), APDEX_METRICS);
  const xhrT = num(ap("xhr", "t", 2500), { min: "1", step: "1" }), xhrF = num(ap("xhr", "f", 10000), { min: "1", step: "1" });
  const errFrustrates = check(cfg.apdex_error_frustrates ?? true);
  const sample = num(cfg.sample ?? 100, { min: "0.01", max: "100", step: "any" });
  const optin = check(cfg.optin), keepQuery = check(cfg.keep_query);
  // Which URL fragments are routes (docs/enrichment.md); true and false were stored before.
  const fragments = cfg.keep_fragment === true ? "all" : cfg.keep_fragment === false ? "none" : cfg.keep_fragment || "routes";
  const keepFragment = choice(fragments, [["routes", "Hash routes only (#/…, #!/…)"], ["all", "Every fragment"], ["none", "None"]]);
  const maskPersonal = check(cfg.mask_personal_data ?? true);
  // The agent's own default is anonymous (docs/privacy.md): showing "off" for an unset value
  // turned every save of this form into "send nothing".
  const dnt = choice(cfg.dnt || "anonymous", [
    ["anonymous", "Measure anonymously: no user tag, no visitor id"],
    ["off", "Send nothing"],
    ["ignore", "Measure as any other browser"],
  ]);
  const ipMask = choice(String(cfg.ip_mask_level ?? 1), [["1", "Last octet (IPv6: last 80 bits)"], ["2", "Last two octets"]]);
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const snippet = el("pre", { class: "snippet", tabindex: "0" }, app.snippet);
  const copy = el("button", { type: "button", onclick: async () => {
    try { await navigator.clipboard.writeText(snippet.textContent); status.textContent = "Snippet copied."; }
    catch { getSelection().selectAllChildren(snippet); status.textContent = "Press Ctrl+C to copy the selected snippet."; }
  } }, "Copy snippet");

  const form = el("form", { class: "settings", "aria-label": `Settings of ${app.name}`, onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = "Saving…";
    status.className = "status";
    const body = {
      name: name.value.trim(),
      origins: origins.value.split(/[\s,]+/).filter(Boolean),
      config: {
        apdex: { ...(cfg.apdex || {}),
          load: { t: +loadT.value, f: +loadF.value, metric: loadMetric.value }, custom: { t: +loadT.value, f: +loadF.value },
          xhr: { t: +xhrT.value, f: +xhrF.value }, route_change: { t: +xhrT.value, f: +xhrF.value } },
        apdex_error_frustrates: errFrustrates.checked,
        sample: +sample.value, optin: optin.checked, dnt: dnt.value, keep_query: keepQuery.checked,
        keep_fragment: keepFragment.value, mask_personal_data: maskPersonal.checked, ip_mask_level: +ipMask.value,
      },
    };
    try {
      const saved = await api(`/api/v1/apps/${encodeURIComponent(app.id)}`, { method: "PATCH", body });
      await view.reloadApps();
      snippet.textContent = saved.snippet;
      status.textContent = "Saved. New beacons follow these settings within a second; the snippet below includes the agent options.";
      status.className = "status ok";
    } catch (err) {
      status.textContent = "Not saved: " + err.message;
      status.className = "status bad";
    }
  } },
    el("section", { class: "card" }, el("h2", {}, "Application"),
      field("Name", name),
      el("p", { class: "help" }, "Application id ", el("code", {}, app.id)),
      field("Allowed origins", origins, "One per line, like https://shop.example. Beacons from other origins are dropped (staging traffic stays out). Empty: only senders without an Origin header (servers, native apps); * allows any.")),
    el("section", { class: "card" }, el("h2", {}, "Apdex thresholds"),
      el("p", { class: "help" }, "Satisfied up to T, tolerating up to F, frustrated above (RUM.md). Applies to actions stored from now on."),
      el("div", { class: "form-grid" },
        field("Page loads: T (ms)", loadT), field("Page loads: F (ms)", loadF), field("Page loads: key metric", loadMetric),
        field("Interactions: T (ms)", xhrT), field("Interactions: F (ms)", xhrF)),
      el("label", { class: "check" }, errFrustrates, " An action with a JavaScript or request error is frustrated")),
    el("section", { class: "card" }, el("h2", {}, "Privacy"),
      el("label", { class: "check" }, optin, " Opt-in: send nothing until the site calls openrum.consent(true)"),
      field("Do Not Track / Global Privacy Control", dnt),
      el("label", { class: "check" }, maskPersonal, " Mask personal data in URLs, action names and error messages"),
      el("label", { class: "check" }, keepQuery, " Keep query strings in URLs"),
      field("URL fragments kept (hash routing)", keepFragment, "Kept fragments are routes: part of the page, and their changes route changes."),
      field("IP address masking before the location lookup", ipMask, "The full address is never stored.")),
    el("section", { class: "card" }, el("h2", {}, "Sampling"),
      field("Sessions measured (%)", sample, "Decided once per session; totals are scaled back up by each session's weight.")),
    el("div", { class: "form-actions" }, el("button", { type: "submit", class: "primary", disabled: !admin }, "Save settings"),
      admin ? null : el("span", { class: "muted" }, " Only an administrator may change settings."), status),
    el("section", { class: "card" }, el("h2", {}, "Snippet"),
      el("p", { class: "help" }, "Paste into the <head> of every page. It loads asynchronously and never blocks rendering."),
      snippet, copy));
  if (!admin) for (const i of form.querySelectorAll("input, select, textarea")) i.disabled = true;
  main.append(form);
}
