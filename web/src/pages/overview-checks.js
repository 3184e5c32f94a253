// The availability strip of the overview (docs/alerts.md "Availability checks"): one row per
// check of the application, its state (a word and a shape, not only a colour), its latest runs
// oldest first, and the latest latency and certificate. Nothing at all when it has no check.
import { api } from "../api.js";
import { el, fmtMs } from "../dom.js";

const RUNS = 30;
const STATES = { up: ["▲", "Up"], down: ["▼", "Down"], unknown: ["●", "Not run yet"] };

export function checksStrip(main, view) {
  const box = el("section", { class: "checks", "aria-label": "Availability checks", hidden: true });
  main.append(box);
  const load = async () => {
    let data;
    try {
      data = await api(`/api/v1/checks?${new URLSearchParams({ app: view.state.app, runs: String(RUNS) })}`);
    } catch {
      return; // the overview stands without its checks
    }
    if (view.stale()) return;
    const rows = data.checks.filter((c) => c.enabled).map(row);
    box.hidden = !rows.length; // no empty landmark
    box.replaceChildren(...rows);
  };
  load();
  view.live(() => (view.stale() ? null : load()));
}

function row(c) {
  const last = c.runs[0];
  const state = !last ? "unknown" : last.ok ? "up" : "down";
  const [icon, word] = STATES[state];
  const runs = c.runs.slice().reverse();
  const passed = runs.filter((r) => r.ok).length;
  return el("div", { class: `check-row c-${state}`, "data-check": c.id },
    el("span", { class: "check-state" }, el("span", { "aria-hidden": "true" }, icon), " ", word),
    el("span", { class: "check-name", title: c.url }, c.name),
    el("span", { class: "check-runs", role: "img", "aria-label": `${passed} of the latest ${runs.length} runs passed` },
      runs.map((r) => el("span", { class: r.ok ? "ok" : "fail",
        title: `${new Date(r.time).toLocaleString()}: ${r.ok ? `HTTP ${r.status}` : r.error} · ${fmtMs(r.latency_ms)}` }))),
    el("span", { class: "check-meta muted small" }, last ? [
      fmtMs(last.latency_ms),
      last.tls_days != null ? ` · certificate valid ${Math.floor(last.tls_days)} more days` : "",
      last.ok ? "" : ` · ${last.error}`,
    ] : ""));
}
