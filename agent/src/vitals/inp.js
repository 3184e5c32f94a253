// Interaction to Next Paint, as web-vitals' onINP: event timing entries (duration ≥ 40 ms, plus
// first-input) grouped by interactionId; the 10 longest interactions are kept and INP is the
// one at index min(9, interactions / 50), an estimated p98. A new instance starts for each SPA
// view and after a back/forward cache restore. Attribution: the target element and the phases
// (input delay, processing, presentation delay) of the INP interaction.
// https://web.dev/articles/inp · web-vitals/src/onINP.ts, lib/InteractionManager.ts
import { vital } from "../core.js";
import { perf, win } from "../lib/guard.js";
import { observe } from "../lib/observe.js";
import { selector } from "../lib/selector.js";

export const INP_THRESHOLDS = [200, 500];
export const supportsINP = () => win.PerformanceEventTiming && "interactionId" in PerformanceEventTiming.prototype;

let owner;
let longest = []; // the longest entry of each of the 10 longest interactions, longest first
let ends = new Map(); // interactionId → the latest processingEnd of its entries (pointerdown, up, click)
let base = 0; // interactions before this view
let seen = 0; // interactions seen: the count where performance.interactionCount is missing
let po;
let reported; // the value last reported for this view

const count = () => (perf.interactionCount != null ? perf.interactionCount : seen);

const handle = (entries) => {
  for (const e of entries) {
    if (!(e.interactionId || e.entryType == "first-input")) continue;
    ends.set(e.interactionId, Math.max(ends.get(e.interactionId) || 0, e.processingEnd));
    const i = longest.findIndex((x) => x.interactionId == e.interactionId);
    if (i >= 0) {
      if (e.duration > longest[i].duration) longest[i] = e;
    } else if (longest.length < 10 || e.duration > longest[9].duration) {
      seen++;
      longest.push(e);
    }
    longest.sort((a, b) => b.duration - a.duration).splice(10);
  }
  const e = longest[Math.min(longest.length - 1, Math.floor((count() - base) / 50))];
  if (e && e.duration !== reported) {
    reported = e.duration;
    const end = ends.get(e.interactionId);
    vital(owner, "inp", e.duration, selector(e.target), {
      startTime: e.startTime,
      processingStart: e.processingStart,
      processingEnd: end,
    });
  }
};

/** Start INP for view action `a` (a new instance, reported once there is an interaction). */
export const inpView = (a) => {
  if (!supportsINP()) return;
  if (po) handle(po.takeRecords());
  owner = a;
  longest = [];
  ends = new Map();
  base = count();
  reported = undefined;
  if (!po && (po = observe("event", handle, { durationThreshold: 40 }))) po.observe({ type: "first-input", buffered: true });
};

/** Take the entries not yet delivered (the page is being hidden, or the view changes). */
export const takeINP = () => po && handle(po.takeRecords());
