// Releases: each release against the previous one (docs/regressions.md): the segments that
// regressed or improved, each change with its 95 % interval and sample sizes, and links into the
// dashboard filtered to the release and the segment.
import { get } from "../api.js";
import { el, fmtNum, fmtTime, fmtMeasure, fmtPct, table, emptyNote, kpi, valueText } from "../dom.js";
import { dimLabel } from "../catalogue.js";
import { go, link } from "../state.js";

const METRIC_LABELS = { load_duration: "Load duration p75", route_duration: "Route change duration p75",
  lcp: "LCP p75", inp: "INP p75", cls: "CLS p75", error_share: "Error share", apdex: "Apdex" };

function value(f, v) {
  if (f.metric === "error_share") return fmtPct(v);
  if (f.metric === "apdex") return v.toFixed(2);
  return fmtMeasure(f.metric, v);
}

function signed(v, digits = 0) { return `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(digits)}`; }

// A p75 ratio as a percentage change; a share as points; Apdex as a score difference.
function change(f) {
  if (f.effect_kind === "ratio") {
    const pct = (r) => signed((r - 1) * 100);
    return `${pct(f.effect)} % (${pct(f.low)} … ${pct(f.high)} %)`;
  }
  if (f.metric === "error_share") return `${signed(f.effect * 100, 1)} pts (${signed(f.low * 100, 1)} … ${signed(f.high * 100, 1)})`;
  return `${signed(f.effect, 3)} (${signed(f.low, 3)} … ${signed(f.high, 3)})`;
}

const segmentText = (seg) => Object.entries(seg).map(([d, v]) => `${dimLabel(d)} ${valueText(v)}`).join(" · ");

export async function releasesPage(main, view) {
  main.append(el("h1", {}, "Releases"));
  main.append(el("p", { class: "note" }, "Each release against the one before it, over all stored traffic of real users: only changes that are statistically significant (false discovery rate controlled across all segments and metrics) and material are listed. The time range and filters above do not apply here."));
  const { releases } = await get("/api/v1/releases", view.state);
  if (!releases.length) {
    main.append(emptyNote("No release yet. Set data-release on the agent's snippet to compare releases."));
    return;
  }
  const chosen = releases.find((r) => r.release === view.state.rel) || releases.find((r) => r.previous) || releases[0];
  view.panel(main, "Releases", async (p) => {
    p.fill(table([
      { key: "release", label: "Release", fmt: (v) => (v === chosen.release ? el("b", {}, v) : v) },
      { key: "previous", label: "Previous", fmt: (v) => v ?? "–" },
      { key: "actions", label: "Actions", num: 1, fmt: fmtNum },
      { key: "first_seen", label: "First seen", fmt: fmtTime },
      { key: "last_seen", label: "Last seen", fmt: fmtTime },
    ], releases, { label: "Releases", rowLabel: (r) => `Compare release ${r.release}`, onRow: (r) => go({ rel: r.release }) }));
  });
  if (!chosen.previous) {
    main.append(emptyNote(`Release ${chosen.release} is the first: there is nothing to compare it with.`));
    return;
  }
  view.panel(main, `Release ${chosen.release} against ${chosen.previous}`, async (p) => {
    const d = await get(`/api/v1/releases/${encodeURIComponent(chosen.release)}/regressions`, view.state);
    const rel = d.release;
    const to = new Date(Date.parse(rel.last_seen) + 60e3).toISOString();
    const drill = (f) => link(view.state, { page: "performance", range: "custom", from: rel.first_seen, to,
      filters: [["release", "is", rel.release], ...Object.entries(f.segment).map(([k, v]) => [k, "is", v ?? "∅"])] });
    const columns = [
      { label: "Segment", fmt: (_, f) => el("a", { href: drill(f) }, segmentText(f.segment)) },
      { label: "Metric", fmt: (_, f) => METRIC_LABELS[f.metric] || f.metric },
      { label: d.against.release, num: 1, fmt: (_, f) => value(f, f.before) },
      { label: rel.release, num: 1, fmt: (_, f) => value(f, f.after) },
      { label: "Change (95 % interval)", num: 1, fmt: (_, f) => change(f) },
      { label: "Samples", num: 1, fmt: (_, f) => `${fmtNum(f.n_before)} → ${fmtNum(f.n_after)}` },
      { label: "q", num: 1, fmt: (_, f) => f.q.toExponential(1) },
    ];
    const regressed = d.findings.filter((f) => f.direction === "regressed");
    const improved = d.findings.filter((f) => f.direction === "improved");
    p.fill(
      el("div", { class: "summary" }, kpi(fmtNum(regressed.length), "regressions"), kpi(fmtNum(improved.length), "improvements"),
        kpi(fmtNum(d.segments), "segments compared"), kpi(fmtNum(d.tests), "tests")),
      el("h3", {}, "Regressed"),
      regressed.length ? table(columns, regressed, { label: "Regressed segments" }) : emptyNote("No segment regressed."),
      el("h3", {}, "Improved"),
      improved.length ? table(columns, improved, { label: "Improved segments" }) : emptyNote("No segment improved."),
    );
  });
}
