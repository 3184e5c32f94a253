// The diagnostics module (docs/agent.md "Diagnostics"), loaded by the snippet (src/diag.js) for
// sampled sessions after the load event. It says why a page is slow:
// - slow interactions: the INP candidate (the longest) and every interaction over 200 ms, with the
//   scripts of the long animation frames that overlap it (LoAF, Chromium 123+:
//   https://w3c.github.io/long-animation-frames/); where LoAF is missing, the long tasks;
// - the scripts of long animation frames outside interactions (what blocks the page load: the
//   collector sums them per third party);
// - the page-load waterfall: the navigation, the render-blocking resources, the LCP resource and
//   the slowest N others with their phases; per-origin totals for the rest.
// Its events go into the snippet's next beacon (`openrum._d`, a `diag` event: docs/protocol.md).
import { observe } from "../lib/observe.js";
import { doc, on, perf, safe, win } from "../lib/guard.js";
import { navEntry } from "../lib/page.js";
import { selector } from "../lib/selector.js";
import { stripUrl } from "../lib/url.js";

export const SLOW_MS = 200; // an interaction slower than this is attributed (INP "needs improvement")
const MAX_SCRIPTS = 20; // scripts per interaction, and outside interactions: the longest
const MAX_INTERACTIONS = 10;

const api = win.openrum;
const tag = doc.querySelector("script[data-app]");
const data = (tag && tag.dataset) || {};
const keepQuery = data.query == "1";
/** Resources sent one by one besides the render-blocking and LCP ones: the slowest N. */
const TOP = data.diagResources ? +data.diagResources : 10;

const round = Math.round;
const src = (url) => url && stripUrl(url, keepQuery);
const origin = (url) => safe(() => new URL(url).origin)() || "";

const interactions = new Map(); // interactionId → its longest event entry
const frames = []; // long animation frames (or long tasks where LoAF is missing)
const sent = new Set(); // interactions already sent
let lcpUrl;
let loadEnd = 0; // when the load's scripts were sent
let loadFrames = 0; // how many frames had arrived by then

/** @returns {object[]} the scripts of the frames overlapping [start, end), the longest first */
const scriptsIn = (start, end, list = frames) => {
  const out = [];
  for (const f of list) {
    if (f.startTime >= end || f.startTime + f.duration <= start) continue;
    if (!f.scripts) {
      // A long task: no script is known; its container (an iframe) at most.
      out.push({ inv_type: "long-task", src: src(f.attribution && f.attribution[0] && f.attribution[0].containerSrc) || undefined, start: round(f.startTime), dur: round(f.duration) });
      continue;
    }
    for (const s of f.scripts)
      out.push({
        src: src(s.sourceURL) || undefined,
        fn: s.sourceFunctionName || undefined,
        inv: s.invoker || undefined,
        inv_type: s.invokerType,
        start: round(s.startTime),
        dur: round(s.duration),
        fsl: round(s.forcedStyleAndLayoutDuration) || undefined,
      });
  }
  return out.sort((a, b) => b.dur - a.dur).slice(0, MAX_SCRIPTS);
};

/** The interactions to attribute, not sent yet: the longest (the INP candidate) and every slow one. */
const slowInteractions = () => {
  const all = [...interactions.values()].sort((a, b) => b.duration - a.duration);
  return all
    .filter((e, i) => (i == 0 || e.duration > SLOW_MS) && !sent.has(e.interactionId))
    .slice(0, MAX_INTERACTIONS)
    .map((e, i) => {
      sent.add(e.interactionId);
      return {
        start: round(e.startTime),
        dur: e.duration,
        type: e.name,
        target: selector(e.target),
        inp: e == all[0] || undefined,
        scripts: scriptsIn(e.startTime, e.startTime + e.duration),
      };
    });
};

const timing = (e, name) => {
  const span = (a, b) => (e[a] > 0 && e[b] >= e[a] ? round(e[b] - e[a]) : undefined);
  const t = e.transferSize;
  return {
    url: name,
    type: e.initiatorType,
    start: round(e.startTime),
    dur: round(e.duration),
    dns: span("domainLookupStart", "domainLookupEnd"),
    connect: span("connectStart", "connectEnd"),
    tls: span("secureConnectionStart", "connectEnd"),
    req: span("requestStart", "responseStart"),
    res: span("responseStart", "responseEnd"),
    size: t,
    body: e.encodedBodySize,
    // Served from the cache (nothing transferred), revalidated (headers only: a 304), or over the
    // network; unknown for a cross-origin resource without Timing-Allow-Origin (sizes are 0).
    cache: e.deliveryType == "cache" || (!t && e.decodedBodySize) ? "hit" : t && t < e.encodedBodySize ? "revalidated" : t ? "network" : undefined,
    blocking: e.renderBlockingStatus == "blocking" || undefined,
  };
};

/** The waterfall of the page load: the navigation and the resources that matter, totals for the rest. */
const waterfall = () => {
  const n = navEntry();
  const resources = n ? [{ ...timing(n, src(location.href)), type: "navigation" }] : [];
  const rest = [];
  for (const e of perf.getEntriesByType("resource")) {
    if (/fetch|xmlhttp|beacon/.test(e.initiatorType)) continue; // requests, not the load
    const url = src(e.name);
    if (e.renderBlockingStatus == "blocking" || e.name == lcpUrl) resources.push({ ...timing(e, url), lcp: e.name == lcpUrl || undefined });
    else rest.push(e);
  }
  rest.sort((a, b) => b.duration - a.duration);
  for (const e of rest.slice(0, TOP)) resources.push(timing(e, src(e.name)));
  const origins = {};
  for (const e of rest.slice(TOP)) {
    const o = (origins[origin(e.name)] ||= { origin: origin(e.name), count: 0, size: 0, dur: 0 });
    o.count++;
    o.size += e.transferSize;
    o.dur += round(e.duration);
  }
  return { resources, origins: Object.values(origins) };
};

const send = (fields) => api._d("diag", "diag", { time: Date.now(), t0: round(perf.timeOrigin), ...fields });

const start = () => {
  const lcp = observe("largest-contentful-paint", (entries) => (lcpUrl = entries[entries.length - 1].url || lcpUrl));
  const frame = (entries) => frames.push(...entries.filter((e) => e.duration > 50).slice(0, 200 - frames.length));
  const loaf = observe("long-animation-frame", frame) || observe("longtask", frame);
  const event = (entries) => {
    for (const e of entries) {
      const had = interactions.get(e.interactionId);
      if (e.interactionId && !(had && had.duration >= e.duration)) interactions.set(e.interactionId, e);
    }
  };
  const events = observe("event", event, { durationThreshold: 16 });
  // The buffered entries now (the observers' first callbacks come later).
  if (lcp) lcp.takeRecords().forEach((e) => (lcpUrl = e.url || lcpUrl));
  if (loaf) frame(loaf.takeRecords());
  if (events) event(events.takeRecords());
  // The load: the waterfall, the scripts of the long frames so far, the interactions so far.
  loadEnd = perf.now();
  loadFrames = frames.length;
  send({ ...waterfall(), scripts: scriptsIn(0, loadEnd), interactions: slowInteractions() });
  on(
    "visibilitychange",
    () => {
      if (doc.visibilityState != "hidden") return;
      if (loaf) frame(loaf.takeRecords());
      if (events) event(events.takeRecords());
      const list = slowInteractions();
      // The load's frames reported after it was sent (a busy page reports a frame late).
      const late = scriptsIn(0, loadEnd, frames.slice(loadFrames));
      loadFrames = frames.length;
      // The snippet's own listener has sent its beacon already: this one goes on its own.
      if (list.length || late.length) send({ interactions: list, scripts: late }), api.flush();
    },
    doc,
  );
  api._diag = 2; // running (1: loaded, waiting for an idle moment)
};

if (api && api._d && !api._diag) {
  api._diag = 1;
  (win.requestIdleCallback || setTimeout)(safe(start));
}
